// What is due and how each system stands: pure functions of (plan, catalog history, now).

public import Foundation
public import LifeboatCatalog
public import LifeboatPlan

public struct SystemStatus: Sendable, Codable {
  public var system: String
  public var tier: String
  public var rpoSeconds: TimeInterval
  public var rpoState: RPOState
  public var lastGoodBackup: Date?
  public var lastGoodSnapshot: String?
  public var ageSeconds: TimeInterval?
  /// Per repository in `copies`: the time of the last successful backup or copy into it.
  public var copies: [String: Date?]
  public var copiesMissing: [String]
  public var lastError: String?
  public var lastErrorTime: Date?
  public var nextDue: Date
  public var running: Bool
  /// The last drill: verdict, when, measured recovery time against the RTO.
  public var lastDrillVerdict: String?
  public var lastDrillTime: Date?
  public var lastDrillRecoverySeconds: Double?
  public var rtoSeconds: TimeInterval
  public var nextDrill: Date?
  public var drillOverdue: Bool
  /// Snapshots flagged suspicious by the ransomware signals.
  public var suspiciousSnapshots: Int
}

public enum PlanStatus {
  /// The latest start of a backup attempt (any outcome) of a system.
  public static func lastAttempt(_ system: ProtectedSystem, history: [JobRecord]) -> JobRecord? {
    history.filter { $0.system == system.name && $0.kind == "backup" }.max { $0.started < $1.started }
  }

  /// Systems whose schedule says they are due at `now`, given the history.
  public static func due(_ plan: Plan, history: [JobRecord], now: Date, timeZone: TimeZone = .current)
    -> [ProtectedSystem]
  {
    plan.systems.filter {
      $0.schedule.value.isDue(lastRun: lastAttempt($0, history: history)?.started, now: now, timeZone: timeZone)
    }
  }

  /// When the next drill is due: `drill.every` after the last one, or now when the system
  /// has a good backup and was never drilled; nil without any good backup.
  public static func nextDrill(_ system: ProtectedSystem, history: [JobRecord]) -> Date? {
    let mine = history.filter { $0.system == system.name }
    guard mine.contains(where: { $0.kind == "backup" && $0.succeeded }) else { return nil }
    guard let last = mine.filter({ $0.kind == "drill" }).max(by: { $0.started < $1.started }) else {
      return Date(timeIntervalSince1970: 0)
    }
    return last.started.addingTimeInterval(system.drill.value.every)
  }

  public static func status(
    _ system: ProtectedSystem, history: [JobRecord], now: Date, timeZone: TimeZone = .current
  ) -> SystemStatus {
    let mine = history.filter { $0.system == system.name }.sorted { $0.started > $1.started }
    let goodBackup = mine.first { $0.kind == "backup" && $0.succeeded }
    let lastBackupAttempt = mine.first { $0.kind == "backup" && $0.outcome != .running }
    var copies: [String: Date?] = [:]
    for name in system.copies.value {
      copies[name] = mine.first {
        $0.repository == name && ($0.kind == "backup" || $0.kind == "copy") && $0.succeeded
      }?.ended
    }
    let failure = mine.first { $0.outcome == .failed || $0.outcome == .interrupted }
    let drill = mine.first { $0.kind == "drill" && $0.outcome != .running }
    let drillReport = drill?.details.flatMap { try? JSONDecoder.drill.decode(DrillReport.self, from: Data($0.utf8)) }
    let next = nextDrill(system, history: history)
    let suspicious = mine.filter { $0.kind == "backup" }.compactMap { j in
      j.details.flatMap { try? JSONDecoder.drill.decode(BackupSignals.self, from: Data($0.utf8)) }
    }.filter(\.suspicious).count
    let lastGood = goodBackup?.ended ?? goodBackup?.started
    return SystemStatus(
      system: system.name, tier: system.tier.value.rawValue, rpoSeconds: system.rpo.value,
      rpoState: Objectives.rpoState(
        rpo: system.rpo.value, lastGoodBackup: lastGood,
        lastAttemptFailed: lastBackupAttempt.map { !$0.succeeded } ?? false, now: now),
      lastGoodBackup: lastGood, lastGoodSnapshot: goodBackup?.snapshot,
      ageSeconds: lastGood.map { now.timeIntervalSince($0) }, copies: copies,
      copiesMissing: system.copies.value.filter { copies[$0] == nil || copies[$0]! == nil },
      lastError: failure?.errors.first ?? (failure.map { "\($0.kind) \($0.outcome.rawValue)" }),
      lastErrorTime: failure?.started,
      nextDue: system.schedule.value.nextDue(
        lastRun: lastAttempt(system, history: history)?.started, now: now, timeZone: timeZone),
      running: mine.contains { $0.outcome == .running },
      lastDrillVerdict: drillReport?.verdict.rawValue ?? drill.map { $0.outcome == .failed ? "failed" : "passed" },
      lastDrillTime: drill?.started, lastDrillRecoverySeconds: drillReport?.recoverySeconds,
      rtoSeconds: system.rto.value, nextDrill: next,
      drillOverdue: next.map { $0 < now.addingTimeInterval(-86400) } ?? false,
      suspiciousSnapshots: suspicious)
  }
}
