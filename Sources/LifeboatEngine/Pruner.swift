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
    // 1. Used blobs: trees in a set (the walk visits each shared tree once), the first word of
    // each data blob's ID appended, then all sorted into one array: 8 bytes per used blob.
    let list = try await repository.listSnapshots()
    guard list.damaged.isEmpty else {
      throw LifeboatError(
        .corrupt, "refusing to prune: \(list.damaged.count) snapshots cannot be read",
        hint: "run `lifeboat check`; remove or repair the damaged snapshots first")
    }
    report.snapshots = list.snapshots.count
    var trees = Set<ID>()
    var data = [UInt64]()
    for (_, snap) in list.snapshots {
      try await markUsed(tree: snap.tree, trees: &trees, data: &data)
    }
    data.append(contentsOf: trees.lazy.map(\.w0))
    trees = []
    let used = UsedBlobs(consume data)
    report.usedBlobs = used.count

    // 2. Classify packs: one pass over the index, a few numbers per pack (not its entries).
    let usage = repository.index.packUsage(isUsed: used.contains)
    let stored = try await Repository.storage { try await repository.backend.list(.pack) }
    report.packsBefore = stored.count
    // Mirrors of tree packs (docs/design.md §7) follow their pack: kept with it, dropped with
    // it, never counted on their own. A missing mirror only leaves the index.
    let mirrorOf = repository.index.mirrors
    // Every pack an index file in force names, whether or not it holds a blob's indexed copy.
    let named = Set(repository.index.packIDs)
    var unindexed = [String]()
    var sizes = [ID: UInt64]()
    // Named by an index file, but every blob of it is indexed in another pack and it is no
    // mirror of a pack that stays (two backups that stored the same trees at once): dropped
    // like an unused pack, and the files naming it rewritten.
    var redundant = [ID]()
    for s in stored {
      report.bytesBefore += UInt64(s.size)
      guard let id = ID(hex: s.name) else {
        unindexed.append(s.name)
        continue
      }
      if usage[id] != nil || mirrorOf[id].map({ usage[$0] != nil }) == true {
        sizes[id] = UInt64(s.size)
      } else if named.contains(id) {
        sizes[id] = UInt64(s.size)
        redundant.append(id)
      } else {
        unindexed.append(s.name)
      }
    }
    // Named but not stored, and holding no blob's indexed copy (a lost mirror): it only leaves
    // the index.
    let storedIDs = Set(stored.compactMap { ID(hex: $0.name) })
    let leaveIndex = named.filter { !storedIDs.contains($0) && usage[$0] == nil }
    // A blob is indexed at one location only; if that pack were missing, its other copies
    // would sit in packs that look unindexed and would be deleted. Refuse instead.
    if let missing = usage.keys.first(where: { sizes[$0] == nil }) {
      throw LifeboatError(
        .corrupt, "refusing to prune: indexed pack \(missing.short) is missing from storage",
        hint: "run `lifeboat check` to see what is affected")
    }
    var unusedPacks = redundant
    var partial = [(pack: ID, unused: UInt64, type: BlobType)]()
    // Packs under a quarter of the target size (many small backups leave one or two each):
    // combined into full ones when there are two or more, so the repository does not grow
    // into hundreds of thousands of tiny objects.
    var small = [(pack: ID, unused: UInt64, type: BlobType)]()
    var keptUnused: UInt64 = 0
    var keptTotal: UInt64 = 0
    for (pack, u) in usage {
      let size = sizes[pack]!
      if u.used == 0 {
        unusedPacks.append(pack)
        continue
      }
      // Copies of blobs indexed in another pack count as unused: rewriting keeps one copy.
      keptTotal += size
      keptUnused += u.wastedBytes
      if u.wastedBytes > 0 { partial.append((pack, u.wastedBytes, u.type)) }
      if size < UInt64(repository.config.packSize / 4) { small.append((pack, u.wastedBytes, u.type)) }
    }
    // Repack the emptiest packs first until the unused share is within the limit.
    partial.sort { $0.unused > $1.unused || ($0.unused == $1.unused && $0.pack < $1.pack) }
    var repack = [(pack: ID, unused: UInt64, type: BlobType)]()
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
        let ofKind = small.filter { $0.type == kind }.sorted { $0.pack < $1.pack }
        let rewritingKind = repack.contains { $0.type == kind }
        guard ofKind.count >= 2 || (ofKind.count == 1 && rewritingKind) else { continue }
        for p in ofKind where !chosen.contains(p.pack) {
          repack.append(p)
          keptUnused -= p.unused
        }
        report.smallPacksCombined += ofKind.count
      }
    }
    // The entries of the packs to repack, and only those.
    let repackEntries = repository.index.entries(inPacks: Set(repack.map(\.pack)))
    // Resuming an interrupted prune: the data packs it wrote are unindexed, and hold blobs to
    // be copied now. One whose every blob is used, to be copied and not yet covered is taken
    // as it is (its header is sealed, its blobs were verified when copied): indexed, its blobs
    // not copied again. Any other unindexed pack is deleted, as before.
    var resumed = [IndexFile.Pack]()
    var covered = Set<ID>()
    if !unindexed.isEmpty && !repack.isEmpty {
      var toCopy = Set<ID>()
      for (_, entries) in repackEntries { for e in entries where e.type == .data && used.contains(e.id) { toCopy.insert(e.id) } }
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
    let storedSizes = Dictionary(stored.map { ($0.name, UInt64($0.size)) }, uniquingKeysWith: { a, _ in a })
    report.bytesFreed =
      unusedPacks.reduce(UInt64(0)) { $0 + (sizes[$1] ?? 0) }
      + unindexed.reduce(UInt64(0)) { $0 + (storedSizes[$1] ?? 0) }
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
      for e in (repackEntries[p.pack] ?? []).sorted(by: { $0.offset < $1.offset }) where used.contains(e.id) && !covered.contains(e.id) {
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

    // 3. New index files: those that name a dropped pack are rewritten without it, one at a
    // time, and the new packs added; the last new file supersedes the rewritten ones, so an
    // interruption before it leaves them in force. 4. Then the old files are deleted (inside
    // rewriteIndex), then the packs nothing indexes any more.
    report.indexFilesReplaced = try await repository.rewriteIndex(dropping: dropped.union(leaveIndex), adding: newPacks).replaced
    for pack in dropped {
      try await Repository.storage { try await repository.backend.remove(Handle(.pack, pack.hex)) }
    }
    for name in unindexed {
      try await Repository.storage { try await repository.backend.remove(Handle(.pack, name)) }
    }
    return report
  }

  private func markUsed(tree: ID, trees: inout Set<ID>, data: inout [UInt64]) async throws {
    guard trees.insert(tree).inserted else { return }
    let t: Tree
    do {
      t = try await repository.loadTree(tree, cache: false)
    } catch {
      throw LifeboatError(
        .corrupt, "refusing to prune: tree \(tree.short) cannot be read (\(error))",
        hint: "run `lifeboat check --read-data` to find the damage")
    }
    for n in t.nodes {
      data.append(contentsOf: n.content.lazy.map(\.w0))
      if let s = n.subtree { try await markUsed(tree: s, trees: &trees, data: &data) }
    }
  }
}

/// The blobs some snapshot uses, by the first 8 bytes of their IDs: one sorted array of words,
/// searched by interpolation (IDs are uniformly random), 8 bytes per used blob (a set of IDs
/// takes about 64). Deciding on a word can only err one way: an unused blob whose ID shares its
/// first word with a used one (about one in 2^64 / used blobs) is taken for used and kept, which
/// costs its bytes and nothing else; a used blob is never taken for unused.
struct UsedBlobs: Sendable {
  private var words: [UInt64]

  init(_ words: consuming [UInt64]) {
    var a = words
    a.sort()
    var w = 0
    for i in a.indices where w == 0 || a[i] != a[w - 1] {
      a[w] = a[i]
      w += 1
    }
    a.removeLast(a.count - w)
    self.words = a
  }

  /// Distinct first words: the used blobs, short of the rare pair that shares one.
  var count: Int { words.count }

  func contains(_ id: ID) -> Bool {
    let key = id.w0
    return words.withUnsafeBufferPointer { buf in
      var lo = 0
      var hi = buf.count - 1
      var steps = 0
      while lo <= hi {
        steps += 1
        let a0 = buf[lo]
        let b0 = buf[hi]
        if key < a0 || key > b0 { return false }
        var mid = (lo + hi) / 2
        if b0 > a0 && steps < 8 {
          mid = min(max(lo + Int(Double(key - a0) / Double(b0 - a0) * Double(hi - lo)), lo), hi)
        }
        let m = buf[mid]
        if m == key { return true }
        if m < key { lo = mid + 1 } else { hi = mid - 1 }
      }
      return false
    }
  }
}
