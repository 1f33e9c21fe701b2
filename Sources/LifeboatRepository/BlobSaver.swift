import Synchronization
public import LifeboatCore
public import LifeboatFormat
import LifeboatStorage

/// The narrow capability the backup pipeline needs: store a blob, learn whether it was new.
public protocol BlobSaving: Sendable {
  func save(_ type: BlobType, _ plaintext: UnsafeRawBufferPointer, compressor: ZstdCompressor?)
    async throws -> BlobSaver.Result
}

/// Packs new blobs and uploads packs, then records them in index files.
///
/// Ordering (docs/design.md §Write order): a pack is uploaded before any index file names it;
/// index files are written every `indexEvery` packs and on `flush`, so an interrupted backup
/// leaves indexed packs that the next backup reuses; the caller writes the snapshot only after
/// `flush` returns. Thread-safe: several workers share one saver, each bringing its own
/// compressor. Hashing, compression and encryption happen outside the lock (`prepare`); under
/// it a sealed blob is only appended to the open pack of its type (one for data, one for
/// trees), and the worker that fills a pack uploads it while the others start the next one.
/// A pack of trees is uploaded twice, as itself and as a mirror (docs/design.md §7).
public final class BlobSaver: BlobSaving {
  public struct Result: Sendable {
    public var id: ID
    /// False when the repository (or another worker) already had it.
    public var isNew: Bool
    /// Bytes written for it (0 when not new).
    public var storedLength: Int
  }

  public struct Statistics: Sendable {
    public var packs = 0
    public var indexFiles = 0
    public var blobs = 0
    public var storedBytes: UInt64 = 0
  }

  private let repository: Repository
  private let indexEvery: Int
  private let onPackSaved: @Sendable () async throws -> Void
  private struct State {
    /// The pack data blobs are being added to.
    var current: PackBuilder?
    /// The pack tree blobs are being added to: trees get packs of their own, and each is
    /// written twice (a mirror), so no single pack's loss leaves a snapshot without its map.
    var currentTrees: PackBuilder?
    var unindexed: [IndexFile.Pack] = []
    var stats = Statistics()
  }
  private let state = Mutex(State())

  /// - Parameter onPackSaved: called after each pack upload (used to refresh the lock).
  public init(
    repository: Repository, indexEvery: Int = 8,
    onPackSaved: @escaping @Sendable () async throws -> Void = {}
  ) {
    self.repository = repository
    self.indexEvery = indexEvery
    self.onPackSaved = onPackSaved
  }

  public var statistics: Statistics { state.withLock { $0.stats } }

  /// A blob sealed and ready to be packed (or known already).
  public struct Prepared: Sendable {
    var type: BlobType
    var id: ID
    var sealed: [UInt8]
    var compressed: Bool
    var rawLength: Int
    var isNew: Bool
  }

  /// Hashes, claims and seals a blob (CPU work, no waiting).
  public func prepare(
    _ type: BlobType, _ plaintext: UnsafeRawBufferPointer, compressor: ZstdCompressor?
  ) -> Prepared {
    let keys = repository.keys
    let id = keys.blobID(plaintext)
    guard repository.index.reserve(id) else {
      return Prepared(type: type, id: id, sealed: [], compressed: false, rawLength: plaintext.count, isNew: false)
    }
    let (sealed, compressed) = PackFormat.sealBlob(plaintext, keys: keys, compressor: compressor)
    return Prepared(
      type: type, id: id, sealed: sealed, compressed: compressed, rawLength: plaintext.count,
      isNew: true)
  }

  /// Adds a prepared blob to the current pack; the worker that fills it uploads it (outside
  /// the lock) while the others go on with a new pack. One pack is open at a time, so memory
  /// stays at about one pack per uploading worker plus one.
  public func commit(_ p: Prepared) async throws -> Result {
    guard p.isNew else { return Result(id: p.id, isNew: false, storedLength: 0) }
    let packSize = repository.config.packSize
    // Room for the blob that crosses the target size and the header, so a pack's buffer is
    // never reallocated (and copied) while it fills.
    let maxBlob = repository.config.chunker.maxSize + Envelope.overhead + (1 << 20)
    let full: PackBuilder? = state.withLock { s in
      if p.type == .tree {
        // Trees are small: their buffer starts small and grows.
        if s.currentTrees == nil { s.currentTrees = PackBuilder(capacity: 1 << 20) }
        _ = s.currentTrees!.add(
          id: p.id, type: p.type, sealed: p.sealed, compressed: p.compressed, rawLength: p.rawLength)
        guard s.currentTrees!.count >= packSize else { return nil }
        defer { s.currentTrees = nil }
        return s.currentTrees
      }
      if s.current == nil {
        s.current = PackBuilder(capacity: packSize + maxBlob)
      }
      _ = s.current!.add(
        id: p.id, type: p.type, sealed: p.sealed, compressed: p.compressed, rawLength: p.rawLength)
      guard s.current!.count >= packSize else { return nil }
      defer { s.current = nil }
      return s.current
    }
    if var full {
      try await upload(&full)
      // The buffer is released here rather than kept for the next pack: an idle 16 MiB
      // buffer would count in peak memory (measured: 10 MB less on src, same time).
    }
    return Result(id: p.id, isNew: true, storedLength: p.sealed.count)
  }

  public func save(
    _ type: BlobType, _ plaintext: UnsafeRawBufferPointer, compressor: ZstdCompressor?
  ) async throws -> Result {
    try await commit(prepare(type, plaintext, compressor: compressor))
  }

  public func save(_ type: BlobType, bytes: [UInt8], compressor: ZstdCompressor?) async throws
    -> Result
  {
    let p = bytes.withUnsafeBytes { prepare(type, $0, compressor: compressor) }
    return try await commit(p)
  }

  private func upload(_ packer: inout PackBuilder) async throws {
    let (id, bytes, entries) = packer.finish(keys: repository.keys)
    // A pack of trees goes to storage twice, as two objects (docs/design.md §7).
    let mirror = entries.first?.type == .tree ? PackFormat.mirror(of: bytes, entries: entries, keys: repository.keys) : nil
    do {
      try await Repository.storage {
        try await repository.backend.save(Handle(.pack, id.hex), data: bytes)
      }
      if let mirror {
        try await Repository.storage {
          try await repository.backend.save(Handle(.pack, mirror.id.hex), data: mirror.bytes)
        }
      }
    } catch {
      repository.index.release(entries.map(\.id))
      throw error
    }
    repository.index.add(pack: id, entries: entries)
    if let mirror { repository.index.add(pack: mirror.id, entries: entries) }
    let batch: [IndexFile.Pack]? = state.withLock { s in
      s.stats.packs += mirror == nil ? 1 : 2
      s.stats.blobs += entries.count
      s.stats.storedBytes += UInt64(bytes.count + (mirror?.bytes.count ?? 0))
      s.unindexed.append(IndexFile.Pack(id: id, entries: entries))
      if let mirror { s.unindexed.append(IndexFile.Pack(id: mirror.id, entries: entries)) }
      guard s.unindexed.count >= indexEvery else { return nil }
      defer { s.unindexed.removeAll() }
      return s.unindexed
    }
    if let batch { try await writeIndex(batch) }
    try await onPackSaved()
  }

  private func writeIndex(_ packs: [IndexFile.Pack]) async throws {
    guard !packs.isEmpty else { return }
    try await repository.saveIndex(IndexFile(packs: packs))
    state.withLock { $0.stats.indexFiles += 1 }
  }

  /// Drops the blobs packed but not uploaded (after a failed run), releasing their claims in
  /// the index so that a later run in this process stores them.
  public func discard() {
    let packers = state.withLock { s in
      defer {
        s.current = nil
        s.currentTrees = nil
      }
      return [s.current, s.currentTrees].compactMap { $0 }
    }
    for packer in packers { repository.index.release(packer.entries.map(\.id)) }
  }

  /// After a failed run: writes the index entries of packs that were uploaded but not yet
  /// indexed, so the next backup reuses them instead of uploading their blobs again. An index
  /// file is a few kilobytes, so this usually succeeds where a 16 MiB pack did not fit; when
  /// it fails too, the packs stay unindexed until `prune` removes them.
  @discardableResult
  public func salvageIndex() async -> Bool {
    let rest = state.withLock { s in
      defer { s.unindexed.removeAll() }
      return s.unindexed
    }
    do {
      try await writeIndex(rest)
      return true
    } catch {
      return false
    }
  }

  /// Uploads every partly filled pack and writes the remaining index entries. After it
  /// returns, every blob saved so far is durable and indexed.
  public func flush() async throws {
    let packers = state.withLock { s in
      defer {
        s.current = nil
        s.currentTrees = nil
      }
      return [s.current, s.currentTrees].compactMap { $0 }
    }
    for var p in packers where !p.isEmpty {
      try await upload(&p)
    }
    // The buffers are released here: after a flush the saver holds no memory.
    let rest = state.withLock { s in
      defer { s.unindexed.removeAll() }
      return s.unindexed
    }
    try await writeIndex(rest)
  }
}
