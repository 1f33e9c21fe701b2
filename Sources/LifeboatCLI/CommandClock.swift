// The one clock of the `lifeboat` command: the system's, or the instant in `LIFEBOAT_NOW`
// (ISO 8601), which makes a report or a status reproducible and lets tests fix the time.
// Every command takes its time from here; nothing else in the CLI reads the wall clock.

import Foundation
import LifeboatCore

enum CommandClock {
  static var current: any WallClock {
    guard let text = ProcessInfo.processInfo.environment["LIFEBOAT_NOW"], !text.isEmpty else { return SystemClock() }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = f.date(from: text) ?? ISO8601DateFormatter().date(from: text) else { return SystemClock() }
    return FixedClock(date)
  }
}

extension GlobalOptions {
  var clock: any WallClock { CommandClock.current }
}

extension PlanOptions {
  var clock: any WallClock { CommandClock.current }
}
