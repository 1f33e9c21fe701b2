// Builds the index cache straight from the repository's index files, without holding the
// index (docs/design.md §14, "Building the cache"): entries gather in a run of at most
// `runEntries`, which is sorted by ID and written to an unnamed file beside the cache when
// full; the runs are then merged into the cache file. What `MasterIndex.load` decides — the
// first copy of a blob by index file name, mirrors, pack sizes, superseded files left out — is
// decided here the same way, the copies of an ID meeting in the merge. A repository of twenty
// million blobs is opened the first time on a machine, or after a prune, in the memory of one
// run instead of 1.7 GB.

#if canImport(Glibc)
  import Glibc
#endif
import Foundation
import LifeboatCore
import LifeboatFormat

final class IndexCacheBuilder: @unchecked Sendable {
  /// Entries read back from a run at a time while merging (768 KiB).
  static let window = 1 << 14

  private let directory: String
  private let runEntries: Int
  private let write: IndexCache.Write
  private var run: EntryBuffer
  /// Runs written so far: unnamed files (unlinked as soon as opened), gone when closed.
  private var runs: [(fd: Int32, count: Int)] = []
  /// One per pack an index file lists (a pack listed by two files has two): its ID, its file,
  /// the end of its last entry.
  private var packs: [(id: ID, file: Int)] = []
  private var extents: [UInt64] = []
  private var files: [(name: String, supersedes: [ID])] = []

  /// `directory`: where the runs go (the cache's own, 0700). `expectedEntries`: a guess at
  /// the index's size, so a small index does not reserve a whole run.
  init(directory: String, runEntries: Int = IndexCache.defaultRunEntries, expectedEntries: Int = 0,
       write: @escaping IndexCache.Write = { fd, b in Glibc.write(fd, b.baseAddress, b.count) })
  {
    self.directory = directory
    self.runEntries = max(1, runEntries)
    self.write = write
    run = EntryBuffer(capacity: min(max(1, runEntries), max(1024, expectedEntries)))
  }

  deinit { for r in runs { close(r.fd) } }

  /// Runs written to disk so far (for tests and the load report).
  var runsWritten: Int { runs.count }

  func add(name: String, file: IndexFile) throws {
    let f = files.count
    files.append((name, file.supersedes))
    for p in file.packs {
      guard UInt32(packs.count) < IndexEntry.packMask else {
        throw LifeboatError(.fatal, "the index lists more than \(IndexEntry.packMask) packs")
      }
      let n = UInt32(packs.count)
      packs.append((p.id, f))
      var extent: UInt64 = 0
      for e in p.entries {
        extent = max(extent, UInt64(e.offset) + UInt64(e.length))
        run.append(IndexEntry(e, pack: n))
        if run.count >= runEntries { try spill() }
      }
      extents.append(extent)
    }
  }

  /// Sorts the run and writes it to an unnamed file.
  private func spill() throws {
    MasterIndex.sortInPlace(run.buffer)
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    // A random name: two builders of one process (two repositories opened at once share the
    // cache directory) never race for the same one between its creation and its unlink.
    let path = directory + "/.run-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw LifeboatError(.fatal, "cannot write a run of the index cache in \(directory): \(String(cString: strerror(errno)))",
        hint: "check the cache directory's space and permissions, or set LIFEBOAT_CACHE_DIR")
    }
    unlink(path)
    runs.append((fd, run.count))
    try IndexCache.writeAll(UnsafeRawBufferPointer(run.buffer), to: fd, with: write, what: "a run of the index cache in \(directory)")
    run.setCount(0)
  }

  /// Merges the runs into the cache file at `path`; returns the names of the index files in
  /// force (superseded ones left out), in name order. The cache covers every file read,
  /// superseded ones too: while they are still there (an interrupted prune), a later open must
  /// not read them on top as new.
  func finish(path: String, keys: RepositoryKeys, repositoryID: String) throws -> [String] {
    // Which files count, in name order, and each pack's number as `MasterIndex.load` gives it.
    let superseded = Set(files.flatMap { $0.supersedes.map(\.hex) })
    let order = files.indices.filter { !superseded.contains(files[$0].name) }
      .sorted { files[$0].name < files[$1].name }
    var rank = [Int?](repeating: nil, count: files.count)
    for (r, f) in order.enumerated() { rank[f] = r }
    let provisional = packs.indices.filter { rank[packs[$0].file] != nil }
      .sorted { (rank[packs[$0].file]!, $0) < (rank[packs[$1].file]!, $1) }
    let dropped = UInt32.max
    var final = [UInt32](repeating: dropped, count: packs.count)
    var ids = [ID]()
    var numbers = [ID: UInt32]()
    var sizes = [UInt64]()
    for n in provisional {
      let id = packs[n].id
      if let existing = numbers[id] {
        final[n] = existing
        sizes[Int(existing)] = max(sizes[Int(existing)], extents[n])
      } else {
        let number = UInt32(ids.count)
        numbers[id] = number
        ids.append(id)
        sizes.append(extents[n])
        final[n] = number
      }
    }
    numbers = [:]
    packs = []
    extents = []

    // The runs, each read in order: those on disk a window at a time, the last from memory.
    MasterIndex.sortInPlace(run.buffer)
    var cursors = runs.map { RunCursor(fd: $0.fd, count: $0.count) }
    if !run.isEmpty { cursors.append(RunCursor(memory: UnsafeBufferPointer(run.buffer))) }
    for c in cursors { try c.load() }
    var heap = MinHeap(cursors.indices.filter { cursors[$0].current != nil }) { cursors[$0].current!.id < cursors[$1].current!.id }

    var mirrors = MasterIndex.MirrorFinder(packs: ids.count)
    var group = [IndexEntry]()
    try IndexCache.writeFile(path: path, files: files.map(\.name).sorted(), keys: keys, repositoryID: repositoryID, write: write) { emit in
      // The copies of one ID, renumbered, superseded ones left out: the first (by pack number,
      // then offset) is kept; the others say which packs are mirrors (`MirrorFinder`, as
      // `load` decides it).
      func settle() throws {
        var kept = 0
        for i in group.indices {
          let number = final[group[i].pack]
          guard number != dropped else { continue }
          group[kept] = group[i]
          group[kept].packAndFlags = (group[i].packAndFlags & ~IndexEntry.packMask) | number
          kept += 1
        }
        group.removeLast(group.count - kept)
        guard !group.isEmpty else { return }
        if group.count > 1 { group.sort { ($0.pack, $0.offset) < ($1.pack, $1.offset) } }
        let owner = group[0]
        mirrors.own(owner)
        try emit(owner)
        for e in group.dropFirst() { mirrors.copy(e, of: owner) }
        group.removeAll(keepingCapacity: true)
      }
      while let top = heap.top {
        let e = cursors[top].current!
        if let first = group.first, first.id != e.id { try settle() }
        group.append(e)
        try cursors[top].advance()
        if cursors[top].current == nil { heap.pop() } else { heap.siftDownTop() }
      }
      try settle()
    } table: {
      IndexCache.Table(packs: ids, packSizes: sizes, alternates: mirrors.alternates)
    }
    return order.map { files[$0].name }
  }
}

/// One sorted run, read in order.
private final class RunCursor {
  private let fd: Int32
  private let count: Int
  private var buffer: UnsafeMutableBufferPointer<IndexEntry>?
  private var memory: UnsafeBufferPointer<IndexEntry>?
  /// Entries of the run before the window.
  private var base = 0
  private var filled = 0
  private var at = 0
  private(set) var current: IndexEntry?

  init(fd: Int32, count: Int) {
    self.fd = fd
    self.count = count
    buffer = .allocate(capacity: min(IndexCacheBuilder.window, max(1, count)))
  }

  init(memory: UnsafeBufferPointer<IndexEntry>) {
    fd = -1
    count = memory.count
    self.memory = memory
  }

  deinit { buffer?.deallocate() }

  /// Reads the first window.
  func load() throws {
    if let memory {
      filled = memory.count
      current = filled > 0 ? memory[0] : nil
      return
    }
    try refill()
  }

  func advance() throws {
    at += 1
    if let memory {
      current = at < filled ? memory[at] : nil
      return
    }
    if at == filled {
      base += filled
      try refill()
    } else {
      current = buffer![at]
    }
  }

  private func refill() throws {
    let buffer = buffer!
    let n = min(buffer.count, count - base)
    at = 0
    filled = n
    guard n > 0 else {
      current = nil
      return
    }
    let stride = MemoryLayout<IndexEntry>.stride
    let raw = UnsafeMutableRawBufferPointer(buffer)
    var done = 0
    while done < n * stride {
      let r = pread(fd, raw.baseAddress! + done, n * stride - done, off_t(base * stride + done))
      if r < 0 && errno == EINTR { continue }
      guard r > 0 else {
        throw LifeboatError(.fatal, "cannot read back a run of the index cache: \(r < 0 ? String(cString: strerror(errno)) : "cut short")")
      }
      done += r
    }
    current = buffer[0]
  }
}

/// A binary min-heap of small integers under an ordering given by the caller.
private struct MinHeap {
  private var items: [Int]
  private let less: (Int, Int) -> Bool

  init(_ items: [Int], less: @escaping (Int, Int) -> Bool) {
    self.items = []
    self.less = less
    for i in items { push(i) }
  }

  var top: Int? { items.first }

  mutating func push(_ x: Int) {
    items.append(x)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard less(items[i], items[parent]) else { break }
      items.swapAt(i, parent)
      i = parent
    }
  }

  mutating func pop() {
    items.swapAt(0, items.count - 1)
    items.removeLast()
    siftDownTop()
  }

  /// Restores the order after the top's key grew.
  mutating func siftDownTop() {
    var i = 0
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < items.count && less(items[l], items[m]) { m = l }
      if r < items.count && less(items[r], items[m]) { m = r }
      guard m != i else { return }
      items.swapAt(i, m)
      i = m
    }
  }
}
