// Who is told when something is wrong (`alerts:`), how mail leaves (`smtp:`) and how often a
// condition that stays is repeated (`alert_policy:`). What counts as wrong is the posture's
// (LifeboatPosture: `Reason.alerts`); sending lives in LifeboatAlerts.

public import Foundation

/// One recipient of alerts.
public struct AlertTarget: Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case email(String)
    case webhook(String, format: WebhookFormat)
  }
  public var kind: Kind
  public var line: Int

  public init(kind: Kind, line: Int) {
    self.kind = kind
    self.line = line
  }

  /// How job records and messages name the target (a webhook without its path: paths of
  /// chat webhooks are secrets).
  public var description: String {
    switch kind {
    case .email(let address): "email \(address)"
    case .webhook(let url, let format):
      "webhook \(URLComponents(string: url).map { "\($0.scheme ?? "https")://\($0.host ?? "?")" } ?? "?") (\(format.rawValue)) #\(Self.tag(url))"
    }
  }

  /// Six hex digits that tell two webhooks on one host apart without showing their paths
  /// (FNV-1a of the URL: an identity, not a secret's protection).
  static func tag(_ text: String) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 {
      h ^= UInt64(b)
      h = h &* 0x100_0000_01b3
    }
    return String(String(h, radix: 16).prefix(6))
  }

  /// `name@domain.tld`: one @, something on each side, no spaces or angle brackets.
  public static func isValidAddress(_ text: String) -> Bool {
    let parts = text.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
    else { return false }
    return !text.contains { $0.isWhitespace || "<>,;\"()[]\\".contains($0) }
  }

  /// An http or https URL with a host.
  public static func isValidWebhook(_ text: String) -> Bool {
    guard let c = URLComponents(string: text), let s = c.scheme?.lowercased(), s == "https" || s == "http",
      let host = c.host, !host.isEmpty
    else { return false }
    return true
  }
}

/// The body a webhook receives: Lifeboat's documented JSON, or a Slack or Microsoft Teams
/// incoming-webhook message.
public enum WebhookFormat: String, Sendable, Equatable, CaseIterable {
  case json, slack, teams
}

/// The mail server alerts are sent through.
public struct SMTPSettings: Sendable, Equatable {
  public enum Security: String, Sendable, Equatable, CaseIterable {
    /// Plain connection upgraded with STARTTLS; refused when the server does not offer it.
    case starttls
    /// TLS from the first byte (port 465).
    case tls
    /// No encryption: only for a relay on the same host or a trusted network.
    case none
  }
  public var host: String
  public var port: Int
  public var from: String
  public var username: String?
  public var password: SecretReference?
  public var security: Security
  /// PEM file of a private CA the server's certificate is checked against.
  public var caFile: String?
  public var line: Int

  public init(
    host: String, port: Int = 587, from: String, username: String? = nil, password: SecretReference? = nil,
    security: Security = .starttls, caFile: String? = nil, line: Int = 1
  ) {
    self.host = host
    self.port = port
    self.from = from
    self.username = username
    self.password = password
    self.security = security
    self.caFile = caFile
    self.line = line
  }
}

/// Everything about alerting a plan states.
public struct AlertSettings: Sendable, Equatable {
  public var targets: [AlertTarget] = []
  public var smtp: SMTPSettings?
  /// A condition that stays is sent again after this long (default one day).
  public var remindEvery: TimeInterval = 86400
  /// Send one digest a day of everything that is open, at this hour (local time); nil: none.
  public var digestHour: Int?
  /// The page alerts link to: `alert_policy.dashboard` as written, else the tenant's page on
  /// the plan's server (`tenantPage`).
  public var dashboard: String?

  /// A tenant's page on a Lifeboat server (the console's route `/ui/tenants/ID`).
  public static func tenantPage(server: String, tenant: String) -> String {
    (server.hasSuffix("/") ? String(server.dropLast()) : server) + "/ui/tenants/" + tenant
  }

  public init() {}
  public var isEmpty: Bool { targets.isEmpty }
}
