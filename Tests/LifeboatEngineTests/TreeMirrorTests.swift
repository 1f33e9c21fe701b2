import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

/// Trees are the map to everything else: each pack of trees is stored twice (docs/design.md
/// §7), so losing or damaging one pack never makes a snapshot unrestorable (issue #19).
@Suite struct TreeMirrorTests {
  static func mirrors(_ f: EngineFixture) async throws -> [ID: ID] {
    try await f.open().index.mirrors
  }

  @Test func everyTreePackHasAMirrorWithTheSameBlobs() async throws {
    let f = try await EngineFixture(seed: 81)
    defer { f.remove() }
    _ = try await f.backup()
    let repo = try await f.open()
    let byPack = repo.index.entriesByPack()
    let treePacks = byPack.filter { $0.value.contains { $0.type == .tree } }
    let mirrors = repo.index.mirrors
    #expect(!mirrors.isEmpty)
    #expect(treePacks.count == 2 * mirrors.count, "each tree pack and its mirror")
    for (mirror, primary) in mirrors {
      #expect(byPack[mirror] == byPack[primary])
      #expect(byPack[primary]!.allSatisfy { $0.type == .tree }, "trees have packs of their own")
      #expect(repo.index.alternate(of: primary) == mirror && repo.index.alternate(of: mirror) == primary)
    }
    #expect(try await f.check().isClean)
  }

  @Test(arguments: ["delete", "flip"])
  func losingOneCopyOfTheTreesLosesNothing(_ damage: String) async throws {
    let f = try await EngineFixture(seed: 82)
    defer { f.remove() }
    let b = try await f.backup()
    let (mirror, primary) = try #require(try await Self.mirrors(f).first)
    // Damage the copy the index points at, so every read must go to the other.
    let victim = Handle(.pack, primary.hex)
    if damage == "delete" {
      try await f.backend.remove(victim)
    } else {
      var bytes = try await f.backend.load(victim)
      for i in stride(from: 0, to: bytes.count - 100, by: 97) { bytes[i] ^= 0x5a }
      try await f.backend.remove(victim)
      try await f.backend.save(victim, data: bytes)
    }
    let target = f.dir.sub("restored")
    let r = try await f.restore(b.snapshotID, to: target)
    #expect(r.isComplete, "\(r.errors) \(r.damagedFiles)")
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    let check = try await f.check()
    #expect(!check.isClean, "the damage is still reported")
    #expect(check.affected.isEmpty, "but no snapshot loses anything: \(check.affected.prefix(3))")
    #expect(check.notes.contains { $0.detail.contains("mirror data/\(mirror.hex)") }, "\(check.notes)")
  }

  @Test(arguments: [false, true])
  func losingBothCopiesIsReportedAsLoss(indexCache: Bool) async throws {
    var f = try await EngineFixture(seed: 83)
    if indexCache { f.indexCache = f.dir.sub("cache") }
    defer { f.remove() }
    _ = try await f.backup()
    let (mirror, primary) = try #require(try await Self.mirrors(f).first)
    try await f.backend.remove(Handle(.pack, primary.hex))
    try await f.backend.remove(Handle(.pack, mirror.hex))
    let check = try await f.check()
    #expect(!check.isClean)
    #expect(!check.affected.isEmpty || check.errors.contains { $0.kind == "tree" || $0.detail.contains("tree") }, "\(check.errors.prefix(3))")
  }

  /// Prune keeps the mirrors of the tree packs it keeps, and makes mirrors for the tree packs
  /// it writes; nothing is left unreferenced.
  @Test func pruneKeepsAndWritesMirrors() async throws {
    let f = try await EngineFixture(seed: 84)
    defer { f.remove() }
    var rng = SeededRandom(seed: 85)
    var ids: [ID] = []
    for generation in 0..<3 {
      try FixtureTree.write(f.source + "/gen-\(generation)", rng.bytes(300_000))
      ids.append(try await f.backup().snapshotID)
    }
    try await f.backend.remove(Handle(.snapshot, ids[0].hex))
    let report = try await Pruner(repository: try await f.open(), options: PruneOptions(maxUnusedPercent: 0)).run()
    #expect(report.packsDeleted + report.packsRepacked > 0)
    let repo = try await f.open()
    let mirrors = repo.index.mirrors
    let treePacks = repo.index.entriesByPack().filter { $0.value.contains { $0.type == .tree } }
    #expect(!mirrors.isEmpty && treePacks.count == 2 * mirrors.count, "\(treePacks.count) tree packs, \(mirrors.count) mirrors")
    let stored = Set(try await f.backend.list(.pack).map(\.name))
    for (m, p) in mirrors { #expect(stored.contains(m.hex) && stored.contains(p.hex)) }
    let check = try await f.check()
    #expect(check.isClean && check.notes.isEmpty, "\(check.errors) \(check.notes)")
    for id in ids.dropFirst() {
      let target = f.dir.sub("r-\(id.short)")
      #expect(try await f.restore(id, to: target).isComplete)
    }
  }
}
