// LifeboatServer — `lifeboat serve`: the provider's console. A Hummingbird 2 application with
// the JSON API under /api/v1, the server-rendered dashboard, Prometheus metrics, and the
// append-only repository endpoint that clients back up into with `rest:` URLs.
//
// This file: the server's configuration file (YAML). Every key is optional.

public import Foundation
public import LifeboatPlan
public import LifeboatPolicy
import Yams

/// Retention the server applies itself, under the provider's own password for the repository.
public struct ServerRetention: Sendable {
  public var tenant: String
  public var repository: String
  public var password: SecretReference
  public var policy: RetentionPolicy

  public init(tenant: String, repository: String, password: SecretReference, policy: RetentionPolicy) {
    self.tenant = tenant
    self.repository = repository
    self.password = password
    self.policy = policy
  }
}

/// Alerting the server does for one tenant: the targets and policy of a plan's `alerts:` and
/// `alert_policy:`, with the server's `smtp:`, and how long the tenant's agents may be silent.
public struct TenantAlerts: Sendable {
  public var tenant: String
  public var settings: AlertSettings
  /// No job reported by any of the tenant's agents for this long alerts (`agent-silent`).
  public var silentAfter: TimeInterval

  public init(tenant: String, settings: AlertSettings, silentAfter: TimeInterval = 26 * 3600) {
    self.tenant = tenant
    self.settings = settings
    self.silentAfter = silentAfter
  }
}

public struct ServerConfiguration: Sendable {
  public var host = "127.0.0.1"
  public var port = 8443
  public var dataDirectory = "/var/lib/lifeboat-server"
  /// PEM files; with both set the server speaks HTTPS only.
  public var certificate: String?
  public var privateKey: String?
  /// The largest object a client may upload (packs are far smaller).
  public var maxObjectSize = 512 << 20
  /// The largest JSON body (plans, run reports).
  public var maxRequestSize = 8 << 20
  /// How long deleted repository data stays recoverable.
  public var quarantineDays = 14
  /// How often server-side retention, prune and the quarantine purge run (0: only on request).
  public var maintenanceEvery: TimeInterval = 24 * 3600
  public var retention: [ServerRetention] = []
  /// Per-tenant alerts (`alerts:` with `smtp:`), evaluated every `alertEvery`.
  public var alerts: [TenantAlerts] = []
  public var alertEvery: TimeInterval = 300
  /// The console's public address, linked from every alert (`dashboard:`).
  public var dashboard: String?
  /// A connection that has sent no complete request part for this long is closed: a client
  /// that trickles a request's headers (slow loris) or holds a connection idle gives it up.
  public var idleTimeout: TimeInterval = 30
  /// Connections served at once; further ones wait in the listen backlog until one closes.
  public var maxConnections = 1024

  public init() {}

  public var usesTLS: Bool { certificate != nil && privateKey != nil }

  /// Reads a configuration file; unknown keys and bad values are errors with their line.
  public static func load(file: String) throws -> ServerConfiguration {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw PlanError("cannot read the server configuration \(file)", hint: "check the path given to --config")
    }
    return try parse(String(decoding: data, as: UTF8.self), file: file)
  }

  public static func parse(_ text: String, file: String) throws -> ServerConfiguration {
    var c = ServerConfiguration()
    let root: Node
    do {
      guard let n = try Yams.compose(yaml: text) else { return c }
      root = n
    } catch {
      throw PlanError("\(file): not valid YAML: \(error)")
    }
    func fail(_ node: Node, _ message: String, hint: String? = nil) -> PlanError {
      PlanError("\(file):\(node.mark?.line ?? 0): \(message)", hint: hint)
    }
    guard let map = root.mapping else { throw fail(root, "the configuration must be a mapping of keys") }
    let known = [
      "listen", "data", "tls", "max_object_size", "max_request_size", "quarantine_days", "maintenance_every", "retention",
      "idle_timeout", "max_connections", "alerts", "smtp", "alert_every", "dashboard",
    ]
    // Alerting needs the server-wide smtp: and dashboard: before the per-tenant entries.
    let smtpNode = map.first { $0.key.string == "smtp" }?.value
    let dashboardURL = map.first { $0.key.string == "dashboard" }?.value.string
    for (k, v) in map {
      guard let key = k.string else { continue }
      switch key {
      case "listen":
        let s = v.string ?? ""
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = Int(parts[1]), (0...65535).contains(p) else {
          throw fail(v, "listen must be HOST:PORT, like 127.0.0.1:8443")
        }
        c.host = parts[0].isEmpty ? "0.0.0.0" : String(parts[0])
        c.port = p
      case "data":
        guard let s = v.string, !s.isEmpty else { throw fail(v, "data must name a directory") }
        c.dataDirectory = s
      case "tls":
        guard let m = v.mapping, let cert = m["certificate"]?.string, let key = m["key"]?.string else {
          throw fail(v, "tls needs certificate: and key: (PEM files)")
        }
        c.certificate = cert
        c.privateKey = key
      case "max_object_size", "max_request_size":
        guard let n = v.int, n > 0 else { throw fail(v, "\(key) must be a number of bytes") }
        if key == "max_object_size" { c.maxObjectSize = n } else { c.maxRequestSize = n }
      case "quarantine_days":
        guard let n = v.int, n >= 1 else { throw fail(v, "quarantine_days must be at least 1") }
        c.quarantineDays = n
      case "maintenance_every":
        guard let s = v.string, let d = Duration.parse(s) else {
          throw fail(v, "maintenance_every must be a duration like 24h or 0 (never by itself)")
        }
        c.maintenanceEvery = d
      case "idle_timeout":
        guard let str = v.string, let d = Duration.parse(str), d >= 1, d <= 3600 else {
          throw fail(v, "idle_timeout must be a duration from 1s to 1h, like 30s")
        }
        c.idleTimeout = d
      case "max_connections":
        guard let n = v.int, (16...100_000).contains(n) else { throw fail(v, "max_connections must be from 16 to 100000") }
        c.maxConnections = n
      case "retention":
        guard let seq = v.sequence else { throw fail(v, "retention is a list of { tenant, repository, password, keep }") }
        for item in seq {
          guard let m = item.mapping, let t = m["tenant"]?.string, let r = m["repository"]?.string,
            let pw = m["password"]?.string, let keep = m["keep"]?.mapping
          else {
            throw fail(item, "each retention entry needs tenant, repository, password and keep")
          }
          guard let secret = SecretReference(pw) else {
            throw fail(item, "password must be env:NAME or file:/path, never the password itself")
          }
          var policy = RetentionPolicy()
          for (kk, kv) in keep {
            guard let kname = kk.string, let n = kv.int, n >= 0 else { throw fail(kv, "keep values are counts") }
            switch kname {
            case "last": policy.keepLast = n
            case "hourly": policy.keepHourly = n
            case "daily": policy.keepDaily = n
            case "weekly": policy.keepWeekly = n
            case "monthly": policy.keepMonthly = n
            case "yearly": policy.keepYearly = n
            default: throw fail(kk, "unknown keep rule '\(kname)'", hint: "use last, hourly, daily, weekly, monthly, yearly")
            }
          }
          c.retention.append(ServerRetention(tenant: t, repository: r, password: secret, policy: policy))
        }
      case "smtp":
        break  // read with each tenant's alerts
      case "dashboard":
        guard let s = v.string, AlertTarget.isValidWebhook(s) else { throw fail(v, "dashboard must be the console's http(s) URL") }
        c.dashboard = s
      case "alert_every":
        guard let s = v.string, let d = Duration.parse(s), d >= 10 else {
          throw fail(v, "alert_every must be a duration of 10s or more, such as 5m")
        }
        c.alertEvery = d
      case "alerts":
        guard let seq = v.sequence else {
          throw fail(v, "alerts is a list of { tenant, targets: [{ email: … } | { webhook: … }], silent_after, alert_policy }")
        }
        for item in seq {
          guard let m = item.mapping, let tenant = m["tenant"]?.string, let targets = m["targets"] else {
            throw fail(item, "each alerts entry needs tenant: and targets:")
          }
          for (ik, _) in m {
            guard let name = ik.string, ["tenant", "targets", "silent_after", "alert_policy"].contains(name) else {
              throw fail(ik, "unknown key '\(ik.string ?? "")' in an alerts entry", hint: "known keys: tenant, targets, silent_after, alert_policy")
            }
          }
          var pairs: [(Node, Node)] = [(Node("alerts"), targets)]
          if let smtpNode { pairs.append((Node("smtp"), smtpNode)) }
          if let policy = m["alert_policy"] { pairs.append((Node("alert_policy"), policy)) }
          let (settings, diagnostics) = PlanLoader.alertSettings(
            Node(pairs), file: file, dashboard: dashboardURL.map { AlertSettings.tenantPage(server: $0, tenant: tenant) })
          if let e = diagnostics.first(where: { $0.severity == .error }) {
            throw PlanError("\(file):\(e.line): \(e.message)", hint: e.hint)
          }
          var entry = TenantAlerts(tenant: tenant, settings: settings)
          if let s = m["silent_after"] {
            guard let text = s.string, let d = Duration.parse(text), d >= 600 else {
              throw fail(s, "silent_after must be a duration of 10m or more, such as 26h")
            }
            entry.silentAfter = d
          }
          c.alerts.append(entry)
        }
      default:
        throw fail(k, "unknown key '\(key)'", hint: "known keys: \(known.joined(separator: ", "))")
      }
    }
    return c
  }
}

extension Duration {
  /// `90s`, `15m`, `24h`, `7d`, or `0`: seconds as a TimeInterval.
  static func parse(_ s: String) -> TimeInterval? {
    if s == "0" { return 0 }
    guard let unit = s.last, let n = Double(s.dropLast()), n >= 0 else { return nil }
    switch unit {
    case "s": return n
    case "m": return n * 60
    case "h": return n * 3600
    case "d": return n * 86400
    default: return nil
    }
  }
}
