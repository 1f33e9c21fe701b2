// The executive report: one page a school board reads. Per system a traffic light for RPO,
// RTO and copies; the downtime cost of 24 h, 72 h and a week set against the measured recovery
// time; the three leadership questions answered in plain words with dates.

public import Foundation
public import LifeboatCatalog
public import LifeboatPlan
import LifeboatPolicy
public import LifeboatPosture

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
    public var integrity: Light
    public var integrityText: String
    /// The worst of the four.
    public var light: Light
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
  /// What to do next: one action per finding, with its owner and a due date.
  public var actions: [RecommendedAction]
  public var auditChain: AuditVerification
  public var preparedBy: String?
  public var reviewedBy: String?

  /// Renders the posture (`Posture.judge`): the lights, reasons and findings are decided
  /// there, never here.
  public static func make(plan: Plan, history: [JobRecord], audit: AuditVerification, now: Date) -> ExecutiveReport {
    let posture = Posture.judge(plan: plan, history: history, auditIntact: audit.isIntact, now: now)
    let rows = posture.systems.map { p in
      let s = plan.system(named: p.status.system)!
      return SystemRow(
        name: s.name, tier: s.tier.value.rawValue, owner: s.owner, rpo: p.backups.light, rpoText: p.backups.summary,
        rto: p.recovery.light, rtoText: p.recovery.summary, copies: p.copies.light, copiesText: p.copies.summary,
        integrity: p.integrity.light, integrityText: p.integrity.summary, light: p.light, findings: p.findings.map(\.message), rtoSeconds: s.rto.value,
        measuredRecoverySeconds: p.status.lastDrillRecoverySeconds, downtimeCostPerHour: s.downtimeCostPerHour.value)
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
    var answers: [Answer] = []
    let criticalRows = rows.filter { $0.tier == "critical" }
    let q1: String
    if criticalRows.isEmpty {
      q1 = "The plan marks no system as critical."
    } else {
      let parts = criticalRows.map { r -> String in
        let objective = DurationText.format(r.rtoSeconds)
        guard let m = r.measuredRecoverySeconds,
          let drill = history.filter({ $0.system == r.name && $0.kind == "drill" }).max(by: { $0.started < $1.started })
        else { return "\(r.name) must be back within \(objective); this has never been tested." }
        return "\(r.name) must be back within \(objective); a restore test on \(HTML.date(drill.started)) "
          + "recovered it in \(Self.age(m))" + (r.rto == .green ? ", within the objective." : ", which needs attention.")
      }
      q1 = parts.joined(separator: " ")
    }
    answers.append(
      Answer(
        question: "What is our recovery time objective for the most critical systems, and has anyone verified that we can meet it?",
        answer: q1, light: posture.criticalRecovery))
    func money(_ v: Double) -> String { HTML.money(v) }
    answers.append(
      Answer(
        question: "What would it cost if our data were inaccessible for 24 hours, 72 hours or a week?",
        answer: "At \(money(orgRate)) per hour of downtime: \(money(orgRate * 24)) for a day, \(money(orgRate * 72)) for three days, "
          + "\(money(orgRate * 168)) for a week."
          + (measuredCost.isEmpty
            ? " No critical system has a measured recovery time yet."
            : Self.isNegligible(measuredCost)
              ? " The measured recoveries were quick enough that their downtime cost is negligible (under $100 each); "
                + "the exposure is an outage that outlasts them."
              : " The measured recoveries cost " + measuredCost.sorted { $0.key < $1.key }.map { "\(money($0.value)) for \($0.key)" }.joined(separator: ", ") + "."),
        light: .amber))
    let allFindings = posture.findings.map(\.message)
    let defensible = posture.defensible == .green
    answers.append(
      Answer(
        question: "Could we defend our backup practice in a regulatory review, a cyber-insurance audit or to a major client?",
        answer: defensible
          ? "Yes, with evidence: every system is within its backup objective, every critical system passed a recent restore test, copies are offsite and immutable, and the audit log of \(audit.events) events verifies intact (head \(audit.head.prefix(12)))."
          : "Not yet: \(allFindings.count) open findings"
            + (audit.isIntact ? "" : " and the audit log does not verify") + ". "
            + (allFindings.first.map { "First: \($0)." } ?? ""),
        light: posture.defensible))
    var owners: [String: String] = [:]
    for s in plan.systems { if let o = s.owner { owners[s.name] = o } }
    let actions = Posture.actions(
      for: posture.findings, owners: owners, fallbackOwner: "the IT lead (no owner named in the plan)", now: now)
    return ExecutiveReport(
      organization: plan.organization, generated: now, systems: rows, costs: costs, measuredRecoveryCost: measuredCost,
      answers: answers, actions: actions, auditChain: audit)
  }

  static func age(_ seconds: Double) -> String { Wording.age(seconds) }

  /// Measured recoveries so quick their downtime cost is not worth a figure (under $100 each).
  static func isNegligible(_ costs: [String: Double]) -> Bool { costs.values.allSatisfy { $0 < 100 } }
}
