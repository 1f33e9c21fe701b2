public import Foundation
import Synchronization
#if canImport(Glibc)
  import Glibc
#endif
public import LifeboatCore
import LifeboatFormat
public import LifeboatRepository

/// What to back up and how.
public struct BackupOptions: Sendable {
  public var paths: [String]
  public var tags: [String] = []
  public var hostname: String
  /// The plan's system this backup belongs to (`Snapshot.system`); nil for ad-hoc backups.
  public var system: String?
  public var excludes: [String] = []
  public var oneFileSystem = false
  /// Parent snapshot for change detection; nil picks the latest with the same host and paths.
  public var parent: ID?
  /// Back up the output of a command as one file instead of `paths`.
  public var stdin: StdinSource?
  /// Commands whose output is stored beside `paths`, each as a file at the snapshot's root
  /// (a database dump next to the files of the same system). A failing command fails the
  /// whole backup: no snapshot is saved.
  public var commands: [StdinSource] = []
  /// Trees read over the network (SMB shares), each stored at its `snapshotPath`.
  public var remotes: [any RemoteTree] = []
  /// How this backup compresses (`--compression`, a plan tier's `compression:`); nil uses the
  /// repository's mode.
  public var compression: CompressionMode?
  /// Files read at once: one more than the cores, so a worker waiting for the disk (fsync of a
  /// pack, a cold read) does not leave a core idle.
  public var workers: Int = ProcessInfo.processInfo.activeProcessorCount + 1

  public init(paths: [String], hostname: String) {
    self.paths = paths
    self.hostname = hostname
  }
}

/// A command whose standard output becomes one file of the snapshot (e.g. `pg_dump`).
/// A file the backup produces rather than finds: a command's standard output, or a local
/// file stored under another name (a database copy made for the backup). `filename` may have
/// one folder (`databases/sis.dump`), made at the snapshot's root.
public struct StdinSource: Sendable {
  public var command: String
  public var filename: String
  /// The command is stopped (SIGTERM, then SIGKILL) and the backup fails after this long.
  public var timeout: TimeInterval?
  /// Extra environment for the command (e.g. `PGPASSFILE`; never a secret's value).
  public var environment: [String: String] = [:]
  /// Read this file instead of running a command.
  public var file: String?

  public init(command: String, filename: String, timeout: TimeInterval? = nil, environment: [String: String] = [:]) {
    self.command = command
    self.filename = filename
    self.timeout = timeout
    self.environment = environment
  }

  /// A local file stored as `filename`.
  public init(file: String, filename: String) {
    self.command = ""
    self.filename = filename
    self.file = file
  }
}

public struct BackupResult: Sendable {
  public var snapshotID: ID
  public var snapshot: Snapshot
  /// Sources that could not be read (exit code 3).
  public var errors: [String]
  public var changedWhileReading: [String]
  /// Entries the excludes left out (each excluded directory counts once, not its contents).
  public var excluded = 0
  /// The most directory entries the scan held at once (the streaming scan keeps this near
  /// the tree's depth times its width plus the files being read, whatever the tree's size).
  public var peakEntriesHeld = 0
}

/// Backup pipeline: scan → read (parallel workers) → trees → flush → snapshot.
///
/// 1. *Scan* walks the sources serially with lstat, in lockstep with the parent snapshot's
///    trees, and decides per file whether its content can be reused (size, mtime, ctime and
///    inode unchanged and every blob still indexed) or must be read.
/// 2. *Read*: `workers` tasks take files from a shared queue; each chunks, hashes, compresses
///    and seals with its own buffers and compressor, handing blobs to the shared `BlobSaver`.
/// 3. *Trees* are encoded bottom-up and saved as tree blobs.
/// 4. *Flush* uploads the last packs and index; only then is the snapshot written, so a crash
///    at any point leaves a repository that checks clean (the snapshot is the commit point).
public final class Archiver: Sendable {
  let repository: Repository
  let saver: BlobSaver
  let options: BackupOptions
  let excluder: Excluder
  public let progress: OperationProgress

  public init(repository: Repository, saver: BlobSaver, options: BackupOptions, progress: OperationProgress = OperationProgress()) {
    self.repository = repository
    self.saver = saver
    self.options = options
    self.excluder = Excluder(patterns: options.excludes)
    self.progress = progress
  }

  // MARK: scan model

  /// A directory of the scan, alive from the moment the scan reaches it until its tree blob
  /// is saved. It is saved as soon as its own scan has ended and every file and directory in
  /// it is done; the parent then keeps only the finished node. So a backup holds the
  /// directories on the scan's path and those with files still being read, never the whole
  /// tree (docs/design.md §7, the streaming scan). Every field that changes after creation
  /// (`children`, `outstanding`) is guarded by `Run.tree`.
  final class ScanDir: @unchecked Sendable {
    var node: Node
    let path: [UInt8]
    var children: [Child] = []
    let parentNode: Node?
    /// The remote tree this directory belongs to; `path` is then relative to its root.
    let remote: (any RemoteTree)?
    /// Where this directory's finished node goes; nil for the root.
    let parent: ScanDir?
    let slot: Int
    /// Children not yet finished, plus one while the scan may still add to this directory.
    var outstanding = 1

    init(node: Node, path: [UInt8], parentNode: Node?, remote: (any RemoteTree)? = nil, parent: ScanDir?, slot: Int) {
      self.node = node
      self.path = path
      self.parentNode = parentNode
      self.remote = remote
      self.parent = parent
      self.slot = slot
    }

    /// The child directory named `name`, when the scan has made one and it is still open.
    func directory(named name: [UInt8]) -> ScanDir? {
      for case .dir(let d) in children where d.node.name == name { return d }
      return nil
    }

    enum Child {
      case ready(Node)
      /// A file being read: its scanned metadata.
      case file(Node)
      case dir(ScanDir)
      /// A file that could not be read: left out of the snapshot.
      case omitted
    }
  }

  struct FileJob: Sendable {
    var path: [UInt8]
    var node: Node
    /// A command's output instead of a file.
    var command: StdinSource? = nil
    /// The remote tree `path` is relative to.
    var remote: (any RemoteTree)? = nil
    /// The directory the file's node goes in, and its place there.
    var dir: ScanDir
    var slot: Int
  }

  final class Run: @unchecked Sendable {
    var queue = JobQueue()
    var excluded = 0
    var rootDevice: UInt64?
    /// Guards the scan's directories and everything below, which the scan and the readers
    /// both change.
    let tree = Mutex<Void>(())
    var summary: Snapshot.Summary
    /// What the scan could not read, in the order it was found.
    var scanErrors: [String] = []
    /// Files that could not be read, or changed while read, each with its job number.
    var fileErrors: [(job: Int, text: String)] = []
    var changed: [(job: Int, path: String)] = []
    var rootTree: ID?
    /// Entries the open directories hold now, and at most: the scan's memory, which a
    /// streaming scan bounds by the tree's depth and width, not its size.
    var held = 0
    var peakHeld = 0
    /// Directories made on the way to the sources and for produced files: several sources
    /// may add to them, so they are closed only when the whole scan has ended.
    var virtual: [ScanDir] = []
    init(start: Date) { summary = Snapshot.Summary(backupStart: start, backupEnd: start) }

    func locked<T>(_ body: () throws -> T) rethrows -> T { try tree.withLock { _ in try body() } }

    /// A problem found by the scan (reported before those of the files read).
    func scanProblem(_ text: String) { locked { scanErrors.append(text) } }

    /// Adds `child` to `dir`; returns its place.
    func add(_ child: ScanDir.Child, to dir: ScanDir) -> Int {
      locked {
        dir.children.append(child)
        hold()
        switch child {
        case .file, .dir: dir.outstanding += 1
        case .ready, .omitted: break
        }
        return dir.children.count - 1
      }
    }

    /// Makes a directory inside `dir` (open until `close` is called for it).
    func makeDirectory(_ node: Node, path: [UInt8], parentNode: Node?, remote: (any RemoteTree)? = nil, in dir: ScanDir) -> ScanDir {
      locked {
        let made = ScanDir(node: node, path: path, parentNode: parentNode, remote: remote, parent: dir, slot: dir.children.count)
        dir.children.append(.dir(made))
        hold()
        dir.outstanding += 1
        return made
      }
    }

    private func hold() {
      held += 1
      peakHeld = max(peakHeld, held)
    }

    /// Settles one of `dir`'s outstanding items: returns `dir` when that was its last one.
    func settle(_ dir: ScanDir, slot: Int?, with child: ScanDir.Child?) -> ScanDir? {
      locked {
        if let slot, let child { dir.children[slot] = child }
        dir.outstanding -= 1
        return dir.outstanding == 0 ? dir : nil
      }
    }
  }

  // MARK: run

  /// Runs the backup. On failure nothing is committed (no snapshot) and the saver's unsaved
  /// blobs are released; the packs that were uploaded are indexed (`BlobSaver.salvageIndex`)
  /// and stay for the next run to reuse.
  public func run() async throws -> BackupResult {
    do {
      return try await runUnchecked()
    } catch {
      saver.discard()
      await saver.salvageIndex()
      throw error
    }
  }

  private func runUnchecked() async throws -> BackupResult {
    let start = repository.clock.now()
    let run = Run(start: start)
    let parent = try await findParent()
    var loadedParentRoot: Tree? = nil
    if let parent { loadedParentRoot = try? await repository.loadTree(parent.snapshot.tree, cache: false) }
    let parentRoot = loadedParentRoot

    // Scan and read overlap: the scan feeds a queue that the readers drain as it fills, and
    // each directory's tree is saved as soon as everything in it is done.
    progress.update { $0.phase = "backing up, scanning" }
    let root = ScanDir(
      node: Node(name: [], kind: .directory, mode: 0o755), path: [], parentNode: nil, parent: nil, slot: 0)
    let queue = JobQueue()
    run.queue = queue
    let compressor = treeCompressor()
    try await withThrowingTaskGroup(of: Void.self) { group in
      // The scan makes blocking system calls (lstat, readdir, getxattr): it runs on the
      // blocking-I/O threads beside the readers, never on the cooperative pool.
      group.addTask(executorPreference: BlockingExecutor.shared) { [self] in
        defer { queue.finish() }
        if let stdin = options.stdin {
          let node = stdinNode(stdin.filename, start)
          try await queueFile(FileJob(path: [], node: node, command: stdin, dir: root, slot: 0), run: run)
        } else {
          if !options.paths.isEmpty {
            try await scanArguments(into: root, parentRoot: parentRoot, run: run, compressor: compressor)
          }
          for tree in options.remotes {
            try await scanRemote(tree, into: root, parentRoot: parentRoot, run: run, compressor: compressor)
          }
          for c in options.commands {
            let parts = c.filename.split(separator: "/").map(String.init)
            let node = stdinNode(parts.last ?? c.filename, start)
            let folder = producedFolder(parts.dropLast(), in: root, start, run: run)
            try await queueFile(FileJob(path: Array(("/" + c.filename).utf8), node: node, command: c, dir: folder, slot: 0), run: run)
          }
        }
        // The folders several sources share close last, innermost first; the root is last.
        for dir in run.locked({ run.virtual }).reversed() {
          try await endScan(of: dir, run: run, compressor: compressor)
        }
        try await endScan(of: root, run: run, compressor: compressor)
        let (files, bytes) = queue.totals
        progress.update {
          $0.phase = "backing up"
          $0.filesTotal = files
          $0.bytesTotal = bytes
        }
      }
      group.addTask { [self] in try await readFiles(queue, run: run) }
      try await group.waitForAll()
    }
    progress.update { $0.phase = "saving trees" }
    guard let rootTree = run.locked({ run.rootTree }) else {
      throw LifeboatError(.fatal, "internal error: the backup ended with directories not saved")
    }
    try await saver.flush()

    let fileErrors = run.fileErrors.sorted { $0.job < $1.job }.map(\.text)
    let errors = run.scanErrors + fileErrors
    run.summary.changedWhileReading = run.changed.sorted { $0.job < $1.job }.map(\.path)
    run.summary.errors = errors
    run.summary.backupEnd = repository.clock.now()
    let stats = saver.statistics
    run.summary.dataAddedPacked = stats.storedBytes
    var snapshot = Snapshot(
      time: start, tree: rootTree, parent: parent?.id,
      paths: snapshotPaths(),
      hostname: options.hostname, username: Repository.Identity.current.username,
      uid: getuid(), gid: getgid(), tags: options.tags, excludes: options.excludes,
      programVersion: LifeboatVersion.string, summary: run.summary)
    snapshot.system = options.system
    let id = try await repository.saveSnapshot(snapshot)
    return BackupResult(
      snapshotID: id, snapshot: snapshot, errors: errors,
      changedWhileReading: run.summary.changedWhileReading, excluded: run.excluded,
      peakEntriesHeld: run.locked { run.peakHeld })
  }

  /// The snapshot's `paths`: the sources, and `/FILENAME` for each command.
  func snapshotPaths() -> [String] {
    options.stdin.map { ["/" + $0.filename] }
      ?? (absolutePaths() + options.commands.map { "/" + $0.filename } + options.remotes.map(\.snapshotPath)).sorted()
  }

  func absolutePaths() -> [String] {
    let cwd = FileManager.default.currentDirectoryPath
    return options.paths.map { String(decoding: PathArgument.join(PathArgument.components($0, cwd: cwd)), as: UTF8.self) }
      .sorted()
  }

  func findParent() async throws -> (id: ID, snapshot: Snapshot)? {
    if let p = options.parent {
      return (p, try await repository.loadSnapshot(p))
    }
    guard options.stdin == nil else { return nil }
    let list = try await repository.listSnapshots()
    let paths = snapshotPaths()
    if let same = list.snapshots.last(where: {
      $0.snapshot.hostname == options.hostname && $0.snapshot.paths == paths && $0.snapshot.system == options.system
    }) {
      return same
    }
    // A plan's system backed up before snapshots recorded `system` carried it as the host name.
    guard let system = options.system else { return nil }
    return list.snapshots.last { $0.snapshot.planSystem == system && $0.snapshot.paths == paths }
  }

  /// The folder a produced file goes in, made (with the backup's time) when no source made it.
  func producedFolder(_ names: ArraySlice<String>, in root: ScanDir, _ now: Date, run: Run) -> ScanDir {
    var dir = root
    for name in names {
      let bytes = Array(name.utf8)
      var node = stdinNode(name, now)
      node.kind = .directory
      node.mode = 0o755
      let parentPath = dir.path
      dir = openFolder(bytes, in: dir, run: run) { (node, parentPath + [UInt8(ascii: "/")] + bytes, nil) }!
    }
    return dir
  }

  /// The open folder `name` in `dir`, made by `make` when there is none; such a folder is
  /// closed when the whole scan has ended (several sources may add to it).
  func openFolder(
    _ name: [UInt8], in dir: ScanDir, run: Run, remote: (any RemoteTree)? = nil,
    make: () -> (node: Node, path: [UInt8], parentNode: Node?)?
  ) -> ScanDir? {
    if let existing = run.locked({ dir.directory(named: name) }), run.locked({ run.virtual.contains { $0 === existing } }) {
      return existing
    }
    guard let (node, path, parentNode) = make() else { return nil }
    let made = run.makeDirectory(node, path: path, parentNode: parentNode, remote: remote, in: dir)
    run.locked { run.virtual.append(made) }
    return made
  }

  func stdinNode(_ name: String, _ now: Date) -> Node {
    let t = Timespec(seconds: Int64(now.timeIntervalSince1970), nanoseconds: 0)
    return Node(
      name: Array(name.utf8), kind: .file, mode: 0o644, uid: getuid(), gid: getgid(), mtime: t,
      atime: t, ctime: t)
  }

  // MARK: scan

  func scanArguments(into root: ScanDir, parentRoot: Tree?, run: Run, compressor: ZstdCompressor?) async throws {
    let cwd = FileManager.default.currentDirectoryPath
    var any = false
    for arg in options.paths {
      let comps = PathArgument.components(arg, cwd: cwd)
      let full = PathArgument.join(comps)
      let found = FS.lstat(full)
      guard case .success(let st) = found else {
        if case .failure(let e) = found, e.code != ENOENT && e.code != ENOTDIR {
          run.scanProblem("\(arg): cannot be read: \(e)")
        } else {
          // Name the part that is missing: a mistyped folder high up says more than the leaf.
          var existing = comps
          while !existing.isEmpty, case .failure = FS.lstat(PathArgument.join(existing)) { existing.removeLast() }
          let missing = PathBytes.display(PathArgument.join(Array(comps.prefix(existing.count + 1))))
          run.scanProblem(
            "\(arg): does not exist" + (missing == PathBytes.display(full) ? "" : " (there is no \(missing))"))
        }
        continue
      }
      any = true
      if run.rootDevice == nil { run.rootDevice = UInt64(st.st_dev) }
      if comps.isEmpty {
        // Backing up "/": the root itself.
        try await scanDirectoryContents(root, parentTree: parentRoot, run: run, compressor: compressor)
        continue
      }
      // Walk down the intermediate directories, creating virtual nodes as needed.
      var dir = root
      var parentTree = parentRoot
      for (i, c) in comps.enumerated() {
        let path = PathArgument.join(Array(comps[0...i]))
        let parentNode = parentTree?.node(named: c)
        if i == comps.count - 1 {
          try await scanEntry(name: c, path: path, into: dir, parentNode: parentNode, run: run, isArgument: true, compressor: compressor)
          break
        }
        // A directory on the way to a path (possibly reached through a symlink, such as
        // /proc/self): recorded as the directory it leads to.
        let folder = openFolder(c, in: dir, run: run) {
          guard case .success(let dst) = FS.stat(path), FS.kind(dst.st_mode) == .directory,
            let n = FS.node(name: c, path: path, st: dst)
          else { return nil }
          return (n, path, parentNode)
        }
        guard let folder else {
          run.scanProblem("\(PathBytes.display(path)): not a directory or cannot stat")
          break
        }
        dir = folder
        parentTree = try await subtree(of: parentNode)
      }
    }
    if !any {
      throw LifeboatError(.usage, "none of the paths to back up exist", hint: "check the paths given")
    }
  }

  func subtree(of node: Node?) async throws -> Tree? {
    guard let node, node.kind == .directory, let id = node.subtree else { return nil }
    // Each parent directory is read once, while its directory is scanned; caching it would keep
    // the whole parent snapshot decoded until the backup ends.
    return try? await repository.loadTree(id, cache: false)
  }

  func scanDirectoryContents(_ dir: ScanDir, parentTree: Tree?, run: Run, compressor: ZstdCompressor?) async throws {
    if let remote = dir.remote {
      return try await scanRemoteContents(dir, remote: remote, parentTree: parentTree, run: run, compressor: compressor)
    }
    switch FS.listDirectory(dir.path.isEmpty ? [47] : dir.path) {
    case .failure(let e):
      run.scanProblem("\(PathBytes.display(dir.path)): cannot read directory: \(e)")
    case .success(let names):
      for name in names {
        let path = PathBytes.join(dir.path.isEmpty ? [47] : dir.path, name)
        try await scanEntry(
          name: name, path: path, into: dir, parentNode: parentTree?.node(named: name), run: run,
          isArgument: false, compressor: compressor)
      }
    }
  }

  func scanEntry(
    name: [UInt8], path: [UInt8], into dir: ScanDir, parentNode: Node?, run: Run, isArgument: Bool,
    compressor: ZstdCompressor?
  ) async throws {
    try Task.checkCancellation()
    if !isArgument && excluder.excludes(path: path, name: name) {
      run.excluded += 1
      return
    }
    let st: Glibc.stat
    switch FS.lstat(path) {
    case .success(let s): st = s
    case .failure(let e):
      run.scanProblem("\(PathBytes.display(path)): \(e)")
      return
    }
    guard var node = FS.node(name: name, path: path, st: st, readExtras: false) else { return }
    progress.update {
      $0.scanned += 1
      if node.kind == .file { $0.scannedBytes += node.size }
    }
    // Extended attributes and link targets change the ctime: when inode and ctime are those
    // of the parent snapshot, its values are reused and no system call is needed.
    if let p = parentNode, p.kind == node.kind, p.inode == node.inode, p.ctime == node.ctime {
      node.xattrs = p.xattrs
      node.linkTarget = p.linkTarget
    } else {
      FS.readExtrasInto(&node, path: path)
    }
    switch node.kind {
    case .directory:
      let d = run.makeDirectory(node, path: path, parentNode: parentNode, in: dir)
      // A mount point under --one-file-system: keep the directory, not what is mounted on it.
      let mountPoint = options.oneFileSystem && !isArgument && run.rootDevice.map { node.device != $0 } == true
      if !mountPoint {
        try await scanDirectoryContents(d, parentTree: try await subtree(of: parentNode), run: run, compressor: compressor)
      }
      try await endScan(of: d, run: run, compressor: compressor)
    case .file:
      try await placeFile(node, path: path, parentNode: parentNode, into: dir, run: run, remote: nil)
    default:
      _ = run.add(.ready(node), to: dir)
    }
  }

  /// A scanned file: reused from the parent snapshot when size, times and file ID are the
  /// same and its data is still indexed; otherwise queued to be read.
  func placeFile(_ node: Node, path: [UInt8], parentNode: Node?, into dir: ScanDir, run: Run, remote: (any RemoteTree)?) async throws {
    if let p = parentNode, p.kind == .file, p.size == node.size, p.mtime == node.mtime,
      p.ctime == node.ctime, p.inode == node.inode,
      p.content.allSatisfy({ repository.index.contains($0) })
    {
      var reused = node
      reused.content = p.content
      _ = run.add(.ready(reused), to: dir)
      run.locked {
        run.summary.filesUnmodified += 1
        run.summary.totalFilesProcessed += 1
        run.summary.totalBytesProcessed += node.size
      }
    } else {
      run.locked { if parentNode == nil { run.summary.filesNew += 1 } else { run.summary.filesChanged += 1 } }
      try await queueFile(FileJob(path: path, node: node, remote: remote, dir: dir, slot: 0), run: run)
    }
  }

  /// Queues a file to be read into its directory, waiting while the scan is far ahead of the
  /// readers.
  func queueFile(_ job: FileJob, run: Run) async throws {
    var job = job
    job.slot = run.add(.file(job.node), to: job.dir)
    _ = run.queue.append(job)
    try await run.queue.waitForRoom()
  }

  /// The scan has finished with `dir`: its tree is saved now if nothing in it is still being
  /// read, else by the reader that finishes its last file.
  func endScan(of dir: ScanDir, run: Run, compressor: ZstdCompressor?) async throws {
    if let done = run.settle(dir, slot: nil, with: nil) { try await finish(done, run: run, compressor: compressor) }
  }

  /// The compressor for tree blobs: each scan or reader task uses its own.
  func treeCompressor() -> ZstdCompressor? { repository.config.compressor(options.compression) }

  // MARK: read

  /// What reading one file produced. Kept small: a backup holds one per file read.
  struct FileResult: Sendable {
    /// The file's blobs; nil when it could not be read (it is left out of the snapshot).
    var content: [ID]?
    var size: UInt64 = 0
    /// The times after reading, when the file changed while it was read.
    var changedTimes: (mtime: Timespec, ctime: Timespec)?
    var error: String?
    /// The path, for the warning, when the file changed while it was read.
    var changedPath: String?
    var newBlobs = 0
    var newBytes: UInt64 = 0

    /// What a whole read produced: the blobs, the size and the new data stored.
    mutating func take(_ outcome: FileReader.Outcome) {
      content = outcome.content
      size = outcome.bytes
      newBlobs = outcome.newBlobs
      newBytes = outcome.newBytes
    }
  }

  /// Readers: `workers` tasks on the blocking-I/O executor take files from the queue until the
  /// scan has finished and the queue is empty. Each puts the file's node in its directory and
  /// saves the directory's tree when that was the last thing it waited for.
  func readFiles(_ queue: JobQueue, run: Run) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<max(1, options.workers) {
        group.addTask(executorPreference: BlockingExecutor.shared) { [self] in
          let reader = try FileReader(
            chunker: repository.chunker, saver: saver, compressor: repository.config.compressor(options.compression))
          defer { reader.close() }
          while true {
            try Task.checkCancellation()
            switch queue.take() {
            case .job(let i, let job):
              let r = try await self.readOne(job, reader: reader)
              try await place(r, of: job, number: i, run: run, compressor: reader.compressor)
            case .wait:
              try await Task.sleep(nanoseconds: 200_000)
            case .done:
              return
            }
          }
        }
      }
      try await group.waitForAll()
    }
  }

  /// Puts what reading a file produced in its directory.
  func place(_ r: FileResult, of job: FileJob, number: Int, run: Run, compressor: ZstdCompressor?) async throws {
    var child = ScanDir.Child.omitted
    if let content = r.content {
      var n = job.node
      n.content = content
      n.size = r.size
      if let t = r.changedTimes {
        n.mtime = t.mtime
        n.atime = t.mtime
        n.ctime = t.ctime
      }
      child = .ready(n)
    }
    let done: ScanDir? = run.locked {
      run.summary.dataBlobs += r.newBlobs
      run.summary.dataAdded += r.newBytes
      if r.content != nil {
        run.summary.totalFilesProcessed += 1
        run.summary.totalBytesProcessed += r.size
      }
      if let e = r.error { run.fileErrors.append((number, e)) }
      if let p = r.changedPath { run.changed.append((number, p)) }
      job.dir.children[job.slot] = child
      job.dir.outstanding -= 1
      return job.dir.outstanding == 0 ? job.dir : nil
    }
    if let done { try await finish(done, run: run, compressor: compressor) }
  }

  func readOne(_ job: FileJob, reader: FileReader) async throws -> FileResult {
    var result = FileResult()
    if let command = job.command {
      return try await readCommand(command, node: job.node, reader: reader)
    }
    if let remote = job.remote {
      return try await readRemote(job, remote: remote, reader: reader)
    }
    var realFD = FS.withCPath(job.path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | FS.noAtime) }
    if realFD < 0 && errno == EPERM {
      // FS.noAtime is only allowed to the file's owner.
      realFD = FS.withCPath(job.path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    }
    guard realFD >= 0 else {
      result.error = "\(PathBytes.display(job.path)): cannot read: \(FS.errorText(errno))"
      progress.update { $0.errors += 1 }
      return result
    }
    defer { Glibc.close(realFD) }
    let outcome = try await reader.read(fd: realFD, expectedSize: Int(job.node.size), progress: progress)
    var after = Glibc.stat()
    if fstat(realFD, &after) == 0 {
      let mtime = FS.timespec(after.st_mtim)
      let ctime = FS.timespec(after.st_ctim)
      if mtime != job.node.mtime || ctime != job.node.ctime || UInt64(after.st_size) != job.node.size
        || outcome.bytes != job.node.size
      {
        result.changedTimes = (mtime, ctime)
        result.changedPath = PathBytes.display(job.path)
      }
    }
    if let e = outcome.error {
      result.error = "\(PathBytes.display(job.path)): read failed: \(e)"
      return result
    }
    result.take(outcome)
    progress.add(files: 1)
    return result
  }

  func readCommand(_ src: StdinSource, node: Node, reader: FileReader) async throws -> FileResult {
    if let file = src.file { return try await readProducedFile(file, as: src.filename, reader: reader) }
    let process = Process()
    // Foundation starts the child as the leader of its own process group, so a timeout or a
    // cancellation stops the whole pipeline the command started (kill of -pid), not only
    // the shell.
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", src.command]
    if !src.environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(src.environment) { _, new in new }
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    // The command's complaints are kept (the last 4 KiB) to say why it failed.
    let errors = ErrorTail()
    let errPipe = Pipe()
    process.standardError = errPipe
    errPipe.fileHandleForReading.readabilityHandler = { handle in errors.append(handle.availableData) }
    do {
      try process.run()
    } catch {
      throw LifeboatError(.fatal, "cannot start command: \(error)")
    }
    let pid = process.processIdentifier
    @Sendable func stopCommand() {
      kill(-pid, SIGTERM)
      kill(pid, SIGTERM)
      DispatchQueue.global().asyncAfter(deadline: Deadline.after(5)) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
      }
    }
    let fd = pipe.fileHandleForReading.fileDescriptor
    // A watchdog stops a command that runs past its timeout; the read then ends at EOF.
    let timedOut = SharedFlag()
    var watchdog: DispatchWorkItem?
    if let timeout = src.timeout {
      let item = DispatchWorkItem {
        timedOut.set()
        stopCommand()
      }
      watchdog = item
      DispatchQueue.global().asyncAfter(deadline: Deadline.after(timeout), execute: item)
    }
    let outcome = try await withTaskCancellationHandler {
      try await reader.read(fd: fd, expectedSize: nil, progress: progress)
    } onCancel: {
      stopCommand()
    }
    process.waitUntilExit()
    watchdog?.cancel()
    errPipe.fileHandleForReading.readabilityHandler = nil
    errors.append(errPipe.fileHandleForReading.readDataToEndOfFile())
    try Task.checkCancellation()
    if timedOut.isSet {
      throw LifeboatError(
        .fatal,
        "the command for \(src.filename) ran longer than its timeout (\(Int(src.timeout ?? 0)) s) and was stopped; no snapshot was saved",
        hint: "raise the source's timeout, or find out why the command hangs")
    }
    if let e = outcome.error {
      throw LifeboatError(.fatal, "reading the command's output failed: \(e)")
    }
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      let said = errors.text
      let how = process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "killed by signal \(process.terminationStatus)"
      throw LifeboatError(
        .fatal,
        "the command for \(src.filename) failed (\(how))\(said.isEmpty ? "" : ": \(said)"); no snapshot was saved",
        hint: "fix the command (run it by hand to see its error), then back up again")
    }
    progress.add(files: 1)
    return FileResult(
      content: outcome.content, size: outcome.bytes, newBlobs: outcome.newBlobs,
      newBytes: outcome.newBytes)
  }

  func readProducedFile(_ path: String, as name: String, reader: FileReader) async throws -> FileResult {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw LifeboatError(.fatal, "cannot read \(path), made for \(name): \(String(cString: strerror(errno))); no snapshot was saved")
    }
    defer { close(fd) }
    let outcome = try await reader.read(fd: fd, expectedSize: nil, progress: progress)
    if let e = outcome.error { throw LifeboatError(.fatal, "reading \(path), made for \(name), failed: \(e)") }
    progress.add(files: 1)
    return FileResult(
      content: outcome.content, size: outcome.bytes, newBlobs: outcome.newBlobs, newBytes: outcome.newBytes)
  }

  // MARK: trees

  /// Saves the tree of a directory that has nothing outstanding, hands its node to the
  /// parent, and goes on up while that finishes a parent too.
  func finish(_ dir: ScanDir, run: Run, compressor: ZstdCompressor?) async throws {
    var current: ScanDir? = dir
    while let dir = current {
      // Nothing changes a finished directory's children any more.
      var nodes = [Node]()
      nodes.reserveCapacity(dir.children.count)
      for child in dir.children {
        switch child {
        case .ready(let n): nodes.append(n)
        case .omitted: continue
        case .file, .dir:
          throw LifeboatError(.fatal, "internal error: \(PathBytes.display(dir.path)) was saved before its contents")
        }
      }
      let count = dir.children.count
      dir.children = []
      // Paths given twice (or a path and its parent) must not produce duplicate names.
      var seen = Set<[UInt8]>()
      nodes = nodes.filter { seen.insert($0.name).inserted }
      let encoded = TreeFormat.encode(Tree(nodes: nodes))
      nodes = []
      let r = try await saver.save(.tree, bytes: encoded, compressor: compressor)
      var node = dir.node
      node.subtree = r.id
      current = run.locked {
        run.held -= count
        if r.isNew { run.summary.treeBlobs += 1 }
        guard let parent = dir.parent else {
          run.rootTree = r.id
          return nil
        }
        if dir.parentNode == nil {
          run.summary.dirsNew += 1
        } else if dir.parentNode?.subtree == r.id {
          run.summary.dirsUnmodified += 1
        } else {
          run.summary.dirsChanged += 1
        }
        parent.children[dir.slot] = .ready(node)
        parent.outstanding -= 1
        return parent.outstanding == 0 ? parent : nil
      }
    }
  }
}

/// The last 4 KiB a command wrote to its standard error, filled from a Dispatch handler.
final class ErrorTail: Sendable {
  private let data = Mutex(Data())
  func append(_ more: Data) {
    guard !more.isEmpty else { return }
    data.withLock {
      $0.append(more)
      if $0.count > 4096 { $0 = $0.suffix(4096) }
    }
  }
  /// The last lines, whitespace trimmed, at most 500 characters.
  var text: String {
    let s = data.withLock { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespacesAndNewlines)
    return String(s.suffix(500))
  }
}
