import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

@Suite struct FaultTests {
  @Test func unreadableSourcesAreWarningsAndTheRestIsSaved() async throws {
    let f = try await EngineFixture(seed: 20)
    defer { f.remove() }
    // /proc/self/mem opens but fails to read at offset 0 (EIO), even for root.
    let b = try await f.backup([f.source, "/proc/self/mem", f.dir.sub("does-not-exist")])
    #expect(b.errors.count == 2, "\(b.errors)")
    #expect(b.errors.contains { $0.contains("/proc/self/mem") })
    #expect(b.snapshot.summary?.errors.count == 2)
    let target = f.dir.sub("restore")
    let r = try await f.restore(b.snapshotID, to: target)
    #expect(r.isComplete)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    if getuid() != 0 {
      let locked = f.source + "/mode-0640"
      chmod(locked, 0)
      let c = try await f.backup()
      #expect(c.errors.contains { $0.contains("mode-0640") })
    }
  }

  @Test func aFileChangingWhileReadIsRecorded() async throws {
    let f = try await EngineFixture(seed: 21, options: { var o = FixtureTree.Options(); o.files = 2; o.specialFiles = false; return o }())
    defer { f.remove() }
    let path = f.source + "/growing.log"
    var rng = SeededRandom(seed: 1)
    try FixtureTree.write(path, rng.bytes(24 << 20))
    let stop = ManagedAtomicFlag()
    let writer = Thread {
      let fd = open(path, O_WRONLY | O_APPEND)
      let line = Array("appended while the backup runs\n".utf8)
      while !stop.isSet {
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        usleep(200)
      }
      close(fd)
    }
    writer.start()
    usleep(20_000)
    let b = try await f.backup()
    stop.set()
    #expect(b.changedWhileReading.contains(path), "\(b.changedWhileReading)")
    #expect(b.snapshot.summary?.changedWhileReading.contains(path) == true)
  }

  @Test func fullDiskFailsCleanlyAndTheRepositoryStaysValid() async throws {
    var faulty: FaultInjectingBackend?
    let f = try await EngineFixture(seed: 22) { local in
      let b = FaultInjectingBackend(local)
      faulty = b
      return b
    }
    defer { f.remove() }
    let good = try await f.backup()
    var faults = FaultInjectingBackend.Faults()
    faults.failSavesAfter = faulty!.successfulSaves + 3
    faults.saveError = .noSpace
    faulty!.setFaults(faults)
    try FixtureTree.write(f.source + "/more", SeededRandom(seed: 5).bytesCopy(3 << 20))
    do {
      _ = try await f.backup()
      Issue.record("backup on a full disk succeeded")
    } catch let e as LifeboatError {
      #expect(e.kind == .noSpace)
      #expect(e.message.contains("no space"))
    }
    faulty!.setFaults(.init())
    let report = try await f.check()
    #expect(report.isClean, "\(report.errors)")
    #expect(try await f.backend.list(.snapshot).count == 1)
    let after = try await f.backup()
    let target = f.dir.sub("restore")
    #expect(try await f.restore(after.snapshotID, to: target).isComplete)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    _ = good
  }

  /// With the index in memory, and served from the index cache (docs/design.md §14).
  @Test(arguments: [false, true])
  func aFlippedBitInAPackIsNamedAndOnlyTheDamagedFilesAreRefused(indexCache: Bool) async throws {
    var f = try await EngineFixture(seed: 23)
    if indexCache { f.indexCache = f.dir.sub("cache") }
    defer { f.remove() }
    let b = try await f.backup()
    // Damage a data blob: find the pack holding the large file's first chunk.
    let repo = try await f.open()
    var largeNode: Node?
    try await TreeWalker(repository: repo).walk(root: b.snapshot.tree, visit: { p, n in
      if PathBytes.display(p).hasSuffix("/large0.bin") { largeNode = n }
      return true
    })
    let node = try #require(largeNode)
    let loc = try #require(repo.index.location(of: node.content[0]))
    let packPath = f.dir.sub("repo/data/\(loc.pack.hex.prefix(2))/\(loc.pack.hex)")
    var bytes = try #require(FileManager.default.contents(atPath: packPath))
    bytes[Int(loc.entry.offset) + 100] ^= 0x01
    try bytes.write(to: URL(fileURLWithPath: packPath))

    let report = try await f.check()
    #expect(!report.isClean)
    #expect(report.damagedPacks == [loc.pack.hex])
    #expect(report.affected.contains { $0.path.hasSuffix("/large0.bin") && $0.snapshot == b.snapshotID.hex })
    let structural = try await f.check(readData: false)
    #expect(structural.isClean, "structure alone cannot see bit rot inside a blob")

    let target = f.dir.sub("restore")
    let r = try await f.restore(b.snapshotID, to: target)
    #expect(!r.isComplete)
    #expect(r.damagedFiles.contains { $0.hasSuffix("/large0.bin") })
    #expect(!FileManager.default.fileExists(atPath: f.restored(target) + "/large0.bin"), "a damaged file is not left behind")
    let diffs = TreeComparison.differences(f.source, f.restored(target))
    #expect(diffs.allSatisfy { $0.contains("large0.bin") || $0.contains("hard link") }, "\(diffs)")
    #expect(diffs.count >= 1)
  }

  /// `check --read-data` hashes packs while the key is derived (PackPrehasher) and skips the
  /// pack hash for those that matched. A damaged pack must never be among them, and damage
  /// inside a blob must be found even if its pack were wrongly listed as verified.
  @Test func packsHashedBeforeTheKeyExcludeADamagedOneAndBlobsAreStillVerified() async throws {
    let f = try await EngineFixture(seed: 29)
    defer { f.remove() }
    _ = try await f.backup()
    let repo = try await f.open()
    let packs = Set(repo.index.entriesByPack().keys)
    #expect(packs.count >= 2)
    let (damaged, entries) = try #require(
      repo.index.entriesByPack().first { $0.value.contains { $0.type == .data && $0.length > 200 } })
    let blob = try #require(entries.first { $0.type == .data && $0.length > 200 })
    let packPath = f.dir.sub("repo/data/\(damaged.hex.prefix(2))/\(damaged.hex)")
    var bytes = try #require(FileManager.default.contents(atPath: packPath))
    bytes[Int(blob.offset) + 100] ^= 0x01
    try bytes.write(to: URL(fileURLWithPath: packPath))

    let verified = await PackPrehasher(backend: f.backend).wait()
    #expect(verified == packs.subtracting([damaged]))
    // Stopped at once, it returns only packs it finished, all of them good.
    let early = await PackPrehasher(backend: f.backend).stop()
    #expect(early.isSubset(of: verified))

    for names in [verified, packs] {
      var options = CheckOptions(readData: .all)
      options.namesVerified = names
      let report = try await Checker(repository: try await f.open(), options: options).run()
      #expect(report.damagedPacks == [damaged.hex])
      #expect(report.errors.contains { $0.detail.contains("blob \(blob.id.short)") }, "\(report.errors)")
      // The pack's own hash is compared unless it was (wrongly, in the second case) verified.
      #expect(report.errors.contains { $0.detail.contains("SHA-256 mismatch") } == !names.contains(damaged))
    }
  }

  @Test func flippedBitsInIndexAndSnapshotObjectsAreNamed() async throws {
    let f = try await EngineFixture(seed: 24)
    defer { f.remove() }
    let first = try await f.backup()
    try FixtureTree.write(f.source + "/second", Array("second".utf8))
    _ = try await f.backup()
    let indexes = try await f.backend.list(.index)
    let idx = indexes[0].name
    let idxPath = f.dir.sub("repo/index/\(idx)")
    var ib = try #require(FileManager.default.contents(atPath: idxPath))
    ib[ib.count / 2] ^= 0x80
    try ib.write(to: URL(fileURLWithPath: idxPath))
    let snapPath = f.dir.sub("repo/snapshots/\(first.snapshotID.hex)")
    var sb = try #require(FileManager.default.contents(atPath: snapPath))
    sb[sb.count - 3] ^= 0x02
    try sb.write(to: URL(fileURLWithPath: snapPath))

    let report = try await f.check()
    #expect(report.errors.contains { $0.object == "index/\(idx)" })
    #expect(report.errors.contains { $0.object == "snapshots/\(first.snapshotID.hex)" })
    // The other snapshot is still listed and its readable parts restore.
    let repo = try await f.open()
    let list = try await repo.listSnapshots()
    #expect(list.snapshots.count == 1 && list.damaged.count == 1)
  }

  @Test func twoBackupsAtOnceBothSucceed() async throws {
    let f = try await EngineFixture(seed: 25)
    defer { f.remove() }
    let other = f.dir.sub("other")
    try FixtureTree.build(at: other, seed: 26)
    async let a = f.backup([f.source])
    async let b = f.backup([other])
    let (ra, rb) = try await (a, b)
    let report = try await f.check()
    #expect(report.isClean, "\(report.errors)")
    #expect(report.snapshots == 2)
    let ta = f.dir.sub("ra")
    let tb = f.dir.sub("rb")
    #expect(try await f.restore(ra.snapshotID, to: ta).isComplete)
    #expect(try await f.restore(rb.snapshotID, to: tb).isComplete)
    #expect(TreeComparison.differences(f.source, f.restored(ta)) == [])
    #expect(TreeComparison.differences(other, tb + other) == [])
  }
}

final class ManagedAtomicFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}

extension SeededRandom {
  func bytesCopy(_ n: Int) -> [UInt8] {
    var c = self
    return c.bytes(n)
  }
}
