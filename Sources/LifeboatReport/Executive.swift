// The executive report: one page a school board reads. Per system a traffic light for RPO,
// RTO and copies; the downtime cost of 24 h, 72 h and a week set against the measured recovery
// time; the three leadership questions answered in plain words with dates.

public import Foundation
public import LifeboatCatalog
import LifeboatOps
public import LifeboatPlan
import LifeboatPolicy

public enum Light: String, Sendable, Codable {
  case green, amber, red
}

public struct ExecutiveReport: Sendable, Codable {
  public struct SystemRow: Sendable, Codable {
    public var name: String
    public var tier: String
    public var owner: String?
    public var rpo: Light
    public var rpoText: String
    public var rto: Light
    public var rtoText: String
    public var copies: Light
    public var copiesText: String
    public var findings: [String]
    public var rtoSeconds: Double
    /// The last drill's measured recovery time (nil: never drilled).
    public var measuredRecoverySeconds: Double?
    public var downtimeCostPerHour: Double
  }

  public struct Cost: Sendable, Codable {
    public var hours: Double
    public var organization: Double
    /// Per critical system: the cost of that outage, and of its measured recovery time.
    public var perCriticalSystem: [String: Double]
  }

  public struct Answer: Sendable, Codable {
    public var question: String
    public var answer: String
    public var light: Light
  }

  public var organization: String
  public var generated: Date
  public var systems: [SystemRow]
  public var costs: [Cost]
  /// The cost of each critical system's measured recovery time (drill), by system.
  public var measuredRecoveryCost: [String: Double]
  public var answers: [Answer]
  public var auditChain: AuditVerification

  public static func make(plan: Plan, history: [JobRecord], audit: AuditVerification, now: Date) -> ExecutiveReport {
    var rows: [SystemRow] = []
    for s in plan.systems {
      let st = PlanStatus.status(s, history: history, now: now)
      var findings: [String] = []
      // RPO: age of the last good backup.
      let rpoLight: Light = st.rpoState == .ok ? .green : st.rpoState == .atRisk ? .amber : .red
      let rpoText: String
      if let age = st.ageSeconds {
        rpoText = "last good backup \(Self.age(age)) ago (objective \(DurationText.format(s.rpo.value)))"
      } else {
        rpoText = "no good backup yet (objective \(DurationText.format(s.rpo.value)))"
      }
      if st.rpoState == .breached { findings.append("no good backup within the recovery point objective") }
      // RTO: the last drill's measured recovery time and its age.
      var rtoLight = Light.red
      var rtoText = "never tested by a restore drill"
      if let v = st.lastDrillVerdict, let t = st.lastDrillTime {
        let drillAge = now.timeIntervalSince(t)
        let measured = st.lastDrillRecoverySeconds.map { Self.age($0) } ?? "?"
        rtoText = "drill \(Self.age(drillAge)) ago: \(v), recovered in \(measured) (objective \(DurationText.format(s.rto.value)))"
        if v == "passed" && !st.drillOverdue {
          rtoLight = .green
        } else if v == "passed" || v == "passed-over-rto" {
          rtoLight = .amber
          if v == "passed-over-rto" { findings.append("the last drill recovered slower than the RTO") }
          if st.drillOverdue { findings.append("the restore drill is overdue") }
        } else {
          findings.append("the last restore drill failed")
        }
      } else {
        findings.append("recovery has never been tested")
      }
      // Copies: 3-2-1-1-0 — copies present, one offsite, one immutable, no errors.
      let targets = s.copies.value.compactMap { plan.repositories[$0] }
      let present = s.copies.value.filter { (st.copies[$0] ?? nil) != nil }
      let offsite = targets.contains { $0.offsite && present.contains($0.name) }
      let immutable = targets.contains { $0.immutableDays != nil && present.contains($0.name) }
      var copyLight = Light.green
      var missing: [String] = []
      if present.count < 2 { missing.append("fewer than two copies") }
      if !offsite { missing.append("no offsite copy") }
      if !immutable { missing.append("no immutable copy") }
      if !st.copiesMissing.isEmpty { missing.append("missing in \(st.copiesMissing.joined(separator: ", "))") }
      if !missing.isEmpty { copyLight = present.isEmpty || (!offsite && !immutable) ? .red : .amber }
      if st.suspiciousSnapshots > 0 {
        findings.append(
          st.suspiciousSnapshots == 1
            ? "a backup looked like a ransomware attack" : "\(st.suspiciousSnapshots) backups looked like a ransomware attack")
        copyLight = .red
      }
      let copyText =
        "\(present.count) of \(s.copies.value.count) copies current" + (offsite ? ", offsite" : "")
        + (immutable ? ", immutable" : "") + (missing.isEmpty ? "" : " — " + missing.joined(separator: "; "))
      findings += missing.map { "copies: \($0)" }
      rows.append(
        SystemRow(
          name: s.name, tier: s.tier.value.rawValue, owner: s.owner, rpo: rpoLight, rpoText: rpoText, rto: rtoLight,
          rtoText: rtoText, copies: copyLight, copiesText: copyText, findings: findings, rtoSeconds: s.rto.value,
          measuredRecoverySeconds: st.lastDrillRecoverySeconds, downtimeCostPerHour: s.downtimeCostPerHour.value))
    }
    let critical = plan.systems.filter { $0.tier.value == .critical }
    // The organization's own figure when the plan gives one, else its costliest system's.
    let orgRate =
      plan.downtimeCostPerHour > 0 ? plan.downtimeCostPerHour : (plan.systems.map(\.downtimeCostPerHour.value).max() ?? 0)
    let costs = [24.0, 72.0, 168.0].map { h in
      Cost(
        hours: h, organization: orgRate * h,
        perCriticalSystem: Dictionary(uniqueKeysWithValues: critical.map { ($0.name, $0.downtimeCostPerHour.value * h) }))
    }
    var measuredCost: [String: Double] = [:]
    for r in rows where r.tier == "critical" {
      if let m = r.measuredRecoverySeconds { measuredCost[r.name] = r.downtimeCostPerHour * m / 3600 }
    }

    // The three questions.
    let df = DateFormatter()
    df.dateStyle = .long
    df.timeStyle = .none
    df.locale = Locale(identifier: "en_US")
    df.timeZone = TimeZone(identifier: "UTC")
    var answers: [Answer] = []
    let criticalRows = rows.filter { $0.tier == "critical" }
    let verified = criticalRows.filter { $0.rto == .green }
    let q1: String
    if criticalRows.isEmpty {
      q1 = "The plan marks no system as critical."
    } else {
      let parts = criticalRows.map { r -> String in
        let objective = DurationText.format(r.rtoSeconds)
        guard let m = r.measuredRecoverySeconds,
          let drill = history.filter({ $0.system == r.name && $0.kind == "drill" }).max(by: { $0.started < $1.started })
        else { return "\(r.name) must be back within \(objective); this has never been tested." }
        return "\(r.name) must be back within \(objective); a restore test on \(df.string(from: drill.started)) "
          + "recovered it in \(Self.age(m))" + (r.rto == .green ? ", within the objective." : ", which needs attention.")
      }
      q1 = parts.joined(separator: " ")
    }
    answers.append(
      Answer(
        question: "What is our recovery time objective for the most critical systems, and has anyone verified that we can meet it?",
        answer: q1, light: criticalRows.isEmpty ? .amber : verified.count == criticalRows.count ? .green : .red))
    func money(_ v: Double) -> String { HTML.money(v) }
    answers.append(
      Answer(
        question: "What would it cost if our data were inaccessible for 24 hours, 72 hours or a week?",
        answer: "At \(money(orgRate)) per hour of downtime: \(money(orgRate * 24)) for a day, \(money(orgRate * 72)) for three days, "
          + "\(money(orgRate * 168)) for a week."
          + (measuredCost.isEmpty
            ? " No critical system has a measured recovery time yet."
            : " The measured recoveries cost " + measuredCost.sorted { $0.key < $1.key }.map { "\(money($0.value)) for \($0.key)" }.joined(separator: ", ") + "."),
        light: .amber))
    let allFindings = rows.flatMap(\.findings)
    let defensible = allFindings.isEmpty && audit.isIntact
    answers.append(
      Answer(
        question: "Could we defend our backup practice in a regulatory review, a cyber-insurance audit or to a major client?",
        answer: defensible
          ? "Yes, with evidence: every system is within its backup objective, every critical system passed a recent restore test, copies are offsite and immutable, and the audit log of \(audit.events) events verifies intact (head \(audit.head.prefix(12)))."
          : "Not yet: \(allFindings.count) open findings"
            + (audit.isIntact ? "" : " and the audit log does not verify") + ". "
            + (allFindings.first.map { "First: \($0)." } ?? ""),
        light: defensible ? .green : (allFindings.count > 3 || !audit.isIntact ? .red : .amber)))
    return ExecutiveReport(
      organization: plan.organization, generated: now, systems: rows, costs: costs, measuredRecoveryCost: measuredCost,
      answers: answers, auditChain: audit)
  }

  static func age(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.1f seconds", seconds) }
    if seconds < 90 { return String(format: "%.0f seconds", seconds) }
    if seconds < 5400 { return String(format: "%.0f minutes", seconds / 60) }
    if seconds < 172_800 { return String(format: "%.0f hours", seconds / 3600) }
    return String(format: "%.0f days", seconds / 86400)
  }
}
