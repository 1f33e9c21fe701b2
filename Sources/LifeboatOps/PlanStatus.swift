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
      running: mine.contains { $0.outcome == .running })
  }
}
