// What to do about each finding: the recommended action for every rule of the posture table,
// with whom it falls to and by when. Decided here, beside the rules, and rendered by the
// executive report and anything else that lists actions.

public import Foundation

/// A recommended action: what to do, for which finding, who owns it, by when.
public struct RecommendedAction: Sendable, Codable, Equatable {
  public var action: String
  public var system: String?
  public var reason: Reason
  public var severity: Light
  /// The system's owner from the plan, or who falls back to it.
  public var owner: String
  /// Red findings within 7 days, amber within 30.
  public var due: Date
}

extension Reason {
  /// What closes a finding of this reason, in an imperative sentence a board can assign.
  public var action: String {
    switch self {
    case .withinRPO, .drillPassed, .copiesComplete, .noSignals: "nothing: on target"
    case .nearRPO: "check that the next scheduled backup runs on time"
    case .lastAttemptFailed: "fix the cause of the failed backup and run it again (`lifeboat run --system`)"
    case .rpoBreached, .noGoodBackup: "restore a working backup schedule and take a good backup now"
    case .drillOverdue: "run the overdue restore drill (`lifeboat drill --system`)"
    case .drillUntimed: "run a drill that records its recovery time"
    case .neverDrilled: "run a first restore drill to prove the RTO (`lifeboat drill --system`)"
    case .drillFailed: "fix what failed in the drill and drill again"
    case .drillOverRTO: "speed up the recovery (faster storage, a closer copy) or agree a longer RTO, then drill again"
    case .singleCopy: "add a second copy in another place (copies: in the plan)"
    case .copyBehind, .copyFailing: "fix the copy to the lagging repository and bring it up to date"
    case .retentionFailing: "fix retention so old snapshots are removed as the plan says"
    case .noOffsite: "add an offsite copy (S3 or a Lifeboat server)"
    case .noImmutable: "add an immutable copy (S3 Object Lock, `immutable_days` in the plan)"
    case .noOffsiteNorImmutable: "add an offsite, immutable copy (S3 with Object Lock)"
    case .noCopy: "add the system's repositories to the plan and back it up"
    case .recentSuspicious, .newestSuspicious:
      "investigate the suspicious backup; restore from the clean point if the data was attacked"
    case .noPlan, .planInvalid: "fix the protection plan (`lifeboat plan check`)"
    case .auditBroken: "find out why the audit log does not verify, and keep the evidence"
    }
  }
}

extension Posture {
  /// Days to act on a finding: red within a week, amber within a month.
  public static func daysToAct(_ severity: Light) -> Int { severity == .red ? 7 : 30 }

  /// One action per finding, red first, each with its owner (the system's, else `fallbackOwner`)
  /// and a due date.
  public static func actions(
    for findings: [Finding], owners: [String: String], fallbackOwner: String, now: Date
  ) -> [RecommendedAction] {
    findings.filter { $0.severity != .green }
      .sorted { ($0.severity.rank, $1.system ?? "") > ($1.severity.rank, $0.system ?? "") }
      .map { f in
        RecommendedAction(
          action: f.reason.action, system: f.system, reason: f.reason, severity: f.severity,
          owner: f.system.flatMap { owners[$0] } ?? fallbackOwner,
          due: now.addingTimeInterval(Double(daysToAct(f.severity)) * 86400))
      }
  }
}
