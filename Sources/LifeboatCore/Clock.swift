public import Foundation

/// The only way Lifeboat code learns the time. Lock staleness, snapshot times, schedules and
/// RTO measurements depend on it, so tests can drive them with a manual clock.
public protocol WallClock: Sendable {
  func now() -> Date
}

/// The system clock.
public struct SystemClock: WallClock {
  public init() {}
  public func now() -> Date { Date() }
}

/// A clock stopped at one instant: `LIFEBOAT_NOW` (reproducible reports and tests).
public struct FixedClock: WallClock {
  public let instant: Date
  public init(_ instant: Date) { self.instant = instant }
  public func now() -> Date { instant }
}

/// Elapsed time on the monotonic clock, for durations (drill phases, a restore's time, a
/// lock wait's budget) — never for dates, which come from a `WallClock`. With `SystemClock`
/// this file is the only place that reads a clock (scripts/check-imports.sh enforces it).
public struct Stopwatch: Sendable {
  private let start: ContinuousClock.Instant

  public init() { start = ContinuousClock.now }

  /// Seconds since `init`.
  public var seconds: Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }
}

/// Deadlines for Dispatch timers and semaphores (watchdogs, progress redraws): `seconds` from now.
public enum Deadline {
  public static func after(_ seconds: Double) -> DispatchTime { .now() + seconds }
}
