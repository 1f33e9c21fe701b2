// Which findings are worth waking someone for, decided once: the alert conditions are the
// posture's findings whose reason alerts (`Reason.alerts`), one per system and area, plus
// the conditions only alerting watches (storage near full). Sending, repeating and
// resolving them is LifeboatAlerts'.

public import Foundation
import LifeboatCore

extension Reason {
  /// Whether a finding of this reason is sent as an alert. Gaps of configuration (no offsite
  /// copy, never drilled) are the reports' business: they do not change from one hour to the
  /// next, and a message about them every day would teach people to ignore alerts.
  public var alerts: Bool {
    switch self {
    case .nearRPO, .lastAttemptFailed, .rpoBreached, .noGoodBackup: true
    case .drillOverdue, .drillFailed, .drillOverRTO: true
    case .copyFailing, .retentionFailing: true
    case .recentSuspicious, .newestSuspicious: true
    case .auditBroken: true
    case .withinRPO, .drillPassed, .drillUntimed, .neverDrilled, .copiesComplete, .singleCopy, .copyBehind, .noOffsite,
      .noImmutable, .noOffsiteNorImmutable, .noCopy, .noSignals, .noPlan, .planInvalid:
      false
    }
  }
}

/// Something wrong that people must be told about, until it is resolved.
public struct AlertCondition: Sendable, Codable, Equatable {
  /// What stays the same while the condition lasts: the system's name (`Payroll`),
  /// `organization`, `storage/REPOSITORY`.
  public var key: String
  public var system: String?
  /// The worst reason's name (`rpo-breached`) or an alerting-only one (`storage-near-full`).
  public var reason: String
  /// Every alerting reason of the key, worst first; a change of this set is a new message.
  public var reasons: [String]
  public var severity: Light
  /// What happened, in a sentence (may hold an error's lines).
  public var message: String
  /// The rule that holds, in one line (`the last good backup is older than the RPO`): the
  /// subject of a mail, the first line of a chat message.
  public var headline: String
  /// What to do about it.
  public var action: String

  public init(
    key: String, system: String?, reason: String, severity: Light, message: String, action: String, reasons: [String]? = nil
  ) {
    self.key = key
    self.system = system
    self.reason = reason
    self.reasons = reasons ?? [reason]
    self.headline = Reason(rawValue: reason)?.rule ?? message.split(separator: "\n").first.map(String.init) ?? reason
    self.severity = severity
    self.message = message
    self.action = action
  }

  /// The fraction of a storage's space in use above which it alerts.
  public static let storageNearFull = 0.9

  /// A storage (a repository on a local filesystem) that is nearly full.
  public static func storage(repository: String, used: Double, free: UInt64) -> AlertCondition? {
    guard used >= storageNearFull else { return nil }
    return AlertCondition(
      key: "storage/\(repository)", system: nil, reason: "storage-near-full", severity: used >= 0.97 ? .red : .amber,
      message: "repository \(repository) is \(Int((used * 100).rounded(.down)))% full (\(ByteCount.format(free)) free)",
      action: "free space (prune, a bigger disk) before backups start failing")
  }
}

extension AlertCondition {
  /// An immutable repository whose locks fall short: keeping them failed, or objects it needs
  /// are (or within a quarter of the lock period will be) no longer locked. `earliestUntil` is
  /// the earliest lock end of an object in use, as the last successful keeping left it.
  public static func locks(
    repository: String, days: Int, lastFailure: String?, earliestUntil: Date?, now: Date
  ) -> AlertCondition? {
    let key = "locks/\(repository)"
    let action = "run `lifeboat maintenance -r REPOSITORY` and check that the backup's credentials may extend retention (s3:PutObjectRetention); the agent keeps locks after its runs"
    if let lastFailure {
      return AlertCondition(
        key: key, system: nil, reason: "locks-falling-short", severity: .amber,
        message: "keeping the locks of \(repository) in force failed: \(lastFailure)", action: action)
    }
    guard let until = earliestUntil else { return nil }
    if until <= now {
      return AlertCondition(
        key: key, system: nil, reason: "locks-falling-short", severity: .red,
        message: "data \(repository) needs has not been locked since \(DateText.moment(until)): it can be deleted or encrypted", action: action)
    }
    if until < now.addingTimeInterval(Double(days) * 86400 / 4) {
      return AlertCondition(
        key: key, system: nil, reason: "locks-falling-short", severity: .amber,
        message: "locks of data \(repository) needs end on \(DateText.moment(until)), within a quarter of its \(days)-day lock", action: action)
    }
    return nil
  }
}

extension AlertCondition {
  /// A repository whose scheduled verification (`verify_age:`) failed: it found damaged packs
  /// (red: data a restore needs may be lost), or it could not run (amber).
  public static func verification(repository: String, damagedPacks: [String], failure: String?) -> AlertCondition? {
    let key = "verify/\(repository)"
    if !damagedPacks.isEmpty {
      return AlertCondition(
        key: key, system: nil, reason: "verification-found-damage", severity: .red,
        message: "reading back \(repository) found \(damagedPacks.count) damaged pack(s): \(damagedPacks.prefix(3).joined(separator: ", "))",
        action: "run `lifeboat check --read-data -r REPOSITORY` to see which snapshots and files are affected, then back up again (new data is stored anew) and restore from another copy what is lost")
    }
    guard let failure else { return nil }
    return AlertCondition(
      key: key, system: nil, reason: "verification-found-damage", severity: .amber,
      message: "the scheduled verification of \(repository) did not run: \(failure)",
      action: "run `lifeboat check --read-data-max-age AGE -r REPOSITORY` by hand to see why")
  }
}

extension Posture {
  /// Past ¾ of the RPO is only *at risk* when the schedule will not save it: the scheduled
  /// backup is overdue (by more than ten minutes) or comes after the RPO runs out. A system
  /// backed up every 6 h against a 6 h RPO passes ¾ of it before every backup, and must not
  /// alert for that.
  static func rpoAtRisk(_ s: SystemStatus, now: Date) -> Bool {
    guard let last = s.lastGoodBackup else { return true }
    let deadline = last.addingTimeInterval(s.rpoSeconds)
    return s.nextDue < now.addingTimeInterval(-600) || s.nextDue > deadline
  }
}

extension AlertCondition {
  /// What tells one state of the condition from another: its reasons.
  public var fingerprint: String { reasons.joined(separator: "+") }
}

extension Posture {
  /// The alert conditions of a plan's posture: one per system (and one for the organization)
  /// with an alerting finding — the worst first, the others said with it — so one failed
  /// backup that also leaves a copy behind is one message, not two.
  public static func alertConditions(_ posture: PlanPosture, now: Date) -> [AlertCondition] {
    var order: [String] = []
    var byKey: [String: [Finding]] = [:]
    let statuses = Dictionary(posture.systems.map { ($0.status.system, $0.status) }, uniquingKeysWith: { a, _ in a })
    for f in posture.findings where f.reason.alerts && f.severity != .green {
      if f.reason == .nearRPO, let s = f.system.flatMap({ statuses[$0] }), !rpoAtRisk(s, now: now) { continue }
      let key = f.system ?? "organization"
      if byKey[key] == nil { order.append(key) }
      byKey[key, default: []].append(f)
    }
    return order.map { key in
      // Findings come worst first (Posture.judge orders them).
      let found = byKey[key]!.sorted { $0.severity > $1.severity }
      let worst = found[0]
      let others = found.dropFirst().map(\.message)
      return AlertCondition(
        key: key, system: worst.system, reason: worst.reason.rawValue, severity: worst.severity,
        message: worst.message + (others.isEmpty ? "" : "; also: " + others.joined(separator: "; ")), action: worst.reason.action,
        reasons: found.map(\.reason.rawValue))
    }
  }
}
