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
