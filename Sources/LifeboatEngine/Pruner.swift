import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatStorage
public import LifeboatRepository

public struct PruneOptions: Sendable {
  /// Repack partly used packs until unused data is at most this share of what is stored.
  public var maxUnusedPercent: Double = 5
  /// Plan only: report what would be deleted and repacked, change nothing.
  public var dryRun = false
  /// Combine packs under a quarter of the target size (two or more) into full ones.
  public var combineSmallPacks = true

  public init(maxUnusedPercent: Double = 5, dryRun: Bool = false) {
    self.maxUnusedPercent = maxUnusedPercent
    self.dryRun = dryRun
  }
}

public struct PruneReport: Sendable, Codable {
  public var snapshots = 0
  public var usedBlobs = 0
  public var packsBefore = 0
  public var packsDeleted = 0
  public var packsRepacked = 0
  /// Packs under a quarter of the target size that were combined into full ones (counted in
  /// `packsRepacked` too).
  public var smallPacksCombined = 0
  public var packsWritten = 0
  /// Of `packsWritten`, packs of trees and their mirrors.
  public var treePacksWritten = 0
  /// Data packs an interrupted prune had written but not indexed, taken over instead of
  /// copying their blobs again (docs/design.md, "Pruning").
  public var packsResumed = 0
  public var unindexedPacksDeleted = 0
  public var indexFilesReplaced = 0
  public var bytesBefore: UInt64 = 0
  public var bytesFreed: UInt64 = 0
  public var unusedBytesAfter: UInt64 = 0
  /// Immutable repositories: the lock maintenance that followed the prune.
  public var locks: LockReport?
  public var purge: PurgeReport?
}

/// Removes data no snapshot uses. The caller MUST hold the exclusive lock (docs/design.md §12):
/// no backup runs meanwhile, so "unused" cannot change under the prune.
///
/// Order, each step safe to interrupt (docs/design.md, "Pruning"):
/// 1. find used blobs by walking every snapshot — any unreadable snapshot or tree aborts, since
///    it could hide references;
/// 2. copy the used blobs of mostly-empty packs, and of packs under a quarter of the target
///    size, into new packs (verified, bytes unchanged);
/// 3. write new index files for everything kept, the last one superseding all old ones;
/// 4. delete the old index files, then the packs nothing indexes any more.
public final class Pruner: Sendable {
  let repository: Repository
  let options: PruneOptions

  public init(repository: Repository, options: PruneOptions) {
    self.repository = repository
    self.options = options
  }

  public func run() async throws -> PruneReport {
    var report = PruneReport()
    var loadedReport = repository.lastIndexReport
    if loadedReport == nil { loadedReport = try await repository.loadIndex() }
    let loaded = loadedReport!
    guard loaded.damaged.isEmpty else {
      throw LifeboatError(
        .corrupt, "refusing to prune: \(loaded.damaged.count) index files cannot be read",
        hint: "run `lifeboat check` and repair the repository first")
    }
    // 1. Used blobs.
    let list = try await repository.listSnapshots()
    guard list.damaged.isEmpty else {
      throw LifeboatError(
        .corrupt, "refusing to prune: \(list.damaged.count) snapshots cannot be read",
        hint: "run `lifeboat check`; remove or repair the damaged snapshots first")
    }
    report.snapshots = list.snapshots.count
    var used = Set<ID>()
    for (_, snap) in list.snapshots {
      try await markUsed(tree: snap.tree, &used)
    }
    report.usedBlobs = used.count

    // 2. Classify packs.
    let byPack = repository.index.entriesByPack()
    let stored = try await Repository.storage { try await repository.backend.list(.pack) }
    report.packsBefore = stored.count
    var unindexed = [String]()
    var sizes = [ID: UInt64]()
    for s in stored {
      report.bytesBefore += UInt64(s.size)
      if let id = ID(hex: s.name), byPack[id] != nil { sizes[id] = UInt64(s.size) } else { unindexed.append(s.name) }
    }
    // Mirrors of tree packs (docs/design.md §7) follow their pack: kept with it, dropped with
    // it, never counted on their own. A missing mirror only leaves the index.
    let mirrorOf = repository.index.mirrors
    // A blob is indexed at one location only; if that pack were missing, its other copies
    // would sit in packs that look unindexed and would be deleted. Refuse instead.
    if let missing = byPack.keys.first(where: { sizes[$0] == nil && mirrorOf[$0] == nil }) {
      throw LifeboatError(
        .corrupt, "refusing to prune: indexed pack \(missing.short) is missing from storage",
        hint: "run `lifeboat check` to see what is affected")
    }
    var unusedPacks = [ID]()
    var partial = [(pack: ID, unused: UInt64, entries: [PackEntry])]()
    // Packs under a quarter of the target size (many small backups leave one or two each):
    // combined into full ones when there are two or more, so the repository does not grow
    // into hundreds of thousands of tiny objects.
    var small = [(pack: ID, unused: UInt64, entries: [PackEntry])]()
    var keptUnused: UInt64 = 0
    var keptTotal: UInt64 = 0
    for (pack, entries) in byPack where mirrorOf[pack] == nil {
      guard let size = sizes[pack] else { continue }  // indexed but missing: check reports it
      let usedEntries = entries.filter { used.contains($0.id) }
      if usedEntries.isEmpty {
        unusedPacks.append(pack)
        continue
      }
      let unused = entries.filter { !used.contains($0.id) }.reduce(UInt64(0)) { $0 + UInt64($1.length) }
      keptTotal += size
      keptUnused += unused
      if unused > 0 { partial.append((pack, unused, entries)) }
      if size < UInt64(repository.config.packSize / 4) { small.append((pack, unused, entries)) }
    }
    // Repack the emptiest packs first until the unused share is within the limit.
    partial.sort { $0.unused > $1.unused }
    var repack = [(pack: ID, unused: UInt64, entries: [PackEntry])]()
    let limit = Double(keptTotal) * options.maxUnusedPercent / 100
    for p in partial where Double(keptUnused) > limit {
      repack.append(p)
      keptUnused -= p.unused
    }
    if options.combineSmallPacks {
      // Per kind (data, trees): two or more, or one when packs of its kind are rewritten
      // anyway (their tail would be a second small pack). What they are combined into ends
      // in one small pack of a kind at most, which the next prune leaves alone.
      let chosen = Set(repack.map(\.pack))
      for kind in [BlobType.data, .tree] {
        let ofKind = small.filter { $0.entries.first?.type == kind }
        let rewritingKind = repack.contains { $0.entries.first?.type == kind }
        guard ofKind.count >= 2 || (ofKind.count == 1 && rewritingKind) else { continue }
        for p in ofKind where !chosen.contains(p.pack) {
          repack.append(p)
          keptUnused -= p.unused
        }
        report.smallPacksCombined += ofKind.count
      }
    }
    // Resuming an interrupted prune: the data packs it wrote are unindexed, and hold blobs to
    // be copied now. One whose every blob is used, to be copied and not yet covered is taken
    // as it is (its header is sealed, its blobs were verified when copied): indexed, its blobs
    // not copied again. Any other unindexed pack is deleted, as before.
    var resumed = [IndexFile.Pack]()
    var covered = Set<ID>()
    if !unindexed.isEmpty && !repack.isEmpty {
      var toCopy = Set<ID>()
      for p in repack { for e in p.entries where e.type == .data && used.contains(e.id) { toCopy.insert(e.id) } }
      let storedSize = Dictionary(stored.map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
      for name in unindexed {
        guard let id = ID(hex: name), let size = storedSize[name],
          let entries = try? await repository.loadPackHeader(id, size: size), !entries.isEmpty,
          entries.allSatisfy({ $0.type == .data && toCopy.contains($0.id) && !covered.contains($0.id) })
        else { continue }
        resumed.append(.init(id: id, entries: entries))
        covered.formUnion(entries.map(\.id))
      }
      let taken = Set(resumed.map(\.id.hex))
      unindexed.removeAll { taken.contains($0) }
    }
    report.packsResumed = resumed.count
    report.unusedBytesAfter = keptUnused
    let primariesDropped = Set(unusedPacks).union(repack.map(\.pack))
    let mirrorsDropped = mirrorOf.filter { primariesDropped.contains($0.value) && sizes[$0.key] != nil }.map(\.key)
    unusedPacks += mirrorsDropped
    report.packsDeleted = unusedPacks.count
    report.packsRepacked = repack.count
    report.unindexedPacksDeleted = unindexed.count
    report.bytesFreed =
      unusedPacks.reduce(UInt64(0)) { $0 + (sizes[$1] ?? 0) }
      + unindexed.reduce(UInt64(0)) { t, n in t + UInt64(stored.first { $0.name == n }?.size ?? 0) }
      + repack.reduce(UInt64(0)) { $0 + $1.unused }
    if options.dryRun { return report }

    // 2b. Copy the used blobs of packs being repacked into new packs.
    let dropped = Set(unusedPacks).union(repack.map(\.pack))
    var newPacks = [IndexFile.Pack]()
    var builder = PackBuilder(capacity: repository.config.packSize + (9 << 20))
    // Trees get packs of their own, each written with a mirror, as a backup writes them.
    var treeBuilder = PackBuilder(capacity: 1 << 20)
    let decompressor = ZstdDecompressor()
    func flush(_ b: inout PackBuilder) async throws {
      guard !b.isEmpty else { return }
      let (id, bytes, entries) = b.finish(keys: repository.keys)
      try await Repository.storage { try await repository.backend.save(Handle(.pack, id.hex), data: bytes) }
      newPacks.append(IndexFile.Pack(id: id, entries: entries))
      if entries.first?.type == .tree {
        let mirror = PackFormat.mirror(of: bytes, entries: entries, keys: repository.keys)
        try await Repository.storage { try await repository.backend.save(Handle(.pack, mirror.id.hex), data: mirror.bytes) }
        newPacks.append(IndexFile.Pack(id: mirror.id, entries: entries))
        report.treePacksWritten += 2
      }
      b.reset()
    }
    for p in repack {
      let data = try await Repository.storage { try await repository.backend.load(Handle(.pack, p.pack.hex)) }
      for e in p.entries where used.contains(e.id) && !covered.contains(e.id) {
        let lo = Int(e.offset)
        let hi = lo + Int(e.length)
        guard hi <= data.count else {
          throw LifeboatError.corrupt("pack \(p.pack.short) is shorter than its index says; prune stopped")
        }
        let stored = Array(data[lo..<hi])
        // Verify before copying: prune must never spread damage.
        _ = try stored.withUnsafeBytes {
          try PackFormat.openBlob($0, entry: e, keys: repository.keys, decompressor: decompressor)
        }
        if e.type == .tree {
          _ = treeBuilder.add(id: e.id, type: e.type, sealed: stored, compressed: e.compressed, rawLength: Int(e.rawLength))
          if treeBuilder.count >= repository.config.packSize { try await flush(&treeBuilder) }
        } else {
          _ = builder.add(id: e.id, type: e.type, sealed: stored, compressed: e.compressed, rawLength: Int(e.rawLength))
          if builder.count >= repository.config.packSize { try await flush(&builder) }
        }
      }
    }
    try await flush(&builder)
    try await flush(&treeBuilder)
    report.packsWritten = newPacks.count
    newPacks += resumed

    // 3. New index: every kept pack with all its entries, plus the new packs. The supersedes
    // list goes into the last file only, so an interruption leaves the old files in force.
    var keptPacks = [IndexFile.Pack]()
    for (pack, entries) in byPack where !dropped.contains(pack) && sizes[pack] != nil {
      keptPacks.append(IndexFile.Pack(id: pack, entries: entries.sorted { $0.offset < $1.offset }))
    }
    keptPacks.sort { $0.id < $1.id }
    // 4. Then delete what nothing indexes any more: old index files (inside replaceIndex),
    // then packs.
    report.indexFilesReplaced = try await repository.replaceIndex(with: keptPacks + newPacks).replaced
    for pack in dropped {
      try await Repository.storage { try await repository.backend.remove(Handle(.pack, pack.hex)) }
    }
    for name in unindexed {
      try await Repository.storage { try await repository.backend.remove(Handle(.pack, name)) }
    }
    return report
  }

  private func markUsed(tree: ID, _ used: inout Set<ID>) async throws {
    guard used.insert(tree).inserted else { return }
    let t: Tree
    do {
      t = try await repository.loadTree(tree, cache: false)
    } catch {
      throw LifeboatError(
        .corrupt, "refusing to prune: tree \(tree.short) cannot be read (\(error))",
        hint: "run `lifeboat check --read-data` to find the damage")
    }
    for n in t.nodes {
      for b in n.content { used.insert(b) }
      if let s = n.subtree { try await markUsed(tree: s, &used) }
    }
  }
}
