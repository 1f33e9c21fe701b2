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
