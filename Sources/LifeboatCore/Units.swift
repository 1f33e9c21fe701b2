public import Foundation

/// One convention for sizes everywhere Lifeboat shows one — the CLI, the dashboard, every
/// report: IEC binary units (KiB = 1024 B, MiB, GiB, TiB, PiB), three significant digits.
public enum ByteCount {
  public static func format(_ n: UInt64) -> String { format(Double(n)) }
  public static func format(_ n: Int64) -> String { format(Double(max(0, n))) }
  public static func format(_ n: Int) -> String { format(Double(max(0, n))) }

  public static func format(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var v = max(0, bytes)
    var u = 0
    while v >= 1024 && u < units.count - 1 {
      v /= 1024
      u += 1
    }
    if u == 0 { return "\(Int(v)) B" }
    // Three significant digits: 1.46 GiB, 14.6 GiB, 146 GiB.
    let decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0
    return String(format: "%.\(decimals)f %@", v, units[u])
  }
}

/// The one way reports and documents write a date: "January 10, 2027" (UTC, English).
public enum DateText {
  public static func day(_ d: Date) -> String { dayFormatter.string(from: d) }

  /// A moment: "January 10, 2027, 14:05 UTC".
  public static func moment(_ d: Date) -> String { day(d) + ", " + timeFormatter.string(from: d) + " UTC" }

  nonisolated(unsafe) static let dayFormatter: DateFormatter = {
    let f = DateFormatter()
    f.dateStyle = .long
    f.timeStyle = .none
    f.locale = Locale(identifier: "en_US")
    f.timeZone = TimeZone(identifier: "UTC")
    return f
  }()

  nonisolated(unsafe) static let timeFormatter: DateFormatter = {
    let f = DateFormatter()
    f.dateFormat = "HH:mm"
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    return f
  }()
}

/// "1 file", "2 files", "0 files": counts in sentences.
public enum Plural {
  public static func count(_ n: Int, _ one: String, _ many: String? = nil) -> String {
    "\(n) \(n == 1 ? one : many ?? one + "s")"
  }
}
