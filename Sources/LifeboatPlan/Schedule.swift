// Schedules and objectives as pure functions of (plan, history, now).

public import Foundation
import LifeboatPolicy

/// When a system is backed up.
///
/// Grammar: `every DURATION` (`every 1h`, `every 15m`, `every 1d`), `hourly`, `daily`,
/// `daily at HH:MM`, `weekly on DAY at HH:MM` (DAY: mon … sun). Times are local time.
public enum Schedule: Sendable, Equatable, CustomStringConvertible {
  case every(TimeInterval)
  case daily(hour: Int, minute: Int)
  /// `weekday` 1 = Sunday … 7 = Saturday (Calendar's numbering).
  case weekly(weekday: Int, hour: Int, minute: Int)

  static let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

  public init?(parsing text: String) {
    let words = text.lowercased().split(separator: " ").map(String.init)
    func time(_ s: String) -> (Int, Int)? {
      let p = s.split(separator: ":")
      guard p.count == 2, let h = Int(p[0]), let m = Int(p[1]), (0..<24).contains(h), (0..<60).contains(m)
      else { return nil }
      return (h, m)
    }
    switch words.count {
    case 1 where words[0] == "hourly": self = .every(3600)
    case 1 where words[0] == "daily": self = .daily(hour: 0, minute: 0)
    case 2 where words[0] == "every":
      guard let d = DurationText.parse(words[1]), d >= 1 else { return nil }
      self = .every(d)
    case 3 where words[0] == "daily" && words[1] == "at":
      guard let (h, m) = time(words[2]) else { return nil }
      self = .daily(hour: h, minute: m)
    case 5 where words[0] == "weekly" && words[1] == "on" && words[3] == "at":
      guard let d = Self.days.firstIndex(of: String(words[2].prefix(3))), let (h, m) = time(words[4]) else {
        return nil
      }
      self = .weekly(weekday: d + 1, hour: h, minute: m)
    default: return nil
    }
  }

  /// The longest gap between two runs.
  public var interval: TimeInterval {
    switch self {
    case .every(let d): d
    case .daily: 86400
    case .weekly: 7 * 86400
    }
  }

  public var description: String {
    switch self {
    case .every(let d): "every \(DurationText.format(d))"
    case .daily(let h, let m): String(format: "daily at %02d:%02d", h, m)
    case .weekly(let d, let h, let m): String(format: "weekly on %@ at %02d:%02d", Self.days[d - 1], h, m)
    }
  }

  /// The latest scheduled time at or before `now` (for `every`, `lastRun + interval`).
  func latestSlot(atOrBefore now: Date, calendar: Calendar) -> Date? {
    switch self {
    case .every: return nil
    case .daily(let h, let m):
      var c = calendar.dateComponents([.year, .month, .day], from: now)
      c.hour = h
      c.minute = m
      guard let today = calendar.date(from: c) else { return nil }
      return today <= now ? today : calendar.date(byAdding: .day, value: -1, to: today)
    case .weekly(let wd, let h, let m):
      var c = calendar.dateComponents([.year, .month, .day, .weekday], from: now)
      let back = ((c.weekday ?? wd) - wd + 7) % 7
      c.hour = h
      c.minute = m
      c.weekday = nil
      guard let day = calendar.date(from: c), let slot = calendar.date(byAdding: .day, value: -back, to: day)
      else { return nil }
      return slot <= now ? slot : calendar.date(byAdding: .day, value: -7, to: slot)
    }
  }

  /// When the next run is due given the start of the last run (nil: never ran → due now).
  public func nextDue(lastRun: Date?, now: Date, timeZone: TimeZone) -> Date {
    guard let lastRun else { return now }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    switch self {
    case .every(let d):
      return lastRun.addingTimeInterval(d)
    default:
      // The first slot after the last run: slots are `interval` apart, so it is the latest
      // slot at or before lastRun + interval (a daylight-saving shift falls back to that).
      guard let slot = latestSlot(atOrBefore: lastRun.addingTimeInterval(interval), calendar: calendar),
        slot > lastRun
      else { return lastRun.addingTimeInterval(interval) }
      return slot
    }
  }

  public func isDue(lastRun: Date?, now: Date, timeZone: TimeZone) -> Bool {
    nextDue(lastRun: lastRun, now: now, timeZone: timeZone) <= now
  }
}
