import Foundation
import LifeboatCore
import LifeboatPolicy
import LifeboatTesting
import Testing

@Suite struct RetentionTests {
  let utc = TimeZone(identifier: "UTC")!
  let newYork = TimeZone(identifier: "America/New_York")!

  /// Snapshots at the given times (seconds since the epoch), one host and path.
  func snaps(_ times: [TimeInterval], host: String = "h", paths: [String] = ["/srv"], tags: [[String]]? = nil)
    -> [(id: ID, snapshot: Snapshot)]
  {
    times.enumerated().map { i, t in
      (
        ID(w0: UInt64(i + 1), w1: UInt64(t), w2: 0, w3: 0),
        Snapshot(
          time: Date(timeIntervalSince1970: t), tree: .zero, paths: paths, hostname: host,
          username: "u", tags: tags?[i] ?? [], programVersion: "t")
      )
    }
  }

  func kept(_ d: [RetentionDecision]) -> [TimeInterval] {
    d.filter { $0.keep }.map { $0.time.timeIntervalSince1970 }.sorted()
  }

  @Test func keepLastKeepsTheNewestAndSaysWhy() {
    let s = snaps([100, 200, 300, 400])
    let d = Retention.apply(RetentionPolicy(keepLast: 2), to: s, timeZone: utc)
    #expect(kept(d) == [300, 400])
    #expect(d.first { $0.time.timeIntervalSince1970 == 400 }?.reasons == ["last 1/2"])
    #expect(d.first { $0.time.timeIntervalSince1970 == 100 }?.reasons == ["matches no keep rule"])
    #expect(d.count == 4, "every snapshot gets a decision")
  }

  @Test func dailyKeepsTheNewestOfEachDay() {
    let day: TimeInterval = 86400
    let base: TimeInterval = 1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: day)
    // Three a day for five days.
    var times = [TimeInterval]()
    for d in 0..<5 {
      let start: TimeInterval = base + Double(d) * day
      times += [start + 3600, start + 7200, start + 80000]
    }
    let d = Retention.apply(RetentionPolicy(keepDaily: 3), to: snaps(times), timeZone: utc)
    #expect(kept(d) == [base + 2 * day + 80000, base + 3 * day + 80000, base + 4 * day + 80000])
    #expect(d.filter { $0.keep }.allSatisfy { $0.reasons.count == 1 && $0.reasons[0].hasPrefix("daily ") })
  }

  @Test func rulesCombineAndEveryReasonIsListed() {
    let day: TimeInterval = 86400
    let times = (0..<40).map { 1_800_000_000 + Double($0) * day }
    var tags = [[String]](repeating: [], count: 40)
    tags[0] = ["keep-forever"]
    let p = RetentionPolicy(keepLast: 1, keepDaily: 2, keepWeekly: 2, keepTags: ["keep-forever"])
    let d = Retention.apply(p, to: snaps(times, tags: tags), timeZone: utc)
    let newest = d.first { $0.time.timeIntervalSince1970 == times.last! }!
    #expect(newest.reasons.count == 3)  // last, daily, weekly
    #expect(newest.reasons.contains("last 1/1"))
    #expect(d.first { $0.time.timeIntervalSince1970 == times[0] }?.reasons == ["tag keep-forever"])
    #expect(kept(d).count == 1 + 1 + 1 + 1, "newest (last+daily+weekly), second daily, one more weekly, the tagged one")
  }

  @Test func keepWithinIsAnchoredAtTheNewestSnapshotNotNow() {
    // Backups stopped a year ago: keep-within 7d still keeps the last week of them.
    let day: TimeInterval = 86400
    let times = (0..<30).map { 1_700_000_000 + Double($0) * day }
    let d = Retention.apply(RetentionPolicy(keepWithin: 7 * day), to: snaps(times), timeZone: utc)
    #expect(kept(d).count == 8)
    #expect(d.filter { $0.keep }.allSatisfy { $0.reasons == ["within 1w of the newest"] })
  }

  @Test func groupsByHostAndPathsUnlessToldOtherwise() {
    let a = snaps([100, 200], host: "a")
    let b = snaps([150, 250], host: "b").map { (ID(w0: 99, w1: UInt64($0.snapshot.time.timeIntervalSince1970), w2: 1, w3: 1), $0.snapshot) }
    let d = Retention.apply(RetentionPolicy(keepLast: 1), to: a + b, timeZone: utc)
    #expect(kept(d) == [200, 250])
    let one = Retention.apply(RetentionPolicy(keepLast: 1), to: a + b, grouping: RetentionGrouping(host: false, paths: false), timeZone: utc)
    #expect(kept(one) == [250])
    #expect(RetentionGrouping(parsing: "host,tags") == RetentionGrouping(host: true, paths: false, tags: true))
    #expect(RetentionGrouping(parsing: "bogus") == nil)
  }

  /// 2026-11-01 01:30 happens twice in New York (EDT, then EST): one hourly period.
  @Test func theRepeatedHourAtTheEndOfDaylightSavingTimeIsOnePeriod() {
    let firstOneThirty: TimeInterval = 1_793_511_000  // 2026-11-01 05:30 UTC = 01:30 EDT
    let secondOneThirty = firstOneThirty + 3600       // 06:30 UTC = 01:30 EST
    let d = Retention.apply(RetentionPolicy(keepHourly: 10), to: snaps([firstOneThirty, secondOneThirty]), timeZone: newYork)
    #expect(kept(d) == [secondOneThirty])
    #expect(d.first { $0.keep }?.reasons.first?.hasPrefix("hourly 2026-11-01 01h") == true)
    // In UTC they are two different hours.
    #expect(kept(Retention.apply(RetentionPolicy(keepHourly: 10), to: snaps([firstOneThirty, secondOneThirty]), timeZone: utc)).count == 2)
  }

  /// 2026-03-08 has 23 hours in New York; daily periods still follow the local calendar.
  @Test func theShortDayOfSpringForwardIsOneDay() {
    let midnightEST: TimeInterval = 1_772_946_000  // 2026-03-08 00:00 EST = 05:00 UTC
    let lateThatDay = midnightEST + 22.5 * 3600     // 23:30 EDT the same local day
    let nextDay = midnightEST + 23.5 * 3600         // 00:30 EDT on 2026-03-09
    let d = Retention.apply(RetentionPolicy(keepDaily: 5), to: snaps([midnightEST + 60, lateThatDay, nextDay]), timeZone: newYork)
    #expect(kept(d) == [lateThatDay, nextDay])
  }

  @Test func isoWeeksStartOnMonday() {
    // 2026-01-04 is a Sunday (ISO week 2026-W01), 2026-01-05 a Monday (W02).
    let sunday: TimeInterval = 1_767_528_000   // 2026-01-04 12:00 UTC
    let monday = sunday + 86400
    let d = Retention.apply(RetentionPolicy(keepWeekly: 5), to: snaps([sunday, monday]), timeZone: utc)
    #expect(kept(d) == [sunday, monday])
    #expect(d.contains { $0.reasons.first == "weekly 2026-W01 (2/5)" })
  }

  @Test func anEmptyPolicyIsRecognised() {
    #expect(RetentionPolicy().isEmpty)
    #expect(!RetentionPolicy(keepLast: 0).isEmpty)
  }

  @Test func durations() {
    #expect(DurationText.parse("7d") == TimeInterval(7 * 86400))
    #expect(DurationText.parse("1y6mo") == TimeInterval(365 * 86400 + 180 * 86400))
    #expect(DurationText.parse("36h") == TimeInterval(36 * 3600))
    #expect(DurationText.parse("90m") == TimeInterval(5400))
    #expect(DurationText.parse("7") == nil)
    #expect(DurationText.parse("d") == nil)
    #expect(DurationText.parse("7x") == nil)
    #expect(DurationText.format(7 * 86400) == "1w")
    #expect(DurationText.format(90 * 60) == "1h30m")
  }

  /// A property: whatever the rules, every snapshot gets exactly one decision, kept ones have
  /// reasons, and keep-last N keeps at least min(N, group size) per group.
  @Test func decisionsAreCompleteForRandomHistories() {
    var rng = SeededRandom(seed: 5)
    for _ in 0..<200 {
      let n = Int(rng.next() % 60)
      let times = (0..<n).map { _ in 1_700_000_000 + Double(rng.next() % 100_000_000) }
      let p = RetentionPolicy(
        keepLast: Int(rng.next() % 4), keepHourly: Int(rng.next() % 5), keepDaily: Int(rng.next() % 5),
        keepWeekly: Int(rng.next() % 5), keepMonthly: Int(rng.next() % 5), keepYearly: Int(rng.next() % 3))
      let d = Retention.apply(p, to: snaps(times), timeZone: newYork)
      #expect(d.count == n)
      #expect(Set(d.map(\.id)).count == n)
      #expect(d.allSatisfy { !$0.reasons.isEmpty })
      #expect(d.filter { $0.keep }.count >= min(p.keepLast ?? 0, n))
    }
  }
}
