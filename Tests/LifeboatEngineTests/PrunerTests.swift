import Foundation
import LifeboatCore
@testable import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

@Suite struct PrunerTests {
  /// Three generations of a tree; the middle and oldest snapshots are forgotten.
  func history(_ f: EngineFixture) async throws -> (kept: [(ID, String)], forgotten: [ID]) {
    var kept = [(ID, String)]()
    var forgotten = [ID]()
    var rng = SeededRandom(seed: 70)
    for generation in 0..<3 {
      try FixtureTree.write(f.source + "/large0.bin", rng.bytes(3 << 20))   // new data each time
      try FixtureTree.write(f.source + "/gen", Array("\(generation)".utf8))
      let b = try await f.backup()
      let copy = f.dir.sub("expected-\(generation)")
      _ = try await f.restore(b.snapshotID, to: copy)
      if generation == 2 { kept.append((b.snapshotID, copy)) } else { forgotten.append(b.snapshotID) }
    }
    return (kept, forgotten)
  }

  /// With the index in memory, and served from the index cache (docs/design.md §14).
  @Test(arguments: [false, true])
  func pruneFreesUnusedDataAndEverythingLeftRestores(indexCache: Bool) async throws {
    var f = try await EngineFixture(seed: 71)
    if indexCache { f.indexCache = f.dir.sub("cache") }
    defer { f.remove() }
    let (kept, forgotten) = try await history(f)
    for id in forgotten { try await f.backend.remove(Handle(.snapshot, id.hex)) }
    let before = try await f.backend.list(.pack).reduce(0) { $0 + $1.size }
    let dry = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0, dryRun: true)).run()
    #expect(try await f.backend.list(.pack).reduce(0) { $0 + $1.size } == before, "a dry run changes nothing")
    let report = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(report.bytesFreed == dry.bytesFreed)
    #expect(report.packsDeleted + report.packsRepacked > 0)
    let after = try await f.backend.list(.pack).reduce(0) { $0 + $1.size }
    #expect(after < before - (5 << 20), "two generations of 3 MiB random data are freed (\(before) → \(after))")
    if indexCache {
      // The prune replaced the index files: the next open rebuilds the cache (and is served
      // from it), the one after uses it as it is (and the check and restores below with it).
      let rebuilt = try await f.open()
      #expect(rebuilt.lastIndexReport.map { !$0.cacheUsed && $0.cacheWritten } == true && rebuilt.index.isCached)
      let reused = try await f.open()
      #expect(reused.lastIndexReport?.cacheUsed == true && reused.index.isCached)
    }
    let check = try await f.check()
    #expect(check.isClean, "\(check.errors)")
    #expect(check.notes.isEmpty, "no leftovers: \(check.notes)")
    for (id, expected) in kept {
      let target = f.dir.sub("restored-\(id.short)")
      #expect(try await f.restore(id, to: target).isComplete)
      #expect(TreeComparison.differences(expected, target) == [])
    }
    // Pruning again finds nothing to do.
    let again = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(again.bytesFreed == 0 && again.packsWritten == 0)
  }

  /// Stop the prune at every storage operation in turn; after each stop the repository
  /// checks clean and every kept snapshot restores; the last run completes.
  @Test func anInterruptedPruneLeavesACleanRepository() async throws {
    var faulty: FaultInjectingBackend?
    let f = try await EngineFixture(seed: 72) { local in
      let b = FaultInjectingBackend(local)
      faulty = b
      return b
    }
    defer { f.remove() }
    let (kept, forgotten) = try await history(f)
    for id in forgotten { try await f.backend.remove(Handle(.snapshot, id.hex)) }
    var interrupted = 0
    for step in 0..<40 {
      var faults = FaultInjectingBackend.Faults()
      faults.failSavesAfter = faulty!.successfulSaves + step / 2
      faults.failRemovesAfter = faulty!.successfulRemoves + step / 2
      faults.failSaveTypes = step % 2 == 0 ? [.pack, .index] : []
      faults.saveError = .io
      faulty!.setFaults(faults)
      do {
        _ = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
        faulty!.setFaults(.init())
        break
      } catch {
        interrupted += 1
      }
      faulty!.setFaults(.init())
      let check = try await f.check()
      #expect(check.isClean, "after interruption \(step): \(check.errors)")
    }
    #expect(interrupted >= 3, "the prune was interrupted at several points")
    _ = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    for (id, expected) in kept {
      let target = f.dir.sub("restored-\(id.short)")
      #expect(try await f.restore(id, to: target).isComplete)
      #expect(TreeComparison.differences(expected, target) == [])
    }
  }

  /// A prune stopped after writing new packs — before its index (every pack copied), or
  /// part way through the copying — resumes: the next prune takes the data packs it wrote
  /// instead of copying their blobs again, and the result is what an uninterrupted prune
  /// leaves.
  @Test(arguments: ["before the index", "after three packs"])
  func anInterruptedPruneResumesWhereItStopped(_ stop: String) async throws {
    // The same repository pruned without interruption: what a whole prune writes.
    let whole = try await EngineFixture(seed: 74)
    defer { whole.remove() }
    let gone = try await halfForgotten(whole)
    try await whole.backend.remove(Handle(.snapshot, gone.hex))
    let reference = try await Pruner(repository: try await whole.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    let referenceData = reference.packsWritten - reference.treePacksWritten
    #expect(referenceData >= 4, "the prune copies data into several packs (\(reference))")

    var faulty: FaultInjectingBackend?
    let f = try await EngineFixture(seed: 74) { local in
      let b = FaultInjectingBackend(local)
      faulty = b
      return b
    }
    defer { f.remove() }
    let forgotten = try await halfForgotten(f)
    try await f.backend.remove(Handle(.snapshot, forgotten.hex))
    var faults = FaultInjectingBackend.Faults()
    faults.failSavesAfter = faulty!.successfulSaves + (stop == "before the index" ? 0 : 3)
    faults.failSaveTypes = stop == "before the index" ? [.index] : [.pack]
    faults.saveError = .io
    faulty!.setFaults(faults)
    await #expect(throws: (any Error).self) {
      try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    }
    faulty!.setFaults(.init())
    let written = try await f.backend.list(.pack).count
    let resumed = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    // How blobs fall into packs depends on the order packs are visited, so counts may differ
    // from the whole prune's by the one pack a tail fills.
    let dataWritten = resumed.packsWritten - resumed.treePacksWritten
    if stop == "before the index" {
      #expect(resumed.packsResumed >= referenceData - 1 && dataWritten == 0, "nothing is copied twice: \(resumed)")
    } else {
      #expect(resumed.packsResumed == 3, "the three packs written are taken over: \(resumed)")
    }
    #expect(abs(dataWritten + resumed.packsResumed - referenceData) <= 1,
      "only what was not copied before is copied now: \(resumed) vs \(reference)")
    #expect(written > 0)
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    let latest = try #require(try await f.open().listSnapshots().snapshots.first?.id)
    let target = f.dir.sub("restored")
    #expect(try await f.restore(latest, to: target).isComplete)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    let stored = try await f.backend.list(.pack).reduce(UInt64(0)) { $0 + UInt64($1.size) }
    let storedWhole = try await whole.backend.list(.pack).reduce(UInt64(0)) { $0 + UInt64($1.size) }
    #expect(stored <= storedWhole + storedWhole / 20, "no more is stored than after a whole prune: \(stored) vs \(storedWhole)")
    let again = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(again.packsWritten == 0 && again.bytesFreed == 0, "\(again)")
  }

  /// Forty files of 100 KiB, backed up; then every other one deleted and backed up again.
  /// Returns the first snapshot: forgetting it leaves every data pack half used, so a prune
  /// copies about 2 MiB into several new packs.
  func halfForgotten(_ f: EngineFixture) async throws -> ID {
    var rng = SeededRandom(seed: 75)
    let bulk = f.source + "/bulk"
    try FileManager.default.createDirectory(atPath: bulk, withIntermediateDirectories: true)
    for i in 0..<40 { try FixtureTree.write(bulk + "/part-\(i)", rng.bytes(100 << 10)) }
    let first = try await f.backup()
    for i in stride(from: 1, to: 40, by: 2) { try FileManager.default.removeItem(atPath: bulk + "/part-\(i)") }
    _ = try await f.backup()
    return first.snapshotID
  }

  /// Two backups at once store the same blobs twice: packs whose every blob is indexed in
  /// another pack, named by index files (one version of prune deleted them and left the files
  /// naming them: "indexed pack is missing"). Prune drops them and rewrites those files.
  @Test func packsDuplicatedByConcurrentBackupsArePrunedConsistently() async throws {
    let f = try await EngineFixture(seed: 76)
    defer { f.remove() }
    async let a = f.backup()
    async let b = f.backup()
    let (first, second) = try await (a, b)
    let before = try await f.backend.list(.pack).count
    let report = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(report.packsDeleted > 0 && report.indexFilesReplaced > 0, "\(report)")
    #expect(try await f.backend.list(.pack).count < before)
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    for id in [first.snapshotID, second.snapshotID] {
      let target = f.dir.sub("restored-\(id.short)")
      #expect(try await f.restore(id, to: target).isComplete)
      #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    }
    let again = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(again.packsWritten == 0 && again.bytesFreed == 0, "\(again)")
  }

  /// Blobs stored twice in overlapping packs (what two backups at once leave, in one fixed
  /// arrangement): a pack of {X, Y, half the rest}, one of {Y, Z, the other half}, one of
  /// {Z, X}, named in that order. The first owns X and Y, the second Z, the third nothing; the
  /// first two are not small, so combining small packs does not hide the copy of Y. A copy another pack
  /// owns is wasted space: prune at 0% leaves every blob stored once, so which copy a later
  /// load picks (index files renamed by the rewrite change the order) cannot matter, and a
  /// check says nothing and a second prune does nothing.
  @Test(arguments: [false, true])
  func blobsStoredTwiceInOverlappingPacksEndUpStoredOnce(indexCache: Bool) async throws {
    var f = try await EngineFixture(seed: 77)
    if indexCache { f.indexCache = f.dir.sub("cache") }
    defer { f.remove() }
    let b = try await f.backup()
    let repo = try await f.open()
    _ = try await repo.loadIndex()  // loaded twice (served from the cache the first time): adds nothing
    let usage = repo.index.packUsage { _ in true }
    let candidates = usage.filter { $0.value.type == .data && $0.value.entries >= 5 }.map(\.key)
    let pack = try #require(candidates.max { (repo.index.packSize($0) ?? 0) < (repo.index.packSize($1) ?? 0) })
    #expect((repo.index.packSize(pack) ?? 0) >= 200 << 10, "halves above the small-pack line (64 KiB)")
    let entries = try #require(repo.index.entries(inPacks: [pack])[pack]).sorted { $0.offset < $1.offset }
    let bytes = try await f.backend.load(Handle(.pack, pack.hex))
    func build(_ chosen: [PackEntry]) async throws -> IndexFile.Pack {
      var builder = PackBuilder(capacity: 1 << 20)
      for e in chosen {
        _ = builder.add(id: e.id, type: e.type, sealed: Array(bytes[Int(e.offset)..<Int(e.offset + e.length)]), compressed: e.compressed, rawLength: Int(e.rawLength))
      }
      let (id, packed, written) = builder.finish(keys: repo.keys)
      try await f.backend.save(Handle(.pack, id.hex), data: packed)
      return IndexFile.Pack(id: id, entries: written)
    }
    let (x, y, z) = (entries[0], entries[1], entries[2])
    let rest = Array(entries.dropFirst(3))
    let overlapping = [
      try await build([x, y] + rest.prefix(rest.count / 2)),
      try await build([y, z] + rest.dropFirst(rest.count / 2)),
      try await build([z, x]),
    ]
    _ = try await repo.rewriteIndex(dropping: [pack], adding: overlapping)
    try await f.backend.remove(Handle(.pack, pack.hex))
    let before = try await f.check()
    // (With the cache on, a second note says the cache was rebuilt: its files were rewritten.)
    let packNotes = before.notes.filter { $0.kind == "pack" }
    #expect(before.isClean && packNotes.map(\.object) == ["data/\(overlapping[2].id.hex)"], "\(before.errors) \(before.notes)")
    #expect(packNotes.first?.detail.contains("also stored in another pack") == true, "\(before.notes)")

    let report = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(report.packsDeleted >= 1 && report.packsRepacked >= 1, "the pack owning nothing deleted, the one holding a copy owned elsewhere rewritten: \(report)")
    // Every blob is named once across every index file in force.
    var named = [ID: Int]()
    let fresh = try await f.open()
    for info in try await f.backend.list(.index) {
      let file = try IndexFile.decode(try Envelope.open(try await f.backend.load(Handle(.index, info.name)), key: fresh.keys.metadataKey, purpose: .index))
      for p in file.packs { for e in p.entries where e.type == .data { named[e.id, default: 0] += 1 } }
    }
    #expect(named.filter { $0.value > 1 }.isEmpty, "stored twice after prune: \(named.filter { $0.value > 1 }.keys.map(\.short))")
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    let target = f.dir.sub("restored")
    #expect(try await f.restore(b.snapshotID, to: target).isComplete)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    let again = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(again.packsWritten == 0 && again.bytesFreed == 0, "\(again)")
  }

  /// Prune's used set keeps the first word of each ID (8 bytes a blob): every used blob is
  /// found, repeats count once, an unused blob is not found — unless its ID shares its first
  /// word with a used one, when it is taken for used (kept: the safe way to be wrong).
  @Test func theUsedSetFindsEveryUsedBlobAndErrsOnlyTowardKeeping() {
    var rng = SeededRandom(seed: 78)
    func id(_ w0: UInt64? = nil) -> ID { ID(w0: w0 ?? rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()) }
    let used = (0..<50_000).map { _ in id() }
    let set = UsedBlobs(used.map(\.w0) + used.prefix(1_000).map(\.w0))
    #expect(set.count == 50_000, "repeats count once")
    #expect(used.allSatisfy(set.contains))
    let unused = (0..<50_000).map { _ in id() }
    #expect(unused.filter(set.contains).isEmpty)
    let sharing = id(used[123].w0)
    #expect(sharing != used[123] && set.contains(sharing), "a shared first word keeps the blob")
    #expect(!UsedBlobs([]).contains(used[0]))
  }

  /// Index files lost or damaged: repair rebuilds them from the pack headers.
  @Test func repairIndexRebuildsFromPackHeaders() async throws {
    let f = try await EngineFixture(seed: 73)
    defer { f.remove() }
    let b = try await f.backup()
    let indexes = try await f.backend.list(.index)
    #expect(indexes.count > 1)
    // Lose one index file, damage another.
    try await f.backend.remove(Handle(.index, indexes[0].name))
    let damagedPath = f.dir.sub("repo/index/\(indexes[1].name)")
    var bytes = try #require(FileManager.default.contents(atPath: damagedPath))
    bytes[bytes.count / 2] ^= 1
    try bytes.write(to: URL(fileURLWithPath: damagedPath))
    #expect(!(try await f.check()).isClean)
    let report = try await IndexRepair(repository: try await f.open()).run()
    #expect(report.unreadablePacks.isEmpty)
    #expect(report.packs == (try await f.backend.list(.pack).count))
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    let target = f.dir.sub("restore")
    #expect(try await f.restore(b.snapshotID, to: target).isComplete)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
  }
}

/// Prune combines small packs (#23): twelve small backups leave a pack of data and a pack of
/// trees each; prune makes them few, everything restores, and a second prune leaves them.
@Suite struct SmallPackTests {
  @Test func smallPacksAreCombinedOnceAndEverythingRestores() async throws {
    let f = try await EngineFixture(seed: 73, options: { var o = FixtureTree.Options(); o.files = 4; o.largeFiles = 0; o.maxFileSize = 2_000; return o }())
    defer { f.remove() }
    var rng = SeededRandom(seed: 73)
    var snapshots = [(ID, String)]()
    for i in 0..<12 {
      try FixtureTree.write(f.source + "/note-\(i).txt", rng.bytes(3_000))
      let b = try await f.backup()
      let copy = f.dir.sub("expected-\(i)")
      _ = try await f.restore(b.snapshotID, to: copy)
      snapshots.append((b.snapshotID, copy))
    }
    let before = try await f.backend.list(.pack).count
    #expect(before >= 24)
    let report = try await Pruner(repository: try await f.open(), options: PruneOptions()).run()
    #expect(report.smallPacksCombined >= 20, "\(report)")
    let after = try await f.backend.list(.pack).count
    // One pack of data and one of trees with its mirror (a few more when a pack fills).
    #expect(after <= 6, "\(before) packs → \(after)")
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    for (id, expected) in snapshots {
      let target = f.dir.sub("restored-\(id.short)")
      #expect(try await f.restore(id, to: target).isComplete)
      #expect(TreeComparison.differences(expected, target) == [])
    }
    let again = try await Pruner(repository: try await f.open(), options: PruneOptions()).run()
    #expect(again.packsWritten == 0 && again.smallPacksCombined == 0, "\(again)")
    let off = try await Pruner(repository: try await f.open(), options: PruneOptions(dryRun: true)).run()
    #expect(off.packsRepacked == 0)
  }
}
