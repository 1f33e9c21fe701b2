// What an alert says, and how each kind of recipient receives it.

public import Foundation
public import LifeboatPosture
import LifeboatCore
import LifeboatPlan

public struct AlertMessage: Sendable, Codable, Equatable {
  public enum Event: String, Sendable, Codable {
    /// The condition appeared.
    case fired
    /// The same condition, another reason (near the RPO → past it).
    case changed
    /// Still there after the reminder interval.
    case reminder
    /// Gone.
    case resolved
    /// The daily list of everything open.
    case digest
    /// `lifeboat alerts test`.
    case test
  }

  public var event: Event
  public var organization: String
  public var condition: AlertCondition
  /// When the condition was first sent (the start of this episode).
  public var since: Date
  public var time: Date
  /// The dashboard page to open, if the plan knows one.
  public var link: String?
  /// For a digest: every open condition.
  public var open: [AlertCondition] = []

  public init(event: Event, organization: String, condition: AlertCondition, since: Date, time: Date, link: String?) {
    self.event = event
    self.organization = organization
    self.condition = condition
    self.since = since
    self.time = time
    self.link = link
  }

  var what: String { condition.system.map { "\($0)" } ?? organization }

  /// The subject line (and the first line of every chat message).
  public var subject: String {
    let line: String
    switch event {
    case .resolved: line = "[Lifeboat] RESOLVED \(what): \(condition.message)"
    case .digest: line = "[Lifeboat] \(organization): \(Plural.count(open.count, "open alert")) today"
    case .test: line = "[Lifeboat] test alert from \(organization)"
    case .fired, .changed, .reminder:
      line = "[Lifeboat] \(condition.severity == .red ? "RED" : "AMBER") \(what): \(condition.headline)"
        + (event == .reminder ? " (reminder)" : "")
    }
    // One line, whatever the message holds: a header must never be split (or injected).
    let flat = line.map { $0.isNewline || $0 == "\t" ? " " : $0 }.reduce(into: "") { $0.append($1) }
    return flat.count > 180 ? String(flat.prefix(179)) + "…" : flat
  }

  /// The body, plain text: what happened, to what, since when, what to do, where to look.
  public var text: String {
    var lines: [String] = []
    switch event {
    case .digest:
      lines.append("Open alerts of \(organization) on \(DateText.moment(time)):")
      lines.append("")
      for c in open {
        lines.append("- \(c.system ?? organization): \(c.message)")
        lines.append("  what to do: \(c.action)")
      }
    case .test:
      lines.append("This is a test of Lifeboat's alerts for \(organization), sent \(DateText.moment(time)).")
      lines.append("If you can read it, alerts reach you.")
    case .resolved:
      lines.append("Resolved: \(what) — \(condition.message).")
      lines.append("It had been open since \(DateText.moment(since)); resolved \(DateText.moment(time)).")
    case .fired, .changed, .reminder:
      lines.append("What happened: \(condition.message).")
      lines.append("Which system:  \(condition.system ?? "the organization (\(organization))")")
      lines.append("Since:         \(DateText.moment(since))")
      lines.append("Severity:      \(condition.severity.rawValue)")
      lines.append("What to do:    \(condition.action)")
    }
    if let link {
      lines.append("")
      lines.append("Dashboard: \(link)")
    }
    lines.append("")
    lines.append("— Lifeboat (condition \(condition.key), \(event.rawValue))")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Lifeboat's documented webhook body (docs/alerts.md).
  public func json() -> Data {
    struct Body: Encodable {
      var version = 1
      var event: String
      var organization: String
      var key: String
      var system: String?
      var reason: String
      var reasons: [String]
      var severity: String
      var message: String
      var action: String
      var since: Date
      var time: Date
      var link: String?
      var subject: String
      var open: [AlertCondition]?
    }
    let body = Body(
      event: event.rawValue, organization: organization, key: condition.key, system: condition.system, reason: condition.reason,
      reasons: condition.reasons, severity: condition.severity.rawValue, message: condition.message, action: condition.action, since: since, time: time,
      link: link, subject: subject, open: event == .digest ? open : nil)
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.dateEncodingStrategy = .iso8601
    return (try? e.encode(body)) ?? Data()
  }

  /// A Slack incoming-webhook message (text with mrkdwn).
  public func slack() -> Data {
    let text = "*\(subject)*\n" + self.text.replacingOccurrences(of: "\n— Lifeboat", with: "\n_Lifeboat_")
    return (try? JSONSerialization.data(withJSONObject: ["text": text], options: [.sortedKeys])) ?? Data()
  }

  /// A Microsoft Teams incoming-webhook message (the MessageCard format Teams' connectors take).
  public func teams() -> Data {
    let colour = event == .resolved ? "2E7D32" : condition.severity == .red ? "C62828" : "F9A825"
    var card: [String: Any] = [
      "@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": subject, "themeColor": colour,
      "title": subject, "text": text.replacingOccurrences(of: "\n", with: "<br>"),
    ]
    if let link {
      card["potentialAction"] = [
        ["@type": "OpenUri", "name": "Open the dashboard", "targets": [["os": "default", "uri": link]]]
      ]
    }
    return (try? JSONSerialization.data(withJSONObject: card, options: [.sortedKeys])) ?? Data()
  }
}
