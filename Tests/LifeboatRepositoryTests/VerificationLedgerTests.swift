import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatTesting
import Testing

/// `check --read-data-max-age` (#23): which packs are due, and the sealed record of when each
/// was last verified.
@Suite struct VerificationLedgerTests {
  static let day: TimeInterval = 86_400

  static func packs(_ n: Int, seed: UInt64) -> [ID] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in ID(bytes: rng.bytes(32)) }
  }

  /// A check every day for 120 days with a 30-day age, packs added as backups go on: every
  /// pack is verified within 30 days at every moment, each run reads about a thirtieth once
  /// the first full pass is done, and new packs are read at the next run.
  @Test func dailyChecksReadAnEvenShareAndNoPackGoesUnverifiedLongerThanTheAge() {
    var packs = Self.packs(3_000, seed: 1)
    var ledger = VerificationLedger()
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    var reads = [Int]()
    for dayNumber in 0..<120 {
      let now = start.addingTimeInterval(Double(dayNumber) * Self.day)
      if dayNumber % 10 == 5 { packs += Self.packs(30, seed: UInt64(100 + dayNumber)) }
      let due = ledger.due(packs: packs, maxAge: 30 * Self.day, now: now)
      #expect(Set(due).count == due.count)
      ledger.record(clean: due, damaged: [], existing: Set(packs), now: now)
      reads.append(due.count)
      for p in packs {
        let verified = ledger.verified[p]
        #expect(verified != nil && now.timeIntervalSince(verified!) < 30 * Self.day)
      }
    }
    #expect(reads[0] == 3_000, "the first run reads everything")
    // Afterwards a day's share: about 1/30 of the packs, plus new packs (30 every ten days),
    // never a burst: at most twice the share on any day, and about the share on average.
    let share = Double(packs.count) / 30
    for (dayNumber, n) in reads.enumerated().dropFirst() {
      #expect(n >= 90 && Double(n) <= 2 * share, "day \(dayNumber): \(n)")
    }
    let mean = Double(reads.dropFirst(31).reduce(0, +)) / Double(reads.count - 31)
    #expect(mean >= 0.95 * share && mean <= 1.1 * share + 3, "mean \(mean), share \(share)")
  }

  @Test func damagedPacksAreDueAgainAndPacksGoneAreForgotten() {
    let packs = Self.packs(10, seed: 2)
    var ledger = VerificationLedger()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    ledger.record(clean: packs.dropLast(), damaged: [packs[9]], existing: Set(packs), now: now)
    // An hour later nothing is overdue; the damaged pack is, and so is the hour's share (1).
    let later = now.addingTimeInterval(3_600)
    let due = ledger.due(packs: packs, maxAge: 30 * Self.day, now: later)
    #expect(due.first == packs[9])
    #expect(due.count == 1)
    ledger.record(clean: [], damaged: [], existing: Set(packs.prefix(5)), now: later)
    #expect(ledger.verified.count == 5)
  }

  @Test func theRecordOpensOnlyForItsRepositoryAndKeyAndUnaltered() throws {
    let dir = TemporaryDirectory("lifeboat-ledger")
    defer { dir.remove() }
    let keys = try RepositoryKeys.generate()
    let path = VerificationLedger.path(cacheDirectory: dir.path, repositoryID: "repo-a")
    var ledger = VerificationLedger()
    let packs = Self.packs(50, seed: 3)
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    ledger.record(clean: packs, damaged: [], existing: Set(packs), now: now)
    try ledger.save(path: path, keys: keys, repositoryID: "repo-a")
    var st = stat()
    #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)

    let back = VerificationLedger.load(path: path, keys: keys, repositoryID: "repo-a")
    #expect(back.problem == nil)
    #expect(back.ledger == ledger)

    // Another key, another repository's ID, a flipped bit, a cut: nothing is believed.
    let other = VerificationLedger.load(path: path, keys: try RepositoryKeys.generate(), repositoryID: "repo-a")
    #expect(other.ledger.verified.isEmpty && other.problem != nil)
    let elsewhere = VerificationLedger.load(path: path, keys: keys, repositoryID: "repo-b")
    #expect(elsewhere.ledger.verified.isEmpty && elsewhere.problem?.contains("another repository") == true)
    var bytes = try #require(FileManager.default.contents(atPath: path))
    bytes[bytes.count / 2] ^= 0x10
    try bytes.write(to: URL(fileURLWithPath: path))
    #expect(VerificationLedger.load(path: path, keys: keys, repositoryID: "repo-a").ledger.verified.isEmpty)
    try Data(bytes.prefix(40)).write(to: URL(fileURLWithPath: path))
    let cut = VerificationLedger.load(path: path, keys: keys, repositoryID: "repo-a")
    #expect(cut.ledger.verified.isEmpty && cut.problem != nil)
    // With nothing believed, every pack is due.
    #expect(cut.ledger.due(packs: packs, maxAge: 30 * Self.day, now: now).count == 50)
  }
}
