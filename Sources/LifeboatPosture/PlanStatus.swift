// The facts of each system, gathered from the catalog's history: what is due, the last good
// backup, copies, the last drill, suspicious backups. Pure functions of (plan, history, now);
// judging them (lights, reasons, findings) is `Posture`.

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
  /// The newest error still current: no later run of the same job (kind and repository)
  /// succeeded. Older errors are history, in the catalog's runs.
  public var lastError: String?
  public var lastErrorTime: Date?
  public var nextDue: Date
  public var running: Bool
  /// The last drill: verdict, when, measured recovery time against the RTO.
  public var lastDrillVerdict: DrillVerdict?
  public var lastDrillTime: Date?
  public var lastDrillRecoverySeconds: Double?
  public var rtoSeconds: TimeInterval
  public var nextDrill: Date?
  public var drillOverdue: Bool
  /// Snapshots flagged suspicious by the ransomware signals.
  public var suspiciousSnapshots: Int
  /// The newest suspicious backup's time (nil: none ever), and whether the newest good backup
  /// is itself suspicious.
  public var lastSuspicious: Date?
  public var newestSuspicious: Bool
  /// Copies whose latest backup or copy attempt failed (with its first error).
  public var copiesFailing: [String: String] = [:]
  /// Whether the latest backup attempt failed.
  public var lastBackupFailed = false
  /// Copies whose latest retention run (`forget`) failed, with its first error.
  public var retentionFailing: [String: String] = [:]
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
      // `.some`: a copy with no good backup stays in the map, as nil.
      copies[name] = .some(mine.first {
        $0.repository == name && ($0.kind == "backup" || $0.kind == "copy") && $0.succeeded
      }?.ended)
    }
    var failing: [String: String] = [:]
    for name in system.copies.value {
      if let last = mine.first(where: {
        $0.repository == name && ($0.kind == "backup" || $0.kind == "copy") && $0.outcome != .running
      }), !last.succeeded {
        failing[name] = last.errors.first ?? "\(last.kind) \(last.outcome.rawValue)"
      }
    }
    var retention: [String: String] = [:]
    for name in system.copies.value {
      if let last = mine.first(where: { $0.repository == name && $0.kind == "forget" && $0.outcome != .running }),
        !last.succeeded
      {
        retention[name] = last.errors.first ?? "forget \(last.outcome.rawValue)"
      }
    }
    // The current error: the newest failure that no later success of the same job (kind and
    // repository) has put behind it. An error before the last good run is history (`runs`).
    let failure = mine.first { f in
      (f.outcome == .failed || f.outcome == .interrupted)
        && !mine.contains { $0.kind == f.kind && $0.repository == f.repository && $0.succeeded && $0.started > f.started }
    }
    let drill = mine.first { $0.kind == "drill" && $0.outcome != .running }
    let next = nextDrill(system, history: history)
    let suspicious = mine.filter { $0.kind == "backup" && $0.suspicious }
    let lastGood = goodBackup?.ended ?? goodBackup?.started
    return SystemStatus(
      system: system.name, tier: system.tier.value.rawValue, rpoSeconds: system.rpo.value,
      rpoState: Posture.rpoState(
        rpo: system.rpo.value, age: lastGood.map { now.timeIntervalSince($0) },
        lastAttemptFailed: lastBackupAttempt.map { !$0.succeeded } ?? false),
      lastGoodBackup: lastGood, lastGoodSnapshot: goodBackup?.snapshot,
      ageSeconds: lastGood.map { now.timeIntervalSince($0) }, copies: copies,
      copiesMissing: system.copies.value.filter { copies[$0] == nil || copies[$0]! == nil },
      lastError: failure?.errors.first ?? (failure.map { "\($0.kind) \($0.outcome.rawValue)" }),
      lastErrorTime: failure?.started,
      nextDue: system.schedule.value.nextDue(
        lastRun: lastAttempt(system, history: history)?.started, now: now, timeZone: timeZone),
      running: mine.contains { $0.outcome == .running },
      lastDrillVerdict: drill.map { $0.verdict ?? ($0.outcome == .success ? .passed : .failed) },
      lastDrillTime: drill?.started, lastDrillRecoverySeconds: drill?.recoverySeconds,
      rtoSeconds: system.rto.value, nextDrill: next,
      drillOverdue: next.map { $0 < now.addingTimeInterval(-86400) } ?? false,
      suspiciousSnapshots: suspicious.count, lastSuspicious: suspicious.first?.started,
      newestSuspicious: goodBackup?.suspicious ?? false, copiesFailing: failing,
      lastBackupFailed: lastBackupAttempt.map { !$0.succeeded } ?? false, retentionFailing: retention)
  }
}
