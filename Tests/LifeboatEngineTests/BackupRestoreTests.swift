import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

@Suite struct BackupRestoreTests {
  @Test(arguments: [UInt64(1), 2, 3])
  func restoredTreeIsByteAndMetadataIdentical(seed: UInt64) async throws {
    let f = try await EngineFixture(seed: seed)
    defer { f.remove() }
    let r = try await Self.backUpAndRestoreVerified(f)
    #expect(r.verifiedFiles > 50)
    let report = try await f.check()
    #expect(report.isClean, "\(report.errors)")
    #expect(report.packsRead == report.packs)
  }

  @Test func aTreeLargerThanTheScanQueueBacksUpAndRestoresWhole() async throws {
    // More files than the scan may queue ahead of the readers (JobQueue.ahead = 4096), so the
    // scan waits for room and the queue drops taken jobs in batches while indices stay stable.
    var options = FixtureTree.Options()
    options.files = 6_000
    options.directories = 40
    options.maxFileSize = 3_000
    options.largeFiles = 2
    let f = try await EngineFixture(seed: 21, options: options)
    defer { f.remove() }
    let r = try await Self.backUpAndRestoreVerified(f)
    #expect(r.verifiedFiles >= 6_000)
  }

  /// Backs the fixture's source up, restores it with --verify into `restore`, and expects a
  /// clean backup, a complete restore and a tree identical to the source.
  static func backUpAndRestoreVerified(_ f: EngineFixture) async throws -> RestoreResult {
    let b = try await f.backup()
    #expect(b.errors.isEmpty, "\(b.errors)")
    let target = f.dir.sub("restore")
    let r = try await f.restore(b.snapshotID, to: target) { $0.verify = true }
    #expect(r.isComplete, "\(r.errors) \(r.damagedFiles) \(r.verifyFailures)")
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    return r
  }

  @Test func restoringOverAnEarlierRestoreGivesTheSnapshotBack() async throws {
    let f = try await EngineFixture(seed: 10)
    defer { f.remove() }
    let b = try await f.backup()
    let target = f.dir.sub("restore")
    _ = try await f.restore(b.snapshotID, to: target)
    // Damage the restored copy: longer and shorter files, other bytes.
    var rng = SeededRandom(seed: 77)
    try FixtureTree.write(f.restored(target) + "/large0.bin", rng.bytes(5 << 20))
    try FixtureTree.write(f.restored(target) + "/mode-0640", rng.bytes(100_000))
    try FixtureTree.write(f.restored(target) + "/sparse.img", rng.bytes(10))
    let r = try await f.restore(b.snapshotID, to: target) { $0.verify = true }
    #expect(r.isComplete, "\(r.errors)")
    // Existing files, links, fifos and hard links are replaced by the snapshot's.
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
  }

  @Test func specialFilesSurviveTheRoundTrip() async throws {
    let f = try await EngineFixture(seed: 4)
    defer { f.remove() }
    let b = try await f.backup()
    let target = f.dir.sub("restore")
    _ = try await f.restore(b.snapshotID, to: target)
    let out = f.restored(target)
    let fm = FileManager.default
    #expect(try fm.destinationOfSymbolicLink(atPath: out + "/link-dangling") == "does/not/exist")
    var a = stat()
    var c = stat()
    #expect(lstat(out + "/hardlink-a", &a) == 0 && lstat(out + "/dir0/hardlink-b", &c) == 0)
    #expect(a.st_ino == c.st_ino, "hard links are restored as links")
    var s = stat()
    #expect(stat(out + "/sparse.img", &s) == 0)
    #expect(s.st_size == 8 << 20)
    #expect(Int(s.st_blocks) * 512 < 1 << 20, "sparse file restored with holes (\(s.st_blocks) blocks)")
    #expect(lstat(out + "/fifo", &s) == 0 && (s.st_mode & S_IFMT) == S_IFIFO)
    var name = Array((out + "/caf").utf8) + [0xE9] + Array(".txt".utf8) + [0]
    #expect(name.withUnsafeMutableBufferPointer { b in b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { lstat($0, &s) } } == 0, "non-UTF-8 name restored byte for byte")
  }

  @Test func incrementalBackupReadsOnlyWhatChanged() async throws {
    let f = try await EngineFixture(seed: 5)
    defer { f.remove() }
    let first = try await f.backup()
    let s1 = try #require(first.snapshot.summary)
    #expect(s1.filesNew > 50 && s1.filesUnmodified == 0)
    let second = try await f.backup()
    let s2 = try #require(second.snapshot.summary)
    #expect(second.snapshot.parent == first.snapshotID)
    #expect(s2.filesNew == 0 && s2.filesChanged == 0 && s2.filesUnmodified == s1.filesNew)
    #expect(s2.dataAdded == 0 && s2.dataBlobs == 0)
    #expect(s2.dirsChanged == 0, "unchanged directories produce identical trees")
    #expect(try await f.sourceNode(second).subtree == (try await f.sourceNode(first)).subtree)
    // Change one file and add one.
    try FixtureTree.write(f.source + "/mode-0640", Array("changed content".utf8))
    try FixtureTree.write(f.source + "/new-file", Array("new".utf8))
    let third = try await f.backup()
    let s3 = try #require(third.snapshot.summary)
    #expect(s3.filesChanged == 1 && s3.filesNew == 1)
    #expect(s3.dataAdded == UInt64("changed content".utf8.count + 3))
  }

  @Test func deduplicatesAcrossFilesAndSnapshots() async throws {
    let f = try await EngineFixture(seed: 6)
    defer { f.remove() }
    let big = SeededRandom(seed: 99)
    var rng = big
    let data = rng.bytes(4 << 20)
    try FixtureTree.write(f.source + "/copy1", data)
    try FixtureTree.write(f.source + "/copy2", data)
    let b = try await f.backup()
    let repo = try await f.open()
    let totals = repo.index.totals()
    let sourceBytes = b.snapshot.summary!.totalBytesProcessed
    #expect(totals.rawBytes < sourceBytes - (4 << 20) + (1 << 20), "the second copy costs (almost) nothing")
  }

  @Test func partialRestoreWithInclude() async throws {
    let f = try await EngineFixture(seed: 7)
    defer { f.remove() }
    let b = try await f.backup()
    let target = f.dir.sub("restore")
    let r = try await f.restore(b.snapshotID, to: target) { $0.includes = [f.source + "/dir0"] }
    #expect(r.isComplete)
    let fm = FileManager.default
    #expect(fm.fileExists(atPath: f.restored(target) + "/dir0"))
    #expect(!fm.fileExists(atPath: f.restored(target) + "/mode-0640"))
    let o = TreeComparison.Options()
    #expect(TreeComparison.differences(f.source + "/dir0", f.restored(target) + "/dir0", options: o).filter { !$0.contains("hard link") } == [])
  }

  @Test func excludesAreHonoured() async throws {
    let f = try await EngineFixture(seed: 8)
    defer { f.remove() }
    let b = try await f.backup { $0.excludes = ["*.dat", "/nonexistent/*", f.source + "/cache"] }
    let repo = try await f.open()
    var names = [String]()
    try await TreeWalker(repository: repo).walk(root: b.snapshot.tree, visit: { p, _ in
      names.append(PathBytes.display(p))
      return true
    })
    #expect(!names.contains { $0.hasSuffix(".dat") })
    #expect(!names.contains { $0.hasPrefix(f.source + "/cache") })
    #expect(names.contains(f.source + "/empty-dir"))
    #expect(names.contains(f.source + "/mode-0640"))
  }

  @Test func commandOutputIsBackedUpAndAFailingCommandSavesNoSnapshot() async throws {
    let f = try await EngineFixture(seed: 9, options: { var o = FixtureTree.Options(); o.files = 1; o.specialFiles = false; return o }())
    defer { f.remove() }
    let ok = try await f.backup([]) { $0.stdin = StdinSource(command: "seq 1 200000", filename: "numbers.txt") }
    let target = f.dir.sub("restore")
    _ = try await f.restore(ok.snapshotID, to: target)
    let restored = try String(contentsOfFile: target + "/numbers.txt", encoding: .utf8)
    #expect(restored.split(separator: "\n").count == 200_000)
    #expect(restored.hasPrefix("1\n2\n3\n"))
    let before = try await f.backend.list(.snapshot).count
    await #expect(throws: LifeboatError.self) {
      try await f.backup([]) { $0.stdin = StdinSource(command: "echo partial; exit 3", filename: "x") }
    }
    #expect(try await f.backend.list(.snapshot).count == before)
  }
}
