// Which messages to send now, to whom, and the record of each: the state of every alert is
// the catalog's `alert` jobs (one per delivery), read back to decide the next.

public import Foundation
public import LifeboatCatalog
public import LifeboatPlan
public import LifeboatPosture
public import LifeboatCore

public struct AlertBook: Sendable {
  /// What a delivery job's `details` hold.
  public struct Record: Sendable, Codable, Equatable {
    public var key: String
    public var event: AlertMessage.Event
    public var reason: String
    public var target: String
    public var since: Date
    public var attempts: Int?
  }

  /// One message for one target.
  public struct Outgoing: Sendable {
    public var message: AlertMessage
    public var target: AlertTarget

    public init(message: AlertMessage, target: AlertTarget) {
      self.message = message
      self.target = target
    }
  }

  public let settings: AlertSettings
  public let organization: String

  public init(settings: AlertSettings, organization: String) {
    self.settings = settings
    self.organization = organization
  }

  /// What an `alert` job recorded.
  public static func record(of job: JobRecord) -> Record? {
    guard job.kind == "alert", let details = job.details else { return nil }
    return try? JSONDecoder.alerts.decode(Record.self, from: Data(details.utf8))
  }

  /// The last delivered record per condition key and target, from the catalog's alert jobs
  /// (newest first). Failed deliveries do not count: they are tried again next time.
  public static func delivered(_ jobs: [JobRecord]) -> [String: (Record, Date)] {
    var out: [String: (Record, Date)] = [:]
    for job in jobs where job.kind == "alert" && job.outcome == .success {
      guard let r = record(of: job) else { continue }
      if r.event == .test { continue }
      let slot = r.key + "\u{1f}" + r.target
      if let existing = out[slot], existing.1 >= job.started { continue }
      out[slot] = (r, job.started)
    }
    return out
  }

  /// The messages due now. Pure: the conditions, what was delivered, the time.
  public func decide(_ conditions: [AlertCondition], delivered: [String: (Record, Date)], now: Date) -> [Outgoing] {
    var out: [Outgoing] = []
    let active = Dictionary(conditions.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    for target in settings.targets {
      let name = "\(target)"
      for c in conditions {
        let last = delivered[c.key + "\u{1f}" + name]
        let event: AlertMessage.Event?
        var since = now
        switch last {
        case nil: event = .fired
        case let (r, _)? where r.event == .resolved: event = .fired
        case let (r, _)? where r.reason != c.fingerprint:
          event = .changed
          since = r.since
        case let (r, t)?:
          since = r.since
          event = now.timeIntervalSince(t) >= settings.remindEvery ? .reminder : nil
        }
        if let event {
          out.append(Outgoing(message: message(event, c, since: since, now: now), target: target))
        }
      }
      // Open alerts whose condition is gone: resolved.
      for (slot, (r, _)) in delivered where slot.hasSuffix("\u{1f}" + name) && r.event != .resolved && active[r.key] == nil {
        let reasons = r.reason.split(separator: "+").map(String.init)
        let gone = AlertCondition(
          key: r.key, system: Self.system(of: r.key), reason: reasons.first ?? r.reason, severity: .green,
          message: Self.describe(reasons.first ?? r.reason), action: "nothing: back to normal", reasons: reasons)
        out.append(Outgoing(message: message(.resolved, gone, since: r.since, now: now), target: target))
      }
    }
    return out.sorted { ($0.message.condition.key, "\($0.target)") < ($1.message.condition.key, "\($1.target)") }
  }

  /// The daily digest, when one is asked for, it is the digest's hour and none was sent today.
  public func digest(_ conditions: [AlertCondition], jobs: [JobRecord], now: Date, timeZone: TimeZone = .current) -> [Outgoing] {
    guard let hour = settings.digestHour, !conditions.isEmpty else { return [] }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    guard calendar.component(.hour, from: now) >= hour else { return [] }
    let today = calendar.startOfDay(for: now)
    let sent = jobs.contains { job in
      job.kind == "alert" && job.outcome == .success && job.started >= today
        && Self.record(of: job)?.event == .digest
    }
    guard !sent else { return [] }
    let headline = AlertCondition(
      key: "digest", system: nil, reason: "digest", severity: conditions.map(\.severity).max() ?? .amber,
      message: Plural.count(conditions.count, "open alert"), action: "see each alert")
    return settings.targets.map { target in
      var m = message(.digest, headline, since: today, now: now)
      m.open = conditions
      return Outgoing(message: m, target: target)
    }
  }

  func message(_ event: AlertMessage.Event, _ c: AlertCondition, since: Date, now: Date) -> AlertMessage {
    AlertMessage(event: event, organization: organization, condition: c, since: since, time: now, link: link(for: c))
  }

  /// The page every message links to (`AlertSettings.dashboard`).
  func link(for c: AlertCondition) -> String? { settings.dashboard }

  static func system(of key: String) -> String? {
    key == "organization" || key.hasPrefix("storage/") || key.hasPrefix("locks/") || key.hasPrefix("verify/") || key == "digest"
      || key == "test" ? nil : key
  }

  /// A resolved condition's wording: its rule, from the posture table.
  static func describe(_ reason: String) -> String {
    if let r = Reason(rawValue: reason) { return "no longer: \(r.rule)" }
    switch reason {
    case "storage-near-full": return "no longer: the storage is nearly full"
    case "locks-falling-short": return "no longer: the locks of data in use fall short"
    case "verification-found-damage": return "no longer: reading the repository back finds damage"
    default: return "no longer: \(reason)"
    }
  }

  // MARK: - Sending and recording

  /// Sends every message due and records each delivery as an `alert` job (failed ones with
  /// the error, to be tried again at the next evaluation). Never throws: a failure of alerting
  /// must not fail the run that triggered it. Returns the records written.
  public func send(
    _ outgoing: [Outgoing], delivery: AlertDelivery, catalog: Catalog, clock: any WallClock
  ) async -> [JobRecord] {
    var jobs: [JobRecord] = []
    for o in outgoing {
      var job = JobRecord(kind: "alert", system: "", repository: nil, started: o.message.time)
      var record = Record(
        key: o.message.condition.key, event: o.message.event, reason: o.message.condition.fingerprint, target: "\(o.target)",
        since: o.message.since)
      let messageID = "\(Int(o.message.time.timeIntervalSince1970))-\(abs(o.message.condition.key.hashValue))-\(o.message.event.rawValue)@lifeboat"
      do {
        record.attempts = try await delivery.deliver(o.message, to: o.target, messageID: messageID)
        job.outcome = .success
      } catch {
        job.outcome = .failed
        job.errors = ["\(error)"]
      }
      job.details = (try? JSONEncoder.alerts.encode(record)).map { String(decoding: $0, as: UTF8.self) }
      job.warnings = [o.message.subject]
      job.ended = clock.now()
      if let id = try? catalog.start(job) {
        job.id = id
        try? catalog.finish(job)
      }
      jobs.append(job)
    }
    return jobs
  }
}

extension JSONEncoder {
  static var alerts: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.dateEncodingStrategy = .iso8601
    return e
  }
}

extension JSONDecoder {
  static var alerts: JSONDecoder {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return d
  }
}
