// Posture: how each system stands, judged once. A pure function from the facts (the plan's
// objectives, the catalog's backups, drills, copies and signals, and `now`) to four lights per
// system — backups (RPO), recovery (RTO), copies (3-2-1-1-0), integrity — each with typed
// reasons, and the list of findings. `lifeboat status`, every report, the dashboard, the API
// and `/metrics` render this result; none of them decides a colour. The rules are the table
// of `Reason` below, written out in docs/posture.md and walked by PostureTableTests.

public import Foundation
public import LifeboatCatalog
public import LifeboatPlan
import LifeboatPolicy

/// A traffic light. Ordered: the worst of several is their maximum.
public enum Light: String, Sendable, Codable, Comparable, CaseIterable {
  case green, amber, red

  /// 0 green, 1 amber, 2 red (the `/metrics` encoding).
  public var rank: Int {
    switch self {
    case .green: 0
    case .amber: 1
    case .red: 2
    }
  }

  public static func < (a: Light, b: Light) -> Bool { a.rank < b.rank }
}

/// The backups light in the status command's words.
public enum RPOState: String, Sendable, Codable {
  /// The last good backup is recent enough, with margin.
  case ok
  /// Within the RPO but past three quarters of it, or the last attempt failed.
  case atRisk = "at-risk"
  /// No good backup within the RPO.
  case breached
}

/// What a light is about.
public enum Area: String, Sendable, Codable, CaseIterable {
  /// The last good backup against the RPO.
  case backups
  /// The last restore drill against the RTO.
  case recovery
  /// The copies the plan asks for: present, offsite, immutable.
  case copies
  /// Ransomware signals on the backups.
  case integrity
  /// The organization as a whole: its plan and its audit chain.
  case organization
}

/// Every rule of the posture, with the light it gives. One case, one light, one area: this
/// enum is the table (docs/posture.md).
public enum Reason: String, Sendable, Codable, CaseIterable {
  // Backups (RPO).
  case withinRPO = "within-rpo"
  case nearRPO = "near-rpo"
  case lastAttemptFailed = "last-attempt-failed"
  case rpoBreached = "rpo-breached"
  case noGoodBackup = "no-good-backup"
  // Recovery (RTO).
  case drillPassed = "drill-passed"
  case drillOverdue = "drill-overdue"
  case drillUntimed = "drill-untimed"
  case neverDrilled = "never-drilled"
  case drillFailed = "drill-failed"
  case drillOverRTO = "drill-over-rto"
  // Copies (3-2-1-1-0).
  case copiesComplete = "copies-complete"
  case singleCopy = "single-copy"
  case copyBehind = "copy-behind"
  case copyFailing = "copy-failing"
  case retentionFailing = "retention-failing"
  case noOffsite = "no-offsite"
  case noImmutable = "no-immutable"
  case noOffsiteNorImmutable = "no-offsite-nor-immutable"
  case noCopy = "no-copy"
  // Integrity.
  case noSignals = "no-signals"
  case recentSuspicious = "recent-suspicious"
  case newestSuspicious = "newest-suspicious"
  // The organization.
  case noPlan = "no-plan"
  case planInvalid = "plan-invalid"
  case auditBroken = "audit-broken"

  public var light: Light {
    switch self {
    case .withinRPO, .drillPassed, .copiesComplete, .noSignals: .green
    case .nearRPO, .lastAttemptFailed, .drillOverdue, .drillUntimed, .singleCopy, .copyBehind, .copyFailing, .retentionFailing, .noOffsite, .noImmutable,
      .recentSuspicious, .noPlan:
      .amber
    case .rpoBreached, .noGoodBackup, .neverDrilled, .drillFailed, .drillOverRTO, .noOffsiteNorImmutable, .noCopy,
      .newestSuspicious, .planInvalid, .auditBroken:
      .red
    }
  }

  public var area: Area {
    switch self {
    case .withinRPO, .nearRPO, .lastAttemptFailed, .rpoBreached, .noGoodBackup: .backups
    case .drillPassed, .drillOverdue, .drillUntimed, .neverDrilled, .drillFailed, .drillOverRTO: .recovery
    case .copiesComplete, .singleCopy, .copyBehind, .copyFailing, .retentionFailing, .retentionFailing, .noOffsite, .noImmutable, .noOffsiteNorImmutable, .noCopy: .copies
    case .noSignals, .recentSuspicious, .newestSuspicious: .integrity
    case .noPlan, .planInvalid, .auditBroken: .organization
    }
  }

  /// The condition, in words (docs/posture.md is generated from the same text by the test).
  public var rule: String {
    switch self {
    case .withinRPO: "the last good backup is younger than ¾ of the RPO"
    case .nearRPO: "the last good backup is past ¾ of the RPO"
    case .lastAttemptFailed: "within the RPO, but the last backup attempt failed"
    case .rpoBreached: "the last good backup is older than the RPO"
    case .noGoodBackup: "no good backup yet"
    case .drillPassed: "the last drill passed within the RTO and is not overdue"
    case .drillOverdue: "the last drill passed within the RTO, but the next one is more than a day overdue"
    case .drillUntimed: "the last drill passed but recorded no recovery time"
    case .neverDrilled: "never drilled: the RTO is unproven"
    case .drillFailed: "the last drill failed"
    case .drillOverRTO: "the last drill recovered slower than the RTO"
    case .copiesComplete: "two or more copies hold a good backup, one offsite, one immutable"
    case .singleCopy: "fewer than two copies hold a good backup"
    case .copyBehind: "a copy the plan names holds no good backup yet"
    case .copyFailing: "the latest backup or copy into one of the copies failed"
    case .retentionFailing: "the latest retention run (forget) in one of the copies failed: it keeps growing"
    case .noOffsite: "no copy with a good backup is offsite"
    case .noImmutable: "no copy with a good backup is immutable"
    case .noOffsiteNorImmutable: "no copy with a good backup is offsite, and none is immutable"
    case .noCopy: "no copy holds a good backup"
    case .noSignals: "no backup in the last 30 days showed ransomware signals"
    case .recentSuspicious: "a backup in the last 30 days showed ransomware signals"
    case .newestSuspicious: "the newest good backup showed ransomware signals"
    case .noPlan: "no plan uploaded yet (server)"
    case .planInvalid: "the plan does not load"
    case .auditBroken: "the audit chain does not verify"
    }
  }
}

/// One reason that applies, said about this system.
public struct Cause: Sendable, Codable, Equatable {
  public var reason: Reason
  public var message: String
  public var light: Light { reason.light }
}

/// One area's light: the worst of its causes, and a sentence for people.
public struct Judgement: Sendable, Codable, Equatable {
  public var area: Area
  public var light: Light
  public var summary: String
  public var causes: [Cause]

  init(_ area: Area, summary: String, causes: [Cause]) {
    self.area = area
    self.summary = summary
    self.causes = causes
    light = causes.map(\.light).max() ?? .green
  }
}

/// Something that needs someone's attention: every amber or red cause.
public struct Finding: Sendable, Codable, Equatable {
  public var severity: Light
  public var system: String?
  public var area: Area
  public var reason: Reason
  public var message: String
}

/// One system's posture: its facts (`status`) and the four judgements. Encodes the facts'
/// fields at the top level (the shape `lifeboat status --json` always had) beside `light`,
/// `backups`, `recovery`, `copies`, `integrity` and `findings`.
public struct SystemPosture: Sendable, Codable {
  public var status: SystemStatus
  public var backups: Judgement
  public var recovery: Judgement
  public var copies: Judgement
  public var integrity: Judgement
  public var light: Light
  public var findings: [Finding]

  public var judgements: [Judgement] { [backups, recovery, copies, integrity] }

  enum CodingKeys: String, CodingKey { case backups, recovery, copies, integrity, light, findings }

  public init(
    status: SystemStatus, backups: Judgement, recovery: Judgement, copies: Judgement, integrity: Judgement
  ) {
    self.status = status
    self.backups = backups
    self.recovery = recovery
    self.copies = copies
    self.integrity = integrity
    let all = [backups, recovery, copies, integrity]
    light = all.map(\.light).max() ?? .green
    findings = all.flatMap { j in
      j.causes.filter { $0.light != .green }.map {
        Finding(severity: $0.light, system: status.system, area: j.area, reason: $0.reason, message: $0.message)
      }
    }
  }

  public init(from decoder: any Decoder) throws {
    status = try SystemStatus(from: decoder)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    backups = try c.decode(Judgement.self, forKey: .backups)
    recovery = try c.decode(Judgement.self, forKey: .recovery)
    copies = try c.decode(Judgement.self, forKey: .copies)
    integrity = try c.decode(Judgement.self, forKey: .integrity)
    light = try c.decode(Light.self, forKey: .light)
    findings = try c.decode([Finding].self, forKey: .findings)
  }

  public func encode(to encoder: any Encoder) throws {
    try status.encode(to: encoder)
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(backups, forKey: .backups)
    try c.encode(recovery, forKey: .recovery)
    try c.encode(copies, forKey: .copies)
    try c.encode(integrity, forKey: .integrity)
    try c.encode(light, forKey: .light)
    try c.encode(findings, forKey: .findings)
  }
}

/// The posture of an organization: every system, every finding (worst first), one light.
public struct PlanPosture: Sendable, Codable {
  public var systems: [SystemPosture]
  public var findings: [Finding]
  public var light: Light
  /// The board's first question: is every critical system's recovery proven within its RTO?
  /// Green when all are, red when one is not, amber when the plan marks none critical.
  public var criticalRecovery: Light
  /// The board's third question: could the practice be defended in a review? Green with no
  /// finding and an intact audit chain; red with more than three findings or a broken chain.
  public var defensible: Light
}

public enum Posture {
  /// How long after a suspicious backup the integrity light stays amber.
  public static let suspiciousWindow: TimeInterval = 30 * 86400

  /// One system, judged from its facts.
  public static func judge(_ s: SystemStatus, in plan: Plan, now: Date) -> SystemPosture {
    SystemPosture(
      status: s, backups: backups(s), recovery: recovery(s), copies: copies(s, plan: plan),
      integrity: integrity(s, now: now))
  }

  /// Every system of the plan, and the organization's own findings.
  public static func judge(
    plan: Plan?, planErrors: [String] = [], history: [JobRecord], auditIntact: Bool, planRequired: Bool = false,
    now: Date, timeZone: TimeZone = .current
  ) -> PlanPosture {
    let systems = (plan?.systems ?? []).map {
      judge(PlanStatus.status($0, history: history, now: now, timeZone: timeZone), in: plan!, now: now)
    }
    var findings: [Finding] = []
    if !auditIntact {
      findings.append(Finding(severity: .red, system: nil, area: .organization, reason: .auditBroken, message: "the audit chain does not verify"))
    }
    for e in planErrors {
      findings.append(Finding(severity: .red, system: nil, area: .organization, reason: .planInvalid, message: e))
    }
    if plan == nil && planErrors.isEmpty && planRequired {
      findings.append(Finding(severity: .amber, system: nil, area: .organization, reason: .noPlan, message: "no plan uploaded yet"))
    }
    findings += systems.flatMap(\.findings)
    // Worst first; the order of the plan within one severity.
    let ordered = findings.enumerated().sorted { ($0.element.severity, -$0.offset) > ($1.element.severity, -$1.offset) }.map(\.element)
    let light = max(systems.map(\.light).max() ?? .green, ordered.map(\.severity).max() ?? .green)
    let critical = systems.filter { $0.status.tier == Tier.critical.rawValue }
    let criticalRecovery: Light =
      critical.isEmpty ? .amber : critical.allSatisfy { $0.recovery.light == .green } ? .green : .red
    let defensible: Light = ordered.isEmpty && auditIntact ? .green : (ordered.count > 3 || !auditIntact ? .red : .amber)
    return PlanPosture(
      systems: systems, findings: ordered, light: light, criticalRecovery: criticalRecovery, defensible: defensible)
  }

  /// A projected restore time (the assessment's estimate) against the RTO.
  public static func projectedRecovery(seconds: Double, rto: Double) -> Light { seconds <= rto ? .green : .red }

  // MARK: - The four areas

  static func backups(_ s: SystemStatus) -> Judgement {
    let objective = "objective \(DurationText.format(s.rpoSeconds))"
    let summary = s.ageSeconds.map { "last good backup \(Wording.age($0)) ago (\(objective))" } ?? "no good backup yet (\(objective))"
    return Judgement(
      .backups, summary: summary,
      causes: backupCauses(age: s.ageSeconds, rpo: s.rpoSeconds, lastAttemptFailed: s.lastBackupFailed, lastError: s.lastError))
  }

  /// The backups (RPO) rule, the only one: the causes for a last good backup `age` seconds old
  /// (nil: none yet) against the RPO.
  static func backupCauses(age: TimeInterval?, rpo: TimeInterval, lastAttemptFailed: Bool, lastError: String?) -> [Cause] {
    // What went wrong last, said with the red reasons too: the operator's next step.
    let failure = lastAttemptFailed ? "; the last attempt failed" + (lastError.map { ": \($0)" } ?? "") : ""
    guard let age else { return [Cause(reason: .noGoodBackup, message: "no good backup yet" + failure)] }
    var causes: [Cause] = []
    if age > rpo {
      causes.append(Cause(reason: .rpoBreached, message: "the last good backup is \(Wording.age(age)) old, over the RPO of \(DurationText.format(rpo))" + failure))
    } else if age > rpo * 0.75 {
      causes.append(Cause(reason: .nearRPO, message: "the last good backup is \(Wording.age(age)) old, close to the RPO of \(DurationText.format(rpo))"))
    }
    if lastAttemptFailed && age <= rpo {
      causes.append(Cause(reason: .lastAttemptFailed, message: "the last backup attempt failed" + (lastError.map { ": \($0)" } ?? "")))
    }
    if causes.isEmpty { causes.append(Cause(reason: .withinRPO, message: "last good backup \(Wording.age(age)) ago")) }
    return causes
  }

  /// The RPO state `SystemStatus.rpoState` reports: the backups light, in the words of the
  /// status command (ok, at-risk, breached).
  public static func rpoState(rpo: TimeInterval, age: TimeInterval?, lastAttemptFailed: Bool) -> RPOState {
    switch backupCauses(age: age, rpo: rpo, lastAttemptFailed: lastAttemptFailed, lastError: nil).map(\.light).max() ?? .green {
    case .green: .ok
    case .amber: .atRisk
    case .red: .breached
    }
  }

  static func recovery(_ s: SystemStatus) -> Judgement {
    let objective = "objective \(DurationText.format(s.rtoSeconds))"
    guard let verdict = s.lastDrillVerdict, let when = s.lastDrillTime else {
      return Judgement(
        .recovery, summary: "never tested by a restore drill (\(objective))",
        causes: [Cause(reason: .neverDrilled, message: "never drilled: recovery has never been tested, the RTO is unproven")])
    }
    let measured = s.lastDrillRecoverySeconds.map { ", recovered in \(Wording.age($0))" } ?? ""
    let summary = "drill of \(Wording.day(when)): \(verdict.rawValue)\(measured) (\(objective))"
    var causes: [Cause] = []
    switch verdict {
    case .failed:
      causes.append(Cause(reason: .drillFailed, message: "the last restore drill failed"))
    case .passedOverRTO:
      causes.append(Cause(reason: .drillOverRTO, message: "the last drill recovered\(measured.isEmpty ? "" : " in " + Wording.age(s.lastDrillRecoverySeconds!)), slower than the RTO of \(DurationText.format(s.rtoSeconds))"))
    case .passed:
      if let secs = s.lastDrillRecoverySeconds, secs > s.rtoSeconds {
        // A drill recorded by an older version without the over-RTO verdict.
        causes.append(Cause(reason: .drillOverRTO, message: "the last drill recovered in \(Wording.age(secs)), slower than the RTO of \(DurationText.format(s.rtoSeconds))"))
      } else if s.lastDrillRecoverySeconds == nil {
        causes.append(Cause(reason: .drillUntimed, message: "the last drill recorded no recovery time: the RTO is unproven"))
      }
      if s.drillOverdue {
        causes.append(Cause(reason: .drillOverdue, message: "a restore drill is overdue" + (s.nextDrill.map { " (due \(Wording.day($0)))" } ?? "")))
      }
      if causes.isEmpty { causes.append(Cause(reason: .drillPassed, message: summary)) }
    }
    return Judgement(.recovery, summary: summary, causes: causes)
  }

  static func copies(_ s: SystemStatus, plan: Plan) -> Judgement {
    let names = Set(s.copies.keys).union(s.copiesMissing).sorted()
    let present = names.filter { (s.copies[$0] ?? nil) != nil }
    let targets = present.compactMap { plan.repositories[$0] }
    let offsite = targets.contains(where: \.offsite)
    let immutable = targets.contains { $0.immutableDays != nil }
    var causes: [Cause] = []
    if present.isEmpty {
      causes.append(Cause(reason: .noCopy, message: "no copy holds a good backup"))
    } else {
      if !offsite && !immutable {
        causes.append(Cause(reason: .noOffsiteNorImmutable, message: "copies: no offsite copy and no immutable copy"))
      } else if !offsite {
        causes.append(Cause(reason: .noOffsite, message: "copies: no offsite copy"))
      } else if !immutable {
        causes.append(Cause(reason: .noImmutable, message: "copies: no immutable copy"))
      }
      if present.count < 2 { causes.append(Cause(reason: .singleCopy, message: "copies: fewer than two copies")) }
    }
    if !s.copiesMissing.isEmpty && !present.isEmpty {
      causes.append(Cause(reason: .copyBehind, message: "copies: no good copy yet in \(s.copiesMissing.joined(separator: ", "))"))
    }
    for (name, error) in s.copiesFailing.sorted(by: { $0.key < $1.key }) where !s.copiesMissing.contains(name) {
      causes.append(Cause(reason: .copyFailing, message: "copies: the latest copy into \(name) failed: \(error)"))
    }
    for (name, error) in s.retentionFailing.sorted(by: { $0.key < $1.key }) {
      causes.append(Cause(reason: .retentionFailing, message: "copies: retention in \(name) failed: \(error)"))
    }
    let summary =
      "\(present.count) of \(names.count) copies current" + (offsite ? ", offsite" : "") + (immutable ? ", immutable" : "")
    if causes.isEmpty { causes.append(Cause(reason: .copiesComplete, message: summary)) }
    return Judgement(.copies, summary: summary, causes: causes)
  }

  static func integrity(_ s: SystemStatus, now: Date) -> Judgement {
    guard let last = s.lastSuspicious else {
      return Judgement(.integrity, summary: "no ransomware signals", causes: [Cause(reason: .noSignals, message: "no ransomware signals")])
    }
    let count = s.suspiciousSnapshots == 1 ? "a backup" : "\(s.suspiciousSnapshots) backups"
    let summary = "\(count) showed ransomware signals, the last on \(Wording.day(last))"
    if s.newestSuspicious {
      return Judgement(
        .integrity, summary: summary,
        causes: [Cause(reason: .newestSuspicious, message: "the newest backup looked like a ransomware attack; restore from the clean point")])
    }
    if now.timeIntervalSince(last) <= suspiciousWindow {
      return Judgement(
        .integrity, summary: summary,
        causes: [Cause(reason: .recentSuspicious, message: "\(count) looked like a ransomware attack, the last on \(Wording.day(last)); restore from the clean point")])
    }
    return Judgement(.integrity, summary: summary, causes: [Cause(reason: .noSignals, message: summary)])
  }
}

extension DrillVerdict {
  /// The light of one drill's document: passed green, over the RTO red (the objective was
  /// missed, as `Reason.drillOverRTO` says), failed red.
  public var light: Light {
    switch self {
    case .passed: .green
    case .passedOverRTO, .failed: .red
    }
  }
}

extension JobRecord.Outcome {
  /// The light of one job in a list (dashboard, reports).
  public var light: Light {
    switch self {
    case .success, .running: .green
    case .partial: .amber
    case .failed, .interrupted: .red
    }
  }
}

/// How the posture's sentences say ages and days.
public enum Wording {
  public static func age(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.1f seconds", seconds) }
    if seconds < 90 { return String(format: "%.0f seconds", seconds) }
    if seconds < 5400 { return String(format: "%.0f minutes", seconds / 60) }
    if seconds < 172_800 { return String(format: "%.0f hours", seconds / 3600) }
    return String(format: "%.0f days", seconds / 86400)
  }

  /// `2026-12-07` (UTC).
  public static func day(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withFullDate]
    return f.string(from: date)
  }
}
