import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatPolicy
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

/// Snapshot marks (docs/design.md §12) and the one retention executor: whatever the rules say,
/// a protected snapshot and the clean point before a suspicious one stay, every path says why,
/// and the lowest layer refuses to remove a protected snapshot.
@Suite struct MarksTests {
  static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
  static let lastOne = RetentionPolicy(keepLast: 1)
  static let byHost = RetentionGrouping(host: true, paths: false, tags: false)

  /// Five snapshots an hour apart (no data: marks and retention need only the snapshots).
  static func snapshots(_ repo: Repository, original: [ID]? = nil) async throws -> [ID] {
    var ids: [ID] = []
    for i in 0..<5 {
      var s = Snapshot(
        time: t0.addingTimeInterval(Double(i) * 3600), tree: ID(w0: UInt64(i + 1), w1: 0, w2: 0, w3: 0), paths: ["/srv"],
        hostname: "fs1", username: "root", programVersion: "test")
      s.original = original?[i]
      ids.append(try await repo.saveSnapshot(s))
    }
    return ids
  }

  static func mark(_ id: ID, _ kind: SnapshotMark.Kind, _ reason: String, hours: Double, until: Date? = nil) -> SnapshotMark {
    SnapshotMark(snapshot: id, kind: kind, reason: reason, until: until, time: t0.addingTimeInterval(hours * 3600), author: "test@fs1")
  }

  @Test func protectedSnapshotsOutliveTheRulesUntilReleasedOrEnded() async throws {
    let f = try await EngineFixture(seed: 1)
    defer { f.remove() }
    let repo = try await f.open()
    let s = try await Self.snapshots(repo)
    let now = Self.t0.addingTimeInterval(10 * 3600)
    try await repo.addMark(Self.mark(s[1], .protect, "legal hold", hours: 5))
    try await repo.addMark(Self.mark(s[2], .protect, "before the upgrade", hours: 5, until: now.addingTimeInterval(-60)))
    try await repo.addMark(Self.mark(s[3], .protect, "quarter end", hours: 5))
    try await repo.addMark(Self.mark(s[3], .release, "quarter closed", hours: 6))
    try await repo.addMark(Self.mark(s[0], .release, "nothing to lift", hours: 6))
    let marks = try await repo.loadMarks()
    #expect(marks.problems.isEmpty, "\(marks.problems)")
    #expect(marks.protection(of: s[1], now: now)?.reason == "legal hold")
    #expect(marks.protection(of: s[2], now: now) == nil, "its end date passed")
    #expect(marks.protection(of: s[3], now: now) == nil, "a later release supersedes it")

    let list = try await repo.listSnapshots().snapshots
    let decisions = Forgetting.decide(Self.lastOne, snapshots: list, marks: marks, grouping: Self.byHost, timeZone: .gmt, now: now)
    let kept = Set(decisions.filter(\.keep).map(\.id))
    #expect(kept == [s[1], s[4]])
    #expect(decisions.first { $0.id == s[1] }?.reasons.contains("protected (legal hold)") == true, "\(decisions)")
    let removed = try await Forgetting.execute(decisions, in: repo, marks: marks, now: now)
    #expect(Set(removed) == [s[0], s[2], s[3]])
    #expect(Set(try await repo.listSnapshots().snapshots.map(\.id)) == [s[1], s[4]])

    // The lowest layer refuses, removing nothing, whoever asks.
    await #expect(throws: LifeboatError.self) { try await repo.removeSnapshots([s[4], s[1]], marks: marks, now: now) }
    await #expect(throws: LifeboatError.self) { try await SnapshotRemoval.removeWithoutKey([s[4].hex, s[1].hex], from: f.backend) }
    #expect(Set(try await repo.listSnapshots().snapshots.map(\.id)) == [s[1], s[4]], "nothing was removed")
    #expect(try await SnapshotRemoval.removeWithoutKey([s[4].hex], from: f.backend) == [s[4].hex], "without a mark it goes")
  }

  /// Every protection stands on its own (review of #20): a later protect with an end in the
  /// past, or dated in the future, ends nothing; a release dated in the future lifts nothing;
  /// a release at the same instant as a protection lifts it, whatever the mark names.
  @Test func aLaterMarkCannotShortenAnEarlierProtection() async throws {
    let f = try await EngineFixture(seed: 4)
    defer { f.remove() }
    let repo = try await f.open()
    let s = try await Self.snapshots(repo)
    let now = Self.t0.addingTimeInterval(10 * 3600)
    try await repo.addMark(Self.mark(s[0], .protect, "legal hold", hours: 5))
    try await repo.addMark(Self.mark(s[0], .protect, "expired on purpose", hours: 9000, until: now.addingTimeInterval(-1)))
    try await repo.addMark(Self.mark(s[1], .protect, "quarter end", hours: 5))
    try await repo.addMark(Self.mark(s[1], .release, "from the future", hours: 9000))
    try await repo.addMark(Self.mark(s[2], .protect, "same instant", hours: 6))
    try await repo.addMark(Self.mark(s[2], .release, "lifted", hours: 6))
    try await repo.addMark(Self.mark(s[3], .protect, "short", hours: 5, until: now.addingTimeInterval(3600)))
    try await repo.addMark(Self.mark(s[3], .protect, "long", hours: 6))
    let marks = try await repo.loadMarks()
    #expect(marks.protection(of: s[0], now: now)?.reason == "legal hold")
    #expect(marks.protection(of: s[1], now: now)?.reason == "quarter end", "a release from the future lifts nothing")
    #expect(marks.futureReleases(now: now).map(\.reason) == ["from the future"])
    #expect(marks.protection(of: s[2], now: now) == nil)
    #expect(marks.protection(of: s[3], now: now)?.reason == "long", "the longest protection in force is shown")
    #expect(marks.protection(of: s[3], now: now.addingTimeInterval(7200))?.reason == "long")
  }

  @Test func theCleanPointBeforeASuspiciousSnapshotStaysAndMarksTravelWithCopies() async throws {
    let f = try await EngineFixture(seed: 2)
    defer { f.remove() }
    let repo = try await f.open()
    let s = try await Self.snapshots(repo)
    try await repo.addMark(Self.mark(s[3], .suspicious, "62% of the files changed; the new data does not compress", hours: 4))
    try await repo.addMark(Self.mark(s[4], .suspicious, "ransom note", hours: 5))
    let now = Self.t0.addingTimeInterval(6 * 3600)
    let marks = try await repo.loadMarks()
    #expect(marks.cleanPoint(before: s[4], in: try await repo.listSnapshots().snapshots)?.id == s[2])
    let decisions = Forgetting.decide(
      Self.lastOne, snapshots: try await repo.listSnapshots().snapshots, marks: marks, grouping: Self.byHost, timeZone: .gmt, now: now)
    let clean = try #require(decisions.first { $0.id == s[2] })
    #expect(clean.keep && clean.reasons.contains("the clean point before suspicious snapshot \(s[3].short)"), "\(clean.reasons)")
    #expect(decisions.first { $0.id == s[3] }?.keep == false, "a suspicious snapshot itself is not kept by the marks")

    // A copy: the second repository holds the same snapshots (by `original`); the marks
    // follow, once, and forget there keeps the same clean point.
    let other = LocalBackend(path: f.dir.sub("copy"))
    _ = try await Repository.initialize(backend: other, password: "other", derivation: .scrypt(logN: 10, r: 8, p: 1))
    let copy = try await Repository.open(backend: other, password: "other")
    let c = try await Self.snapshots(copy, original: s)
    try await repo.addMark(Self.mark(s[1], .protect, "audit sample", hours: 5))
    try await repo.addMark(Self.mark(s[0], .protect, "old hold", hours: 5))
    try await repo.addMark(Self.mark(s[0], .release, "hold ended", hours: 5.5))
    // Into a Lifeboat server (releases refused there), the release stays behind.
    #expect(try await SnapshotCopier.copyMarks(from: repo, into: copy, releases: false, now: now) == 4)
    #expect(try await copy.loadMarks().protection(of: c[0], now: now)?.reason == "old hold", "the copy stays protected")
    #expect(try await SnapshotCopier.copyMarks(from: repo, into: copy, now: now) == 1, "the release, where allowed")
    #expect(try await SnapshotCopier.copyMarks(from: repo, into: copy, now: now) == 0, "no mark is written twice")
    let copied = try await copy.loadMarks()
    #expect(copied.suspicion(of: c[3]) != nil && copied.protection(of: c[1], now: now)?.reason == "audit sample")
    let there = Forgetting.decide(
      Self.lastOne, snapshots: try await copy.listSnapshots().snapshots, marks: copied, grouping: Self.byHost, timeZone: .gmt, now: now)
    #expect(Set(there.filter(\.keep).map(\.id)) == [c[1], c[2], c[4]])
  }

  /// Bad marks: a damaged protect mark keeps its snapshot protected and is reported; a mark
  /// whose name and content disagree is reported; a newer version's mark is reported and
  /// ignored. None of them is fatal.
  @Test func damagedMismatchedAndNewerMarksAreReportedAndProtectionHolds() async throws {
    let f = try await EngineFixture(seed: 3)
    defer { f.remove() }
    let repo = try await f.open()
    let s = try await Self.snapshots(repo)
    let now = Self.t0.addingTimeInterval(6 * 3600)
    let damaged = try await repo.addMark(Self.mark(s[1], .protect, "legal hold", hours: 5))
    let path = f.dir.sub("repo/marks/\(damaged)")
    var bytes = try #require(FileManager.default.contents(atPath: path))
    bytes[bytes.count / 2] ^= 0x40
    try bytes.write(to: URL(fileURLWithPath: path))
    // A suspicious mark filed under a protect name.
    let keys = repo.keys
    let wrong = try MarkFormat.seal(Self.mark(s[2], .suspicious, "x", hours: 5), keys: keys)
    try await f.backend.save(Handle(.mark, MarkName(snapshot: s[2].hex, kind: "suspicious", hash: StorageHash.id(wrong).hex).name), data: wrong)
    let renamed = MarkName(snapshot: s[3].hex, kind: "protect", hash: StorageHash.id(wrong).hex).name
    try await f.backend.save(Handle(.mark, renamed), data: wrong)
    // A newer Lifeboat's kind.
    var newer = Self.mark(s[0], .protect, "held by a newer rule", hours: 5)
    newer.kind = "hold"
    newer.version = 2
    let newerBytes = try MarkFormat.seal(newer, keys: keys)
    try await f.backend.save(Handle(.mark, MarkName(snapshot: s[0].hex, kind: "hold", hash: StorageHash.id(newerBytes).hex).name), data: newerBytes)

    let marks = try await repo.loadMarks()
    #expect(marks.problems.count == 3, "\(marks.problems)")
    #expect(marks.problems.contains { $0.contains("content does not match its name") }, "the damaged one")
    #expect(marks.problems.contains { $0.contains("does not match its content") })
    #expect(marks.problems.contains { $0.contains("newer Lifeboat") })
    #expect(marks.protection(of: s[1], now: now) != nil, "a damaged protection still protects")
    #expect(marks.protection(of: s[3], now: now) != nil, "a protect name whose content disagrees still protects")
    #expect(marks.protection(of: s[0], now: now) == nil, "a kind this version does not know is ignored")
    #expect(marks.suspicion(of: s[2]) != nil, "the well-formed mark is used")
  }
}
