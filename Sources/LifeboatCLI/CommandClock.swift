// The clocks of the `lifeboat` command. Commands that act (backup, forget, protect, run, …)
// take the system's time, always. Commands that only report (status, report, runbook show)
// may be asked what they would say at another instant: `LIFEBOAT_NOW` (ISO 8601), which makes
// a report reproducible and lets tests fix the time. Nothing else in the CLI reads a clock.

import Foundation
import LifeboatCore

enum CommandClock {
  /// The time every acting command uses.
  static var system: any WallClock { SystemClock() }

  /// The time a reporting command judges at: `LIFEBOAT_NOW` when set, else the system's. A
  /// value that is not an ISO 8601 time is an error, never silently ignored.
  static func reporting() throws -> any WallClock {
    guard let text = ProcessInfo.processInfo.environment["LIFEBOAT_NOW"], !text.isEmpty else { return SystemClock() }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = f.date(from: text) ?? ISO8601DateFormatter().date(from: text) else {
      throw LifeboatError(
        .usage, "LIFEBOAT_NOW is '\(text)', not an ISO 8601 time",
        hint: "write it like 2027-01-15T08:00:00Z, or unset it to use the current time")
    }
    return FixedClock(date)
  }
}

extension GlobalOptions {
  var clock: any WallClock { CommandClock.system }
}

extension PlanOptions {
  var clock: any WallClock { CommandClock.system }
}
