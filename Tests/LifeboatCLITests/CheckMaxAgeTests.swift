import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatTesting
import Testing

/// `check --read-data-max-age` with the real binary (#23): the first run reads every pack,
/// the next only the due share, a new backup's packs are due at once, and an altered record
/// of verified packs is noticed and believed in nothing.
@Suite struct CheckMaxAgeTests {
  /// The packs a check read in full, from its summary line (0 when it read none).
  static func packsRead(_ output: String) -> Int? {
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("checked ") }) else { return nil }
    guard let r = line.range(of: #"\((\d+) read in full"#, options: .regularExpression) else { return 0 }
    return Int(line[r].dropFirst().prefix { $0.isNumber })
  }

  @Test func eachRunReadsWhatIsDue() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let cache = f.dir.sub("cache")
    let env = ["env", "LIFEBOAT_CACHE_DIR=\(cache)"]
    let src = f.dir.sub("src")
    var o = FixtureTree.Options()
    o.files = 200
    o.largeFiles = 4
    try FixtureTree.build(at: src, seed: 231, options: o)
    #expect(await f.run(["init", "--kdf", "pbkdf2", "--pack-size", "1"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    let packs = try FileManager.default.subpathsOfDirectory(atPath: f.repo + "/data").filter { $0.count > 64 }.count
    #expect(packs >= 8)

    let first = try await f.runProcess(["check", "--read-data-max-age", "30d"], prefix: env)
    #expect(first.code == 0, "\(first.output)")
    #expect(Self.packsRead(first.output) == packs, "\(first.output)")
    // Seconds later: one pack, the rounded-up share of the time since the last run.
    let second = try await f.runProcess(["check", "--read-data-max-age", "30d"], prefix: env)
    #expect(Self.packsRead(second.output) == 1, "\(second.output)")

    // A new backup's packs have never been verified: they are due now.
    var rng = SeededRandom(seed: 9)
    try FixtureTree.write(src + "/new.bin", rng.bytes(3 << 20))
    #expect(await f.run(["backup", src]) == 0)
    let now = try FileManager.default.subpathsOfDirectory(atPath: f.repo + "/data").filter { $0.count > 64 }.count
    let third = try await f.runProcess(["check", "--read-data-max-age", "30d"], prefix: env)
    let read = try #require(Self.packsRead(third.output))
    #expect(read >= now - packs && read <= now - packs + 1, "\(third.output)")

    // An altered record: noticed, and every pack is due.
    let ledgers = try FileManager.default.contentsOfDirectory(atPath: cache + "/verified")
    #expect(ledgers.count == 1)
    let path = cache + "/verified/" + ledgers[0]
    var bytes = try #require(FileManager.default.contents(atPath: path))
    bytes[bytes.count - 5] ^= 1
    try bytes.write(to: URL(fileURLWithPath: path))
    let fourth = try await f.runProcess(["check", "--read-data-max-age", "30d"], prefix: env)
    #expect(fourth.output.contains("does not open for this repository and key"), "\(fourth.output)")
    #expect(Self.packsRead(fourth.output) == now)

    // Without a cache directory there is nowhere to remember: a usage error, not a full read.
    let off = try await f.runProcess(["check", "--read-data-max-age", "30d"], prefix: ["env", "LIFEBOAT_CACHE_DIR=off"])
    #expect(off.code == ExitStatus.fatal && off.output.contains("needs a cache directory"), "\(off.output)")
    let bad = try await f.runProcess(["check", "--read-data-max-age", "soon"], prefix: env)
    #expect(bad.code != 0 && bad.output.contains("takes a duration"), "\(bad.output)")
  }
}
