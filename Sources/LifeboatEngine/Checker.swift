public import Foundation
import Synchronization
public import LifeboatCore
import LifeboatFormat
import CLifeboatSystem
import LifeboatStorage
public import LifeboatRepository

public struct CheckOptions: Sendable {
  public enum ReadData: Sendable, Equatable {
    case none
    case all
    /// A percentage of packs, chosen at random (a different subset each run).
    case subset(percent: Double)
    /// The packs `ledger` says are due so that each is read at least once per `maxAge`
    /// (`VerificationLedger.due`).
    case due(maxAge: TimeInterval, ledger: VerificationLedger, now: Date)
  }

  public var readData: ReadData = .none
  public var workers: Int = ProcessInfo.processInfo.activeProcessorCount
  /// On remote storage each reader waits on a GET: more of them in flight hide the latency.
  public var remoteWorkers: Int = 4 * ProcessInfo.processInfo.activeProcessorCount

  /// Packs whose bytes this check has already hashed and found to match their names
  /// (`PackPrehasher`, while the key was derived); reading their data skips the pack hash.
  public var namesVerified: Set<ID> = []

  public init(readData: ReadData = .none) {
    self.readData = readData
  }
}

/// What `check` found. Errors mean data is lost or unreachable; notes are harmless leftovers.
public struct CheckReport: Sendable, Codable {
  public struct Problem: Sendable, Codable, Hashable {
    public var kind: String
    public var object: String
    public var detail: String

    public init(kind: String, object: String, detail: String) {
      self.kind = kind
      self.object = object
      self.detail = detail
    }
  }

  public struct AffectedFile: Sendable, Codable, Hashable {
    public var snapshot: String
    public var path: String
  }

  public var errors: [Problem] = []
  public var notes: [Problem] = []
  public var damagedPacks: [String] = []
  public var affected: [AffectedFile] = []
  public var snapshots = 0
  public var packs = 0
  public var packsRead = 0
  /// Bytes of pack data read (the egress a check costs on remote storage).
  public var bytesRead: UInt64 = 0
  public var blobs = 0
  public var trees = 0
  /// Immutable repositories: objects in use whose lock reaches the horizon.
  public var lockedObjects: Int?

  public var isClean: Bool { errors.isEmpty }
}

/// Verifies a repository: structure always, and the data itself with `--read-data`.
///
/// Structure: every index file opens; every indexed pack exists with the indexed size; every
/// snapshot opens and every tree and blob it references is indexed and every tree decodes.
/// Data: each selected pack is read whole; its SHA-256 must equal its name, its header must
/// open and agree with the index, and every blob must open and match its keyed ID. Damage is
/// traced back to the snapshots and files that use it.
public final class Checker: Sendable {
  let repository: Repository
  let options: CheckOptions
  public let progress: OperationProgress
  private let outcome = Mutex<(clean: Set<ID>, damaged: Set<ID>, existing: Set<ID>)>(([], [], []))

  public init(repository: Repository, options: CheckOptions, progress: OperationProgress = OperationProgress()) {
    self.repository = repository
    self.options = options
    self.progress = progress
  }

  /// After `run`: the packs read whose every byte verified, those found damaged, and every
  /// pack the repository holds (for `VerificationLedger.record`).
  public var packsVerified: (clean: Set<ID>, damaged: Set<ID>, existing: Set<ID>) { outcome.withLock { $0 } }

  public func run() async throws -> CheckReport {
    var report = CheckReport()
    progress.update { $0.phase = "loading index" }
    var loaded = repository.lastIndexReport
    if loaded == nil { loaded = try await repository.loadIndex() }
    for d in loaded?.damaged ?? [] {
      report.errors.append(.init(kind: "index", object: "index/\(d.name)", detail: d.error))
    }
    if let problem = loaded?.cacheProblem {
      // This machine's copy, not the repository: rebuilt from the index files, said once.
      report.notes.append(.init(kind: "index-cache", object: "local index cache", detail: problem))
    }

    // Packs: indexed vs stored.
    progress.update { $0.phase = "checking packs" }
    let stored = try await Repository.storage { try await repository.backend.list(.pack) }
    let storedSizes = Dictionary(stored.map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
    // One number per pack, not every entry: an index of twenty million blobs (read from
    // the index cache) is passed over once, not gathered.
    let indexed = repository.index.packExtents()
    report.packs = stored.count
    var badPacks = Set<ID>()
    for (pack, end) in indexed {
      let needed = Int(end)
      guard let size = storedSizes[pack.hex] else {
        report.errors.append(
          .init(kind: "pack", object: "data/\(pack.hex)", detail: "indexed pack is missing"))
        badPacks.insert(pack)
        continue
      }
      if size < needed + 4 + Envelope.overhead {
        report.errors.append(
          .init(kind: "pack", object: "data/\(pack.hex)", detail: "pack is shorter (\(size) bytes) than its index says"))
        badPacks.insert(pack)
      }
    }
    let named = Set(repository.index.packIDs)
    for s in stored where ID(hex: s.name).map({ indexed[$0] == nil }) ?? true {
      // Named by an index file, but every blob of it indexed in another pack: a second copy.
      let detail = ID(hex: s.name).map(named.contains) == true
        ? "every blob in it is also stored in another pack (two backups stored the same data at once); prune removes it"
        : "not referenced by any index (left by an interrupted backup; prune removes it)"
      report.notes.append(.init(kind: "pack", object: "data/\(s.name)", detail: detail))
    }

    // Snapshots and trees are walked while the data is read. The walk decodes every distinct
    // tree on one core; after the data phase it ran alone for 0.2-0.3 s on `src` (3 snapshots,
    // 173,000 files). Beside it: median 1.72 -> 1.57 s, 7 MB more at the peak. It runs again
    // only when the data phase finds damage, to trace that damage to files.
    let list = try await repository.listSnapshots()
    async let firstWalk = walkSnapshots(list, damaged: [])

    // Data.
    var damagedBlobs = Set<ID>()
    var lostInPack = [ID: Set<ID>]()
    let toRead: [ID]
    switch options.readData {
    case .none: toRead = []
    case .all: toRead = Array(indexed.keys).filter { !badPacks.contains($0) }
    case .subset(let pct):
      let all = Array(indexed.keys).filter { !badPacks.contains($0) }.shuffled()
      toRead = Array(all.prefix(Int((Double(all.count) * pct / 100).rounded(.up))))
    case .due(let maxAge, let ledger, let now):
      toRead = ledger.due(packs: Array(indexed.keys).filter { !badPacks.contains($0) }, maxAge: maxAge, now: now)
    }
    if !toRead.isEmpty {
      progress.update {
        $0.phase = "reading data"
        $0.filesTotal = toRead.count
        $0.bytesTotal = toRead.reduce(0) { $0 + UInt64(storedSizes[$1.hex] ?? 0) }
      }
      let results = try await readPacks(toRead, indexed: repository.index.entries(inPacks: Set(toRead)), sizes: storedSizes)
      report.packsRead = toRead.count
      report.bytesRead = toRead.reduce(0) { $0 + UInt64(storedSizes[$1.hex] ?? 0) }
      outcome.withLock { o in
        for (pack, problems, _) in results { if problems.isEmpty { o.clean.insert(pack) } else { o.damaged.insert(pack) } }
      }
      for (pack, problems, blobs) in results where !problems.isEmpty {
        badPacks.insert(pack)
        lostInPack[pack, default: []].formUnion(blobs)
        for p in problems {
          report.errors.append(.init(kind: "pack", object: "data/\(pack.hex)", detail: p))
        }
      }
    }
    // The readers' buffers are free now; give them back.
    lifeboat_release_free_memory()
    let unread = badPacks.filter { lostInPack[$0] == nil }
    if !unread.isEmpty {
      for (p, entries) in repository.index.entries(inPacks: unread) { lostInPack[p] = Set(entries.map(\.id)) }
      for p in unread where lostInPack[p] == nil { lostInPack[p] = [] }
    }
    // A tree pack and its mirror hold the same blobs: a blob is lost only when both copies are.
    var alternate = [ID: ID]()
    for (m, p) in repository.index.mirrors {
      alternate[m] = p
      alternate[p] = m
    }
    for (pack, blobs) in lostInPack {
      guard let other = alternate[pack] else {
        damagedBlobs.formUnion(blobs)
        continue
      }
      if let otherLost = lostInPack[other] {
        damagedBlobs.formUnion(blobs.intersection(otherLost))
      } else {
        report.notes.append(
          .init(kind: "pack", object: "data/\(pack.hex)",
            detail: "its mirror data/\(other.hex) holds the same trees intact: no snapshot loses anything"))
      }
    }
    report.damagedPacks = badPacks.map(\.hex).sorted()
    outcome.withLock { o in
      o.damaged.formUnion(badPacks)
      o.existing = Set(stored.compactMap { ID(hex: $0.name) })
    }

    progress.update { $0.phase = "checking snapshots" }
    var structure = try await firstWalk
    if !damagedBlobs.isEmpty {
      structure = try await walkSnapshots(list, damaged: damagedBlobs)
    }
    report.snapshots = list.snapshots.count
    for d in list.damaged {
      report.errors.append(.init(kind: "snapshot", object: "snapshots/\(d.name)", detail: d.error))
    }
    report.errors += structure.errors
    report.affected = structure.affected
    report.trees = structure.trees
    report.blobs = repository.index.blobCount
    return report
  }

  /// What walking every snapshot found: unreadable trees, blobs missing from the index, and
  /// the files that use them or any of `damaged`.
  struct Structure: Sendable {
    var errors: [CheckReport.Problem] = []
    var affected: [CheckReport.AffectedFile] = []
    var trees = 0
  }

  /// Walks every snapshot's trees, each distinct tree once unless there is damage to trace.
  func walkSnapshots(_ list: Repository.SnapshotList, damaged damagedBlobs: Set<ID>) async throws -> Structure {
    var out = Structure()
    var seenTrees = Set<ID>()
    var reportedMissing = Set<ID>()
    var anyMissing = false
    let walker = TreeWalker(repository: repository, cacheTrees: false)
    for (id, snap) in list.snapshots {
      var affected = Set<String>()
      if damagedBlobs.contains(snap.tree) || !repository.index.contains(snap.tree) {
        affected.insert("/")
      }
      try await walker.walk(
        root: snap.tree,
        visit: { path, node in
          if let sub = node.subtree {
            if !repository.index.contains(sub) || damagedBlobs.contains(sub) {
              affected.insert(PathBytes.display(path))
            }
            if !seenTrees.insert(sub).inserted {
              // Already checked under another snapshot; walk it again only to trace damage.
              return !damagedBlobs.isEmpty || anyMissing
            }
          }
          // Every content blob is looked up in the index (a sorted-array search); a set of
          // the blobs already seen would cost more memory and hashing than it saves.
          for b in node.content where !repository.index.contains(b) || damagedBlobs.contains(b) {
            if !repository.index.contains(b), reportedMissing.insert(b).inserted {
              anyMissing = true
              out.errors.append(
                .init(
                  kind: "blob", object: b.hex,
                  detail: "referenced by \(PathBytes.display(path)) but not in any index"))
            }
            affected.insert(PathBytes.display(path))
          }
          return true
        },
        onError: { path, error in
          let p = PathBytes.display(path)
          affected.insert(p)
          out.errors.append(.init(kind: "tree", object: "snapshot \(id.short) \(p)", detail: "\(error)"))
        })
      for p in affected.sorted() {
        out.affected.append(.init(snapshot: id.hex, path: p))
      }
    }
    out.trees = seenTrees.count
    return out
  }

  /// Reads packs in parallel; returns per pack the problems found and the blobs affected.
  func readPacks(_ packs: [ID], indexed: [ID: [PackEntry]], sizes: [String: Int]) async throws
    -> [(ID, [String], Set<ID>)]
  {
    let queue = WorkQueue(count: packs.count)
    let out = SharedBox([(ID, [String], Set<ID>)]())
    let workers = repository.backend.isRemote ? max(options.workers, options.remoteWorkers) : options.workers
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<workers {
        group.addTask(executorPreference: BlockingExecutor.shared) { [self] in
          let d = ZstdDecompressor()
          let window = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.window, alignment: 64)
          defer { window.deallocate() }
          while let i = queue.take() {
            try Task.checkCancellation()
            let r = await readPack(
              packs[i], expected: indexed[packs[i]] ?? [], size: sizes[packs[i].hex] ?? 0,
              window: window, decompressor: d)
            out.withLock { $0.append((packs[i], r.0, r.1)) }
            progress.add(files: 1, bytes: UInt64(sizes[packs[i].hex] ?? 0))
          }
        }
      }
      try await group.waitForAll()
    }
    return out.withLock { $0 }
  }

  /// The size of a reader's window: the bytes of a pack it holds at once.
  static let window = 2 << 20

  /// Reads one pack front to back in windows of whole blobs, hashing every byte and opening
  /// every blob from the window that holds it. A window is up to 2 MiB of blobs, or one larger
  /// blob alone, so nothing is carried over to the next window. Each reader reads into its
  /// own `window`, allocated once; only a blob larger than that gets a buffer of its own,
  /// which, at over 4 MiB (CLifeboatSystem's mapping threshold), goes back to the system at
  /// once.
  func readPack(
    _ id: ID, expected: [PackEntry], size: Int, window reusable: UnsafeMutableRawBufferPointer,
    decompressor: ZstdDecompressor
  ) async -> ([String], Set<ID>) {
    let keys = repository.keys
    var problems = [String]()
    var damaged = Set<ID>()
    var entries = expected
    do {
      let header = try await repository.loadPackHeader(id, size: size)
      if !Set(expected).isSubset(of: Set(header)) {
        problems.append("pack header does not agree with the index")
      }
      entries = header
    } catch {
      problems.append("header: \(error)")
    }
    entries.sort { $0.offset < $1.offset }
    var hasher = SHA256Stream()
    let hashPack = !options.namesVerified.contains(id)
    var position = 0
    var next = 0
    while position < size {
      var windowEnd = min(position + reusable.count, size)
      var crossing = next
      while crossing < entries.count,
        Int(entries[crossing].offset) + Int(entries[crossing].length) <= windowEnd
      {
        crossing += 1
      }
      if crossing < entries.count, Int(entries[crossing].offset) < windowEnd {
        // A blob crosses the window's end: end the window where it starts, or, when it
        // starts here, make the window that blob alone.
        let e = entries[crossing]
        windowEnd = Int(e.offset) > position ? Int(e.offset) : min(Int(e.offset) + Int(e.length), size)
      }
      let length = windowEnd - position
      let large =
        length > reusable.count
        ? UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 64) : nil
      defer { large?.deallocate() }
      let window = UnsafeRawBufferPointer(large ?? UnsafeMutableRawBufferPointer(rebasing: reusable[..<length]))
      do {
        try await repository.backend.read(
          Handle(.pack, id.hex), offset: position,
          into: UnsafeMutableRawBufferPointer(mutating: window))
      } catch {
        problems.append("cannot read at offset \(position): \(error)")
        damaged.formUnion(entries[next...].map(\.id))
        return (problems, damaged)
      }
      if hashPack { hasher.update(window) }
      while next < entries.count, Int(entries[next].offset) + Int(entries[next].length) <= windowEnd {
        let e = entries[next]
        next += 1
        let lo = Int(e.offset) - position
        guard lo >= 0 else {
          problems.append("blob \(e.id.short) overlaps another blob")
          damaged.insert(e.id)
          continue
        }
        do {
          try PackFormat.verifyBlob(
            UnsafeRawBufferPointer(rebasing: window[lo..<lo + Int(e.length)]), entry: e, keys: keys,
            decompressor: decompressor)
        } catch {
          problems.append("blob \(e.id.short) (\(e.type.name)) at offset \(e.offset): \(error)")
          damaged.insert(e.id)
        }
      }
      position = windowEnd
    }
    for e in entries[next...] {
      problems.append("blob \(e.id.short) extends past the end of the pack")
      damaged.insert(e.id)
    }
    if hashPack, hasher.finalize() != id {
      problems.append("content does not match its name (SHA-256 mismatch): the pack was modified or damaged")
    }
    if !problems.isEmpty && damaged.isEmpty {
      // The pack as a whole is untrustworthy even if each blob opened.
      damaged.formUnion(expected.map(\.id))
    }
    return (problems, damaged)
  }
}
