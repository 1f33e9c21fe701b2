// LifeboatPolicy — pure decisions: which snapshots to keep and why. Data plus pure functions of
// (data, now); no I/O, no clock. Every decision carries the reasons that reports, the audit log
// and `forget --dry-run` show.

public import Foundation
public import LifeboatCore

/// Retention rules, restic-compatible. Unset is not zero: a nil rule does not apply at all,
/// while `keepLast: 0` is an explicit "none".
public struct RetentionPolicy: Sendable, Equatable, Codable {
  public var keepLast: Int?
  public var keepHourly: Int?
  public var keepDaily: Int?
  public var keepWeekly: Int?
  public var keepMonthly: Int?
  public var keepYearly: Int?
  /// Keep every snapshot taken within this many seconds of the group's newest snapshot.
  /// Anchored at the newest snapshot, not at "now": when backups stop for a while, retention
  /// does not eat the last good copies.
  public var keepWithin: TimeInterval?
  /// Keep every snapshot that has any of these tags.
  public var keepTags: [String] = []

  public init(
    keepLast: Int? = nil, keepHourly: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil,
    keepMonthly: Int? = nil, keepYearly: Int? = nil, keepWithin: TimeInterval? = nil,
    keepTags: [String] = []
  ) {
    self.keepLast = keepLast
    self.keepHourly = keepHourly
    self.keepDaily = keepDaily
    self.keepWeekly = keepWeekly
    self.keepMonthly = keepMonthly
    self.keepYearly = keepYearly
    self.keepWithin = keepWithin
    self.keepTags = keepTags
  }

  /// True when no rule is set: applying such a policy would remove everything, so callers
  /// refuse it.
  public var isEmpty: Bool {
    keepLast == nil && keepHourly == nil && keepDaily == nil && keepWeekly == nil
      && keepMonthly == nil && keepYearly == nil && keepWithin == nil && keepTags.isEmpty
  }
}

/// How snapshots are grouped before rules apply (restic's `--group-by`).
public struct RetentionGrouping: Sendable, Equatable, Codable {
  public var host = true
  public var paths = true
  public var tags = false

  public init(host: Bool = true, paths: Bool = true, tags: Bool = false) {
    self.host = host
    self.paths = paths
    self.tags = tags
  }

  /// Parses `host,paths,tags` (any subset, or empty for one group).
  public init?(parsing text: String) {
    self.init(host: false, paths: false, tags: false)
    for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
      switch part {
      case "host": host = true
      case "paths", "path": paths = true
      case "tags", "tag": tags = true
      case "": break
      default: return nil
      }
    }
  }
}

/// One snapshot's fate and why.
public struct RetentionDecision: Sendable, Equatable, Codable {
  public var id: ID
  public var time: Date
  public var keep: Bool
  /// Every rule that keeps it ("last 1/3", "daily 2026-11-29", "within 7d", "tag monthly"),
  /// or why it goes ("matches no keep rule").
  public var reasons: [String]
  /// The group key, e.g. `host=web1 paths=/srv`.
  public var group: String
}

public enum Retention {
  /// The reason of a snapshot no rule keeps.
  public static let noRule = "matches no keep rule"

  /// Applies `policy` to `snapshots`; returns a decision for every snapshot, newest first
  /// within each group, groups in key order. Pure: the result depends only on the arguments.
  /// Periods (hour, day, ISO week, month, year) are wall-clock periods in `timeZone`; in the
  /// hour repeated when daylight saving time ends, both hours are one period.
  public static func apply(
    _ policy: RetentionPolicy, to snapshots: [(id: ID, snapshot: Snapshot)],
    grouping: RetentionGrouping = .init(), timeZone: TimeZone
  ) -> [RetentionDecision] {
    var groups = [String: [(id: ID, snapshot: Snapshot)]]()
    for s in snapshots { groups[groupKey(s.snapshot, grouping), default: []].append(s) }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    calendar.firstWeekday = 2  // ISO 8601 weeks: Monday,
    calendar.minimumDaysInFirstWeek = 4  // and the week holding the year's first Thursday.

    var out = [RetentionDecision]()
    for key in groups.keys.sorted() {
      let members = groups[key]!.sorted { ($0.snapshot.time, $0.id) > ($1.snapshot.time, $1.id) }
      var reasons = [[String]](repeating: [], count: members.count)
      if let n = policy.keepLast {
        for i in members.indices.prefix(max(0, n)) { reasons[i].append("last \(i + 1)/\(n)") }
      }
      let periods: [(Int?, String, (Date) -> String)] = [
        (policy.keepHourly, "hourly", { bucket(calendar, $0, [.year, .month, .day, .hour]) }),
        (policy.keepDaily, "daily", { bucket(calendar, $0, [.year, .month, .day]) }),
        (policy.keepWeekly, "weekly", { isoWeek(calendar, $0) }),
        (policy.keepMonthly, "monthly", { bucket(calendar, $0, [.year, .month]) }),
        (policy.keepYearly, "yearly", { bucket(calendar, $0, [.year]) }),
      ]
      for (limit, name, period) in periods {
        guard let limit, limit > 0 else { continue }
        var seen = Set<String>()
        for (i, m) in members.enumerated() {
          let p = period(m.snapshot.time)
          if seen.contains(p) { continue }
          seen.insert(p)
          reasons[i].append("\(name) \(p) (\(seen.count)/\(limit))")
          if seen.count == limit { break }
        }
      }
      if let within = policy.keepWithin, let newest = members.first?.snapshot.time {
        for (i, m) in members.enumerated() where newest.timeIntervalSince(m.snapshot.time) <= within {
          reasons[i].append("within \(DurationText.format(within)) of the newest")
        }
      }
      for (i, m) in members.enumerated() {
        for t in policy.keepTags where m.snapshot.tags.contains(t) { reasons[i].append("tag \(t)") }
      }
      for (i, m) in members.enumerated() {
        let keep = !reasons[i].isEmpty
        out.append(
          RetentionDecision(
            id: m.id, time: m.snapshot.time, keep: keep,
            reasons: keep ? reasons[i] : [Retention.noRule], group: key))
      }
    }
    return out
  }

  public static func groupKey(_ s: Snapshot, _ g: RetentionGrouping) -> String {
    var parts = [String]()
    // A plan's backups group by their system, not their host: two systems on one host never
    // share a group, and a system keeps its history when it moves to another host.
    if g.host { parts.append(s.planSystem.map { "system=\($0)" } ?? "host=\(s.hostname)") }
    if g.paths { parts.append("paths=\(s.paths.sorted().joined(separator: ","))") }
    if g.tags { parts.append("tags=\(s.tags.sorted().joined(separator: ","))") }
    return parts.isEmpty ? "all" : parts.joined(separator: " ")
  }

  static func bucket(_ c: Calendar, _ d: Date, _ units: Set<Calendar.Component>) -> String {
    let x = c.dateComponents(units, from: d)
    var s = String(format: "%04d", x.year ?? 0)
    if units.contains(.month) { s += String(format: "-%02d", x.month ?? 0) }
    if units.contains(.day) { s += String(format: "-%02d", x.day ?? 0) }
    if units.contains(.hour) { s += String(format: " %02dh", x.hour ?? 0) }
    return s
  }

  static func isoWeek(_ c: Calendar, _ d: Date) -> String {
    let x = c.dateComponents([.yearForWeekOfYear, .weekOfYear], from: d)
    return String(format: "%04d-W%02d", x.yearForWeekOfYear ?? 0, x.weekOfYear ?? 0)
  }
}

/// Durations as people write them: `90m`, `36h`, `7d`, `2w`, `1y2m` (y = 365 d, m after y or
/// alone = 30 d for months is ambiguous, so months are written `mo`).
public enum DurationText {
  public static let units: [(String, TimeInterval)] = [
    ("y", 365 * 86400), ("mo", 30 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600),
    ("m", 60), ("s", 1),
  ]

  /// Parses `1y6mo`, `7d`, `36h`, `90m`; nil for anything else.
  public static func parse(_ text: String) -> TimeInterval? {
    var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
    guard !rest.isEmpty else { return nil }
    var total: TimeInterval = 0
    while !rest.isEmpty {
      let digits = rest.prefix { $0.isASCII && $0.isNumber }
      guard !digits.isEmpty, let n = Double(digits) else { return nil }
      rest = rest.dropFirst(digits.count)
      guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
      rest = rest.dropFirst(unit.0.count)
      total += n * unit.1
    }
    return total
  }

  public static func format(_ seconds: TimeInterval) -> String {
    var left = Int(seconds.rounded())
    guard left > 0 else { return "0s" }
    var out = ""
    for (name, size) in units where left >= Int(size) {
      out += "\(left / Int(size))\(name)"
      left %= Int(size)
    }
    return out
  }
}
