import Foundation
import Synchronization
#if canImport(Glibc)
  import Glibc
#endif
import CLifeboatSystem
public import LifeboatCore
import LifeboatFormat
import LifeboatStorage
public import LifeboatRepository

public struct RestoreOptions: Sendable {
  public var target: String
  /// Restore only paths matching one of these globs (and what is below them); empty = all.
  public var includes: [String] = []
  /// Skip paths matching one of these patterns (and what is below them), as `backup --exclude`
  /// reads them: a pattern without `/` matches a name, one with `/` the path in the snapshot.
  public var excludes: [String] = []
  /// Read every restored file back and compare it with the snapshot.
  public var verify = false
  /// Restore owners (needs root); defaults to whether we are root.
  public var restoreOwnership = getuid() == 0
  /// Twice the cores: creating and writing files waits on the filesystem as much as it computes.
  /// On remote storage (S3, a Lifeboat server) four times that: each worker waits on one ranged
  /// GET at a time, and more requests in flight hide the network's latency.
  public var workers: Int = 2 * ProcessInfo.processInfo.activeProcessorCount
  public var remoteWorkers: Int = 8 * ProcessInfo.processInfo.activeProcessorCount
  /// Files restored at once. Each costs a few hundred bytes while its batch is restored
  /// (path, node, blob list), so a restore's memory is one batch's, whatever the snapshot's
  /// size; a million-file snapshot is restored in 20 batches.
  public var batchFiles = 50_000

  public init(target: String) {
    self.target = target
  }
}

public struct RestoreResult: Sendable {
  public var files = 0
  /// What was restored, each counted once: regular files (`files`, with `bytes` of content),
  /// further names of a file already restored (`hardLinks`), `directories`, `symlinks`, and
  /// `otherNodes` (devices and fifos). `--verify` reads back the `files`.
  public var directories = 0
  public var hardLinks = 0
  public var symlinks = 0
  public var otherNodes = 0
  public var bytes: UInt64 = 0
  /// Files that could not be restored intact (damaged or missing data); they were removed.
  public var damagedFiles: [String] = []
  /// Files the target refused (no space, permissions, I/O): nothing is wrong with their data
  /// in the repository; they were removed and a restore to a target with room writes them.
  public var unwrittenFiles: [String] = []
  /// The target ran out of space (ENOSPC or EDQUOT) during the restore.
  public var targetFull = false
  /// Sockets in the snapshot, which are recorded but not recreated (like restic and tar): a
  /// socket is made by the program that listens on it.
  public var socketsSkipped = 0
  /// Other failures (metadata, special files, unreadable trees).
  public var errors: [String] = []
  public var verifiedFiles = 0
  public var verifyFailures: [String] = []

  public var isComplete: Bool {
    damagedFiles.isEmpty && unwrittenFiles.isEmpty && errors.isEmpty && verifyFailures.isEmpty
  }
}

/// Restore pipeline: plan → create → fill (parallel, pack by pack) → metadata → verify.
///
/// Contents are written pack by pack: each worker loads the byte range of one pack that holds
/// needed blobs, opens and verifies each blob against its keyed ID, and writes it with pwrite
/// to every place it belongs. All-zero blobs are not written, so sparse files stay sparse.
/// A blob that fails verification marks its files damaged; those files are removed at the end
/// and reported, everything else is restored.
public final class Restorer: Sendable {
  let repository: Repository
  let options: RestoreOptions
  public let progress: OperationProgress

  public init(repository: Repository, options: RestoreOptions, progress: OperationProgress = OperationProgress()) {
    self.repository = repository
    self.options = options
    self.progress = progress
  }

  struct FilePlan: Sendable {
    var target: [UInt8]
    var node: Node
    var display: String
  }

  struct Placement: Sendable {
    var file: Int
    var offset: UInt64
  }

  /// One batch of files to restore (`batchFiles` at most): the restore walks the snapshot
  /// and restores each batch as it fills, so its memory is one batch, not the snapshot.
  final class Plan: @unchecked Sendable {
    var files: [FilePlan] = []
  }

  /// What the walk keeps for the whole restore: directories (their metadata is applied last,
  /// deepest first), hard links (made once every file is written) and the first path of
  /// each multiply-linked inode.
  final class Walk: @unchecked Sendable {
    var dirs: [(target: [UInt8], node: Node)] = []
    var links: [(target: [UInt8], to: InodeKey)] = []
    var firstPaths: [InodeKey: [UInt8]] = [:]
    /// Inodes whose first path could not be restored: their links are not made.
    var lost: Set<InodeKey> = []
    var result = RestoreResult()
    var batch = Plan()
  }


  public func run(snapshot: Snapshot) async throws -> RestoreResult {
    let target = Array(options.target.utf8)
    // Into a new or empty directory nothing needs truncating or replacing first.
    let fresh = (try? FS.listDirectory(target).get().isEmpty) ?? true
    if mkdirAll(target) != 0 {
      throw LifeboatError(.fatal, "cannot create target \(options.target): \(FS.errorText(errno))")
    }
    progress.update {
      $0.phase = "restoring"
      // The whole snapshot: its summary knows the totals before the walk does.
      if options.includes.isEmpty && options.excludes.isEmpty, let s = snapshot.summary {
        $0.filesTotal = s.totalFilesProcessed
        $0.bytesTotal = s.totalBytesProcessed
      }
    }
    let walk = Walk()
    let walker = TreeWalker(repository: repository, cacheTrees: false)
    let includes = options.includes.map { $0.hasPrefix("/") ? $0 : "/" + $0 }
    let excluder = Excluder(patterns: options.excludes)
    try await walker.walk(
      root: snapshot.tree,
      visit: { path, node in
        let wanted = Self.included(path, includes)
        if wanted == .no { return false }
        if !excluder.isEmpty, excluder.excludes(path: path, name: node.name) { return false }
        let dest = target + path
        switch node.kind {
        case .directory:
          // Parents come before children in the walk: made as they are met.
          if FS.withCPath(dest, { mkdir($0, 0o700) }) != 0 && errno != EEXIST {
            walk.result.errors.append("\(PathBytes.display(dest)): mkdir: \(FS.errorText(errno))")
          }
          walk.dirs.append((dest, node))
          return true
        case .file:
          guard wanted == .yes else { return false }
          let key = InodeKey(device: node.device, inode: node.inode)
          if node.links > 1, node.inode != 0 {
            if walk.firstPaths[key] != nil {
              walk.links.append((dest, key))
              return false
            }
            walk.firstPaths[key] = dest
          }
          walk.batch.files.append(FilePlan(target: dest, node: node, display: PathBytes.display(path)))
          if walk.batch.files.count >= max(1, options.batchFiles) {
            try await restoreBatch(walk, fresh: fresh)
          }
          return false
        default:
          if wanted == .yes { restoreOther(dest, node, fresh: fresh, into: &walk.result) }
          return false
        }
      },
      onError: { path, error in
        walk.result.errors.append("\(PathBytes.display(path)): cannot read directory tree: \(error)")
      })
    try await restoreBatch(walk, fresh: fresh)
    var result = walk.result
    result.directories = walk.dirs.count

    // Hard links, to files restored intact.
    for l in walk.links where !walk.lost.contains(l.to) {
      guard let first = walk.firstPaths[l.to] else { continue }
      if !fresh { _ = FS.withCPath(l.target) { unlink($0) } }
      let rc = FS.withCPath(l.target) { t in FS.withCPath(first) { link($0, t) } }
      if rc != 0 {
        result.errors.append("\(PathBytes.display(l.target)): link: \(FS.errorText(errno))")
      } else {
        result.hardLinks += 1
      }
    }
    // Directory metadata last, deepest first, so writing children does not disturb mtimes.
    for d in walk.dirs.reversed() {
      applyMetadata(d.target, d.node, &result.errors)
    }
    result.verifyFailures.sort()
    return result
  }

  /// A symlink, device or fifo (a socket is counted, not made), replacing what is there.
  func restoreOther(_ dest: [UInt8], _ node: Node, fresh: Bool, into result: inout RestoreResult) {
    if node.kind == .socket {
      result.socketsSkipped += 1
      return
    }
    if !fresh { _ = FS.withCPath(dest) { unlink($0) } }
    if createSpecial(dest, node, &result.errors) {
      if node.kind == .symlink { result.symlinks += 1 } else { result.otherNodes += 1 }
      applyMetadata(dest, node, &result.errors)
    }
  }

  /// Restores the files of the walk's batch, then starts a new batch.
  func restoreBatch(_ walk: Walk, fresh: Bool) async throws {
    let plan = walk.batch
    walk.batch = Plan()
    guard !plan.files.isEmpty else { return }
    // Files with exactly one blob (most files) are created, written and given their metadata
    // by the worker that opens their blob, through one descriptor. The rest (empty files and
    // files of several blobs) get size and metadata once all contents are written.
    var damaged = Set<Int>()
    var unwritten = Set<Int>()
    if !fresh {
      // Restoring over existing files: start from empty ones, or old bytes would survive
      // wherever the snapshot has holes.
      for (i, f) in plan.files.enumerated() {
        var fd = FS.withCPath(f.target) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        if fd < 0 && errno == ELOOP {
          // A symlink where the snapshot has a file: replace it, never write through it.
          _ = FS.withCPath(f.target) { unlink($0) }
          fd = FS.withCPath(f.target) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        }
        if fd < 0 {
          if errno == ENOSPC || errno == EDQUOT { walk.result.targetFull = true }
          walk.result.errors.append("\(PathBytes.display(f.target)): create: \(FS.errorText(errno))")
          unwritten.insert(i)
        } else {
          close(fd)
        }
      }
    }
    let fill = try await fillContents(plan, skipping: unwritten)
    damaged.formUnion(fill.damaged)
    unwritten.formUnion(fill.unwritten.subtracting(damaged))
    if fill.targetFull { walk.result.targetFull = true }
    walk.result.errors.append(contentsOf: fill.errors)

    for i in damaged.sorted() {
      _ = FS.withCPath(plan.files[i].target) { unlink($0) }
      walk.result.damagedFiles.append(plan.files[i].display)
    }
    for i in unwritten.sorted() {
      _ = FS.withCPath(plan.files[i].target) { unlink($0) }
      walk.result.unwrittenFiles.append(plan.files[i].display)
    }
    damaged.formUnion(unwritten)
    for i in damaged {
      let n = plan.files[i].node
      if n.links > 1 { walk.lost.insert(InodeKey(device: n.device, inode: n.inode)) }
    }
    for (i, f) in plan.files.enumerated() where !damaged.contains(i) {
      walk.result.files += 1
      walk.result.bytes += f.node.size
      if f.node.content.count != 1 {
        let fd = FS.withCPath(f.target) { open($0, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        guard fd >= 0 else {
          walk.result.errors.append("\(PathBytes.display(f.target)): create: \(FS.errorText(errno))")
          continue
        }
        finishFile(fd: fd, f, writtenUpTo: nil, &walk.result.errors)
      }
    }
    if options.verify {
      try await verify(plan, skipping: damaged, into: &walk.result)
    }
  }

  // MARK: plan

  struct InodeKey: Hashable {
    var device: UInt64
    var inode: UInt64
  }

  enum Inclusion { case yes, onTheWay, no }

  /// `yes` when the path or one of its parents matches an include; `onTheWay` for directories
  /// that lead to a possible match.
  static func included(_ path: [UInt8], _ includes: [String]) -> Inclusion {
    if includes.isEmpty { return .yes }
    var prefix: [UInt8] = []
    let comps = path.split(separator: 47)
    for c in comps {
      prefix.append(47)
      prefix.append(contentsOf: c)
      for p in includes where Excluder.match(p, prefix) { return .yes }
    }
    // Could a descendant match? Compare literal leading components.
    for p in includes {
      let pc = Array(p.utf8).split(separator: 47)
      var ok = true
      for (i, c) in comps.enumerated() {
        guard i < pc.count else { ok = false; break }
        let pat = String(decoding: pc[i], as: UTF8.self)
        if !Excluder.match(pat, Array(c)) { ok = false; break }
      }
      if ok { return .onTheWay }
    }
    return .no
  }

  // MARK: fill

  /// One fill worker's reused memory: the zstd context, the buffer pack segments are read
  /// into, and the 4 KiB-aligned buffer blobs are opened into. Reusing them saves an
  /// allocation and fresh pages per blob, and the aligned plaintext goes to the device
  /// without the bounce copy (`DirectIO`). Each grows to the largest request it has served;
  /// beyond `keep` bytes it is given back after use, so a few 8 MiB blobs do not pin 16 MiB
  /// per worker for the rest of the restore.
  final class Workspace {
    let decompressor = ZstdDecompressor()
    private var segmentBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var plainBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    static let keep = 2 << 20

    deinit {
      segmentBuffer.deallocate()
      plainBuffer.deallocate()
    }

    /// A buffer of exactly `count` bytes for a segment of a pack.
    func segment(count: Int) -> UnsafeMutableRawBufferPointer {
      Self.grow(&segmentBuffer, to: count, alignment: 16)
      return UnsafeMutableRawBufferPointer(rebasing: segmentBuffer[0..<count])
    }

    /// A buffer of exactly `count` bytes that starts `phase` bytes past a 4 KiB boundary.
    func plaintext(count: Int, phase: Int) -> UnsafeMutableRawBufferPointer {
      Self.grow(&plainBuffer, to: count + phase, alignment: DirectIO.alignment)
      return UnsafeMutableRawBufferPointer(rebasing: plainBuffer[phase..<phase + count])
    }

    /// After each pack: buffers that grew past `keep` for a large blob are freed.
    func shrink() {
      Self.release(&segmentBuffer)
      Self.release(&plainBuffer)
    }

    private static func release(_ b: inout UnsafeMutableRawBufferPointer) {
      guard b.count > keep else { return }
      b.deallocate()
      b = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    private static func grow(_ b: inout UnsafeMutableRawBufferPointer, to count: Int, alignment: Int) {
      guard b.count < count else { return }
      b.deallocate()
      b = .allocate(byteCount: max(count, 1 << 20), alignment: alignment)
    }
  }

  struct FillOutcome: Sendable {
    /// Files whose data is damaged or missing in the repository.
    var damaged: Set<Int> = []
    /// Files the target would not take (open or write failed).
    var unwritten: Set<Int> = []
    var targetFull = false
    var errors: [String] = []
  }

  /// A file a pack could not fill: why, and the target's errno when the target refused it
  /// (nil when the data itself is unreadable or damaged).
  typealias Unfilled = (file: Int, message: String, targetErrno: Int32?)

  func fillContents(_ plan: Plan, skipping: Set<Int>) async throws -> FillOutcome {
    // Group placements by pack. The lookup table of blobs seen is only needed while grouping:
    // it is gone before the workers start, when memory peaks.
    var byPack = [ID: [(entry: PackEntry, places: [Placement])]]()
    var missing = FillOutcome()
    do {
      var blobSlots = [ID: (pack: ID, slot: Int)]()
      for (fi, f) in plan.files.enumerated() where !skipping.contains(fi) {
        var offset: UInt64 = 0
        for id in f.node.content {
          guard let loc = repository.index.location(of: id) else {
            missing.damaged.insert(fi)
            missing.errors.append("\(f.display): data blob \(id.short) is missing from the repository")
            break
          }
          if let s = blobSlots[id] {
            byPack[s.pack]![s.slot].places.append(Placement(file: fi, offset: offset))
          } else {
            byPack[loc.pack, default: []].append((loc.entry, [Placement(file: fi, offset: offset)]))
            blobSlots[id] = (loc.pack, byPack[loc.pack]!.count - 1)
          }
          offset += UInt64(loc.entry.rawLength)
        }
      }
    }
    let packs = Array(byPack)
    byPack = [:]
    let queue = WorkQueue(count: packs.count)
    let outcome = SharedBox(missing)
    let files = plan.files
    // Each file counts in the progress line when its last blob is in place.
    let countdown = FileCountdown(plan.files.map { $0.node.content.count }, progress: progress)
    for (fi, f) in plan.files.enumerated() where f.node.content.isEmpty && !skipping.contains(fi) { progress.add(files: 1) }
    let workers = repository.backend.isRemote ? max(options.workers, options.remoteWorkers) : options.workers
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<workers {
        group.addTask(executorPreference: BlockingExecutor.shared) { [self] in
          let workspace = Workspace()
          while let i = queue.take() {
            try Task.checkCancellation()
            let (packID, blobs) = packs[i]
            let r = await restorePack(packID, blobs, files: files, countdown: countdown, workspace: workspace)
            workspace.shrink()
            if !r.bad.isEmpty || !r.errors.isEmpty {
              outcome.withLock { o in
                for b in r.bad {
                  if let e = b.targetErrno {
                    if e == ENOSPC || e == EDQUOT { o.targetFull = true }
                    if !o.damaged.contains(b.file), o.unwritten.insert(b.file).inserted { o.errors.append(b.message) }
                  } else if o.damaged.insert(b.file).inserted {
                    o.errors.append(b.message)
                  }
                }
                o.errors.append(contentsOf: r.errors)
              }
            }
          }
        }
      }
      try await group.waitForAll()
    }
    return outcome.withLock { $0 }
  }

  /// Restores the blobs of one pack. Returns the files it could not fill (they count as
  /// damaged) and other errors (metadata of files it completed).
  func restorePack(
    _ packID: ID, _ blobs: [(entry: PackEntry, places: [Placement])], files: [FilePlan],
    countdown: FileCountdown, workspace: Workspace
  ) async -> (bad: [Unfilled], errors: [String]) {
    var bad = [Unfilled]()
    var errors = [String]()
    let sorted = blobs.sorted { $0.entry.offset < $1.entry.offset }
    // Read the needed blobs in segments of at most 4 MiB on remote storage, 2 MiB on a local
    // disk (a larger blob is a segment of its own): few requests, a worker never holds a whole
    // pack in memory, and local segments stay under malloc's mapping threshold, so their
    // memory is reused instead of being mapped and faulted in for every segment.
    let limit = repository.backend.isRemote ? 4 << 20 : 2 << 20
    var segments = [[(entry: PackEntry, places: [Placement])]]()
    for b in sorted {
      if let first = segments.last?.first,
        Int(b.entry.offset) + Int(b.entry.length) - Int(first.entry.offset) <= limit
      {
        segments[segments.count - 1].append(b)
      } else {
        segments.append([b])
      }
    }
    for segment in segments {
      let r = await restoreSegment(packID, segment, files: files, countdown: countdown, workspace: workspace)
      bad += r.bad
      errors += r.errors
    }
    return (bad, errors)
  }

  func restoreSegment(
    _ packID: ID, _ sorted: [(entry: PackEntry, places: [Placement])], files: [FilePlan],
    countdown: FileCountdown, workspace: Workspace
  ) async -> (bad: [Unfilled], errors: [String]) {
    var bad = [Unfilled]()
    var errors = [String]()
    let start = Int(sorted.first!.entry.offset)
    let end = sorted.map { Int($0.entry.offset) + Int($0.entry.length) }.max()!
    let data = workspace.segment(count: end - start)
    do {
      try await repository.backend.read(Handle(.pack, packID.hex), offset: start, into: data)
    } catch {
      for b in sorted {
        for p in b.places { bad.append((p.file, "\(files[p.file].display): pack \(packID.short) unreadable: \(error)", nil)) }
      }
      return (bad, errors)
    }
    for b in sorted {
      let lo = Int(b.entry.offset) - start
      // The plaintext goes where its (first) place in the file puts it relative to a 4 KiB
      // boundary, so the direct writes of its whole blocks need no bounce copy.
      let plain = workspace.plaintext(
        count: Int(b.entry.rawLength), phase: Int(b.places[0].offset) % DirectIO.alignment)
      do {
        try PackFormat.openBlob(
          UnsafeRawBufferPointer(rebasing: data[lo..<lo + Int(b.entry.length)]), entry: b.entry,
          keys: repository.keys, decompressor: workspace.decompressor, into: plain)
      } catch {
        for p in b.places {
          bad.append((p.file, "\(files[p.file].display): damaged data in pack \(packID.short): \(error)", nil))
        }
        continue
      }
      let runs = Self.dataRuns(UnsafeRawBufferPointer(plain))
      for p in b.places {
        let f = files[p.file]
        let single = f.node.content.count == 1
        // A blob of zeros in a larger file is a hole: nothing to write, the file is sized
        // at the end. A file of one blob is always opened, so that it exists.
        if runs.isEmpty && !single {
          countdown.placed(p.file)
          continue
        }
        let fd = FS.withCPath(f.target) { open($0, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        guard fd >= 0 else {
          let e = errno
          bad.append((p.file, "\(f.display): open: \(FS.errorText(e))", e))
          continue
        }
        // Large runs bypass the page cache (DirectIO) through a second descriptor.
        let direct =
          runs.contains { $0.count >= DirectIO.minimumLength }
          ? FS.withCPath(f.target) { DirectIO.openDirect($0) } : -1
        var failed: Int32 = 0
        for run in runs where failed == 0 {
          failed = DirectIO.write(
            buffered: fd, direct: direct, plain.baseAddress! + run.lowerBound, count: run.count,
            at: Int(p.offset) + run.lowerBound)
        }
        if direct >= 0 { close(direct) }
        if failed != 0 {
          close(fd)
          bad.append((p.file, "\(f.display): write: \(FS.errorText(failed))", failed))
          continue
        }
        if single {
          finishFile(fd: fd, f, writtenUpTo: UInt64(runs.last?.upperBound ?? 0), &errors)
        } else {
          close(fd)
        }
        countdown.placed(p.file)
      }
      progress.add(bytes: UInt64(plain.count) * UInt64(b.places.count))
    }
    return (bad, errors)
  }

  /// Sets a restored file's size (holes at the end stay holes) and metadata through its open
  /// descriptor, then closes it. `writtenUpTo` nil means: not known, always set the size.
  func finishFile(fd: Int32, _ f: FilePlan, writtenUpTo: UInt64?, _ errors: inout [String]) {
    defer { close(fd) }
    let n = f.node
    if writtenUpTo.map({ $0 < n.size }) ?? true, ftruncate(fd, off_t(n.size)) != 0 {
      errors.append("\(f.display): set size: \(FS.errorText(errno))")
    }
    if options.restoreOwnership && fchown(fd, n.uid, n.gid) != 0 {
      errors.append("\(f.display): chown: \(FS.errorText(errno))")
    }
    if fchmod(fd, mode_t(n.mode)) != 0 {
      errors.append("\(f.display): chmod: \(FS.errorText(errno))")
    }
    Self.setXattrs(n.xattrs, display: f.display, &errors) { fsetxattr(fd, $0, $1, $2, 0) }
    var times = Self.times(n)
    if futimens(fd, &times) != 0 {
      errors.append("\(f.display): set times: \(FS.errorText(errno))")
    }
  }

  /// The byte ranges of a blob that must be written: everything except 4 KiB blocks that are
  /// entirely zero. Files are created at full size first, so skipped blocks stay holes and
  /// read as zeros (sparse files stay sparse; ordinary data is one run, one write).
  static func dataRuns(_ raw: UnsafeRawBufferPointer, block: Int = 4096) -> [Range<Int>] {
    var runs = [Range<Int>]()
    var runStart: Int?
    var i = 0
    while i < raw.count {
      let end = min(i + block, raw.count)
      var zero = true
      var j = i
      while j + 8 <= end {
        if raw.loadUnaligned(fromByteOffset: j, as: UInt64.self) != 0 { zero = false; break }
        j += 8
      }
      if zero { while j < end { if raw[j] != 0 { zero = false; break }; j += 1 } }
      if zero {
        if let s = runStart { runs.append(s..<i); runStart = nil }
      } else if runStart == nil {
        runStart = i
      }
      i = end
    }
    if let s = runStart { runs.append(s..<raw.count) }
    return runs
  }

  // MARK: metadata

  func createSpecial(_ path: [UInt8], _ node: Node, _ errors: inout [String]) -> Bool {
    let rc: Int32
    switch node.kind {
    case .symlink:
      rc = FS.withRawCString(node.linkTarget) { t in FS.withCPath(path) { symlink(t, $0) } }
    case .fifo:
      rc = FS.withCPath(path) { mkfifo($0, mode_t(node.mode)) }
    case .blockDevice, .characterDevice:
      let type: mode_t = node.kind == .blockDevice ? S_IFBLK : S_IFCHR
      rc = FS.withCPath(path) { mknod($0, type | mode_t(node.mode), dev_t(node.rdev)) }
    case .socket:
      return false  // sockets are recorded, not recreated (like restic and tar)
    default:
      return false
    }
    if rc != 0 {
      errors.append("\(PathBytes.display(path)): create \(node.kind.name): \(FS.errorText(errno))")
      return false
    }
    return true
  }

  func applyMetadata(_ path: [UInt8], _ node: Node, _ errors: inout [String]) {
    FS.withCPath(path) { p in
      if options.restoreOwnership {
        if lchown(p, node.uid, node.gid) != 0 {
          errors.append("\(PathBytes.display(path)): chown: \(FS.errorText(errno))")
        }
      }
      if node.kind != .symlink {
        if chmod(p, mode_t(node.mode)) != 0 {
          errors.append("\(PathBytes.display(path)): chmod: \(FS.errorText(errno))")
        }
        Self.setXattrs(node.xattrs, display: PathBytes.display(path), &errors) {
          lsetxattr(p, $0, $1, $2, 0)
        }
      }
      var times = Self.times(node)
      if utimensat(AT_FDCWD, p, &times, AT_SYMLINK_NOFOLLOW) != 0 {
        errors.append("\(PathBytes.display(path)): set times: \(FS.errorText(errno))")
      }
    }
  }

  /// Sets extended attributes through `set(name, value, length)` (by descriptor or by path);
  /// filesystems without xattr support, and attributes only root may set, are not errors.
  static func setXattrs(
    _ xattrs: [ExtendedAttribute], display: String, _ errors: inout [String],
    set: (UnsafePointer<CChar>, UnsafeRawPointer?, Int) -> Int32
  ) {
    // Windows metadata from a share is applied only when restoring to a share (LifeboatSMB).
    for x in xattrs where !x.isSMBMetadata {
      var name = x.name
      name.append(0)
      let rc = name.withUnsafeBufferPointer { nb in
        x.value.withUnsafeBufferPointer { vb in
          set(UnsafeRawPointer(nb.baseAddress!).assumingMemoryBound(to: CChar.self), vb.baseAddress, vb.count)
        }
      }
      if rc != 0 && errno != ENOTSUP && errno != EPERM {
        errors.append("\(display): xattr: \(FS.errorText(errno))")
      }
    }
  }

  /// atime and mtime as utimensat/futimens take them.
  static func times(_ n: Node) -> [Glibc.timespec] {
    [
      Glibc.timespec(tv_sec: Int(n.atime.seconds), tv_nsec: Int(n.atime.nanoseconds)),
      Glibc.timespec(tv_sec: Int(n.mtime.seconds), tv_nsec: Int(n.mtime.nanoseconds)),
    ]
  }

  func mkdirAll(_ path: [UInt8]) -> Int32 {
    var prefix: [UInt8] = path.first == 47 ? [] : Array(FileManager.default.currentDirectoryPath.utf8)
    for c in path.split(separator: 47) {
      prefix.append(47)
      prefix.append(contentsOf: c)
      if FS.withCPath(prefix, { mkdir($0, 0o755) }) != 0 && errno != EEXIST { return -1 }
    }
    return 0
  }

  // MARK: verify

  /// Reads every restored file back and checks each chunk's keyed ID against the snapshot.
  func verify(_ plan: Plan, skipping damaged: Set<Int>, into result: inout RestoreResult) async throws {
    let files = plan.files
    let queue = WorkQueue(count: files.count)
    let failures = SharedBox([String]())
    let verified = SharedBox(0)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<options.workers {
        group.addTask(executorPreference: BlockingExecutor.shared) { [self] in
          let buffer = AlignedBuffer()
          defer { buffer.close() }
          while let i = queue.take() {
            try Task.checkCancellation()
            if damaged.contains(i) { continue }
            if let problem = verifyFile(files[i], buffer: buffer) {
              failures.withLock { $0.append(problem) }
            } else {
              verified.withLock { $0 += 1 }
            }
          }
        }
      }
      try await group.waitForAll()
    }
    result.verifiedFiles += verified.withLock { $0 }
    result.verifyFailures += failures.withLock { $0 }
  }

  func verifyFile(_ f: FilePlan, buffer: AlignedBuffer) -> String? {
    // Read back from the device where the file system allows it (DirectIO): the check is
    // then of the bytes on disk, and re-reading does not refill the page cache.
    var fd = FS.withCPath(f.target) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | DirectIO.readFlag) }
    if fd < 0 && errno == EINVAL {
      fd = FS.withCPath(f.target) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    }
    guard fd >= 0 else { return "\(f.display): cannot open for verification" }
    defer { close(fd) }
    var offset = 0
    for id in f.node.content {
      guard let loc = repository.index.location(of: id) else { return "\(f.display): blob missing" }
      let len = Int(loc.entry.rawLength)
      let ok = buffer.read(fd, offset: offset, count: len) { bytes in
        bytes.map { repository.keys.blobID($0) == id } ?? false
      }
      guard ok else {
        return "\(f.display): content differs from the snapshot at byte \(offset)"
      }
      offset += len
    }
    var st = Glibc.stat()
    guard fstat(fd, &st) == 0, UInt64(st.st_size) == f.node.size else {
      return "\(f.display): size differs from the snapshot"
    }
    return nil
  }
}

/// The blobs each file still waits for; a file counts as done in the progress line when its
/// last one is in place.
final class FileCountdown: Sendable {
  private let remaining: Mutex<[Int]>
  private let progress: OperationProgress

  init(_ blobsPerFile: [Int], progress: OperationProgress) {
    remaining = Mutex(blobsPerFile)
    self.progress = progress
  }

  func placed(_ file: Int) {
    if remaining.withLock({ r in r[file] -= 1; return r[file] == 0 }) { progress.add(files: 1) }
  }
}
