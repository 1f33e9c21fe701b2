public import Foundation
public import LifeboatCore
import LifeboatFormat
public import LifeboatRepository

/// Copies snapshots into another repository with other keys and another chunker secret: file
/// contents are streamed out of the source, cut again with the destination's chunker and
/// deduplicated against the destination, trees are rebuilt with the new IDs, and the snapshot
/// keeps its time, host, paths and tags and records the source snapshot as `original`.
/// Subtrees shared between the copied snapshots are converted once.
///
/// The caller holds a shared lock on both repositories and calls `saver.flush()` before the
/// snapshots are saved — `copy` does both.
public final class SnapshotCopier: @unchecked Sendable {
  let source: Repository
  let destination: Repository
  let saver: BlobSaver
  private var converted: [ID: ID] = [:]
  private let compressor: ZstdCompressor?
  private let buffer: UnsafeMutableRawBufferPointer
  public private(set) var bytesCopied: UInt64 = 0

  public init(source: Repository, destination: Repository, saver: BlobSaver) {
    self.source = source
    self.destination = destination
    self.saver = saver
    compressor = destination.config.compressor()
    buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: destination.chunker.configuration.maxSize + (2 << 20), alignment: 64)
  }

  deinit { buffer.deallocate() }

  /// Converts one snapshot; returns the destination snapshot (not yet saved).
  public func copy(_ id: ID, _ snapshot: Snapshot) async throws -> Snapshot {
    var s = snapshot
    s.tree = try await convertTree(snapshot.tree)
    s.parent = nil
    s.original = snapshot.original ?? id
    return s
  }

  /// Carries the source's marks to the destination's copies of the same snapshots (matched
  /// by `original`): protections and suspicions, made before or after the copy, and — where
  /// the destination accepts them (`releases`; a Lifeboat server does not) — releases. A
  /// protection the source cannot read still protects the copy. Marks the destination already
  /// holds are not written again. Returns how many were added.
  @discardableResult
  public static func copyMarks(from source: Repository, into destination: Repository, releases: Bool = true, now: Date)
    async throws -> Int
  {
    let sourceMarks = try await source.loadMarks()
    guard !sourceMarks.marks.isEmpty || !sourceMarks.unreadableProtections.isEmpty else { return 0 }
    let sourceSnapshots = try await source.listSnapshots().snapshots
    var byOriginal: [ID: [SnapshotMark]] = [:]
    for (id, snap) in sourceSnapshots {
      var marks = sourceMarks.marks[id] ?? []
      if sourceMarks.unreadableProtections.contains(id), let p = sourceMarks.protection(of: id, now: now) {
        marks.append(
          SnapshotMark(snapshot: id, kind: .protect, reason: "protected in the source by " + p.reason, time: now, author: p.author))
      }
      byOriginal[snap.original ?? id, default: []] += marks
    }
    let existing = try await destination.loadMarks()
    var added = 0
    for (id, snap) in try await destination.listSnapshots().snapshots {
      for var m in byOriginal[snap.original ?? id] ?? [] where releases || m.knownKind != .release {
        m.snapshot = id
        if existing.contains(m, on: id) || (m.reason.hasPrefix("protected in the source by") && existing.protection(of: id, now: now) != nil) {
          continue
        }
        try await destination.addMark(m)
        added += 1
      }
    }
    return added
  }

  private func convertTree(_ id: ID) async throws -> ID {
    if let done = converted[id] { return done }
    let tree = try await source.loadTree(id)
    var nodes = [Node]()
    nodes.reserveCapacity(tree.nodes.count)
    for var n in tree.nodes {
      try Task.checkCancellation()
      if let sub = n.subtree { n.subtree = try await convertTree(sub) }
      if n.kind == .file && !n.content.isEmpty { n.content = try await rechunk(n.content) }
      nodes.append(n)
    }
    let r = try await saver.save(.tree, bytes: TreeFormat.encode(Tree(nodes: nodes)), compressor: compressor)
    converted[id] = r.id
    return r.id
  }

  /// Streams a file's blobs from the source through the destination's chunker.
  private func rechunk(_ blobs: [ID]) async throws -> [ID] {
    let chunker = destination.chunker
    var out = [ID]()
    var end = 0
    func cut(atEnd: Bool) async throws {
      var start = 0
      while start < end {
        let window = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
        guard let n = chunker.nextCut(window, atEnd: atEnd) else { break }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[start..<start + n])
        let r = try await saver.commit(saver.prepare(.data, chunk, compressor: compressor))
        out.append(r.id)
        if r.isNew { bytesCopied += UInt64(n) }
        start += n
      }
      if start > 0 {
        if end > start {
          buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
        }
        end -= start
      }
    }
    for b in blobs {
      let plain = try await source.loadBlob(b)
      var offset = 0
      while offset < plain.count {
        let room = buffer.count - end
        let take = min(room, plain.count - offset)
        plain.withUnsafeBytes { raw in
          (buffer.baseAddress! + end).copyMemory(from: raw.baseAddress! + offset, byteCount: take)
        }
        end += take
        offset += take
        if end == buffer.count { try await cut(atEnd: false) }
      }
    }
    try await cut(atEnd: true)
    return out
  }
}
