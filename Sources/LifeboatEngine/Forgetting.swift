// The retention executor: the one way snapshots are forgotten. `lifeboat forget`, plan
// retention (SystemRunner), server retention (ServerMaintenance) decide with it and remove
// through it; approved deletions on a server use `SnapshotRemoval` directly, which applies the
// same refusal. Policy decisions come from LifeboatPolicy; marks then keep what is protected
// and every clean restore point before a suspicious snapshot, each with its reason.

public import Foundation
public import LifeboatCore
public import LifeboatPolicy
public import LifeboatRepository

public enum Forgetting {
  /// What `policy` decides for `snapshots`, with the marks applied: a protected snapshot and
  /// the clean point before a suspicious one are kept, whatever the rules say.
  public static func decide(
    _ policy: RetentionPolicy, snapshots: [(id: ID, snapshot: Snapshot)], marks: MarkBook,
    grouping: RetentionGrouping, timeZone: TimeZone, now: Date
  ) -> [RetentionDecision] {
    let decisions = Retention.apply(policy, to: snapshots, grouping: grouping, timeZone: timeZone)
    return applyMarks(decisions, snapshots: snapshots, marks: marks, grouping: grouping, now: now)
  }

  /// Marks override decisions made by the rules: what is protected stays.
  public static func applyMarks(
    _ decisions: [RetentionDecision], snapshots: [(id: ID, snapshot: Snapshot)], marks: MarkBook,
    grouping: RetentionGrouping, now: Date
  ) -> [RetentionDecision] {
    let clean = marks.cleanPoints(snapshots) { Retention.groupKey($0, grouping) }
    var out = decisions
    for i in out.indices {
      let id = out[i].id
      var kept: [String] = []
      let protection = marks.protection(of: id, now: now)
      if let p = protection {
        kept.append("protected (\(p.reason))" + (p.until.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""))
      }
      // The clean point, unless its protect mark already says so.
      if let suspicious = clean[id], !(protection?.reason.contains(suspicious.short) ?? false) {
        kept.append("the clean point before suspicious snapshot \(suspicious.short)")
      }
      if !kept.isEmpty {
        if !out[i].keep { out[i].reasons = [] }
        out[i].keep = true
        out[i].reasons += kept
      }
      if marks.suspicion(of: id) != nil { out[i].reasons.append("flagged suspicious") }
    }
    return out
  }

  /// Removes every snapshot a decision lets go, through the repository (which refuses a
  /// protected one). Returns the removed IDs.
  public static func execute(_ decisions: [RetentionDecision], in repository: Repository, marks: MarkBook, now: Date)
    async throws -> [ID]
  {
    try await repository.removeSnapshots(decisions.filter { !$0.keep }.map(\.id), marks: marks, now: now)
  }
}
