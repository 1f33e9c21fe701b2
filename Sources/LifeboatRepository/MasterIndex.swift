// LifeboatRepository — a repository on a backend: keys and config, the in-memory index, the
// pack uploader, snapshots and locks. Knows bytes and objects, not files and directories.

import Synchronization
public import LifeboatCore
public import LifeboatFormat

/// Where a blob is: its pack (by position in the pack table) and its place in that pack.
/// 48 bytes: the 32-byte ID and four 32-bit words; the type and the compressed flag live in
/// the top bits of the pack number, so a 10-million-blob repository needs ~460 MiB of index
/// instead of restic's ~1.5-2 GiB.
@usableFromInline
struct IndexEntry: Sendable {
  var id: ID
  var packAndFlags: UInt32
  var offset: UInt32
  var length: UInt32
  var rawLength: UInt32

  static let treeBit: UInt32 = 1 << 31
  static let compressedBit: UInt32 = 1 << 30
  static let packMask: UInt32 = (1 << 30) - 1

  init(_ e: PackEntry, pack: UInt32) {
    id = e.id
    packAndFlags =
      pack | (e.type == .tree ? Self.treeBit : 0) | (e.compressed ? Self.compressedBit : 0)
    offset = e.offset
    length = e.length
    rawLength = e.rawLength
  }

  var pack: Int { Int(packAndFlags & Self.packMask) }

  var packEntry: PackEntry {
    PackEntry(
      type: packAndFlags & Self.treeBit != 0 ? .tree : .data,
      compressed: packAndFlags & Self.compressedBit != 0, offset: offset, length: length,
      rawLength: rawLength, id: id)
  }
}

/// A blob's location as callers see it.
public struct BlobLocation: Sendable, Hashable {
  public var pack: ID
  public var entry: PackEntry
}

/// The union of all index files plus what this process added, in a compact form.
///
/// Loaded entries live in one block sorted by ID (searched by interpolation, since IDs are
/// uniformly random), or, for a large index, in the on-disk cache (`IndexCache`, read a page at
/// a time) with the block holding only what was added since; entries added during a run go to
/// a small dictionary that is merged into the block in place when it grows past 1/16 of it.
/// Thread-safe.
public final class MasterIndex: Sendable {
  struct State {
    /// The index cache's entries, sorted, read from the file (none in `sorted` or `pending`).
    var cached: CachedEntries? = nil
    /// Loaded and merged entries, sorted by ID, in a block grown with realloc (`EntryBuffer`).
    var sorted = EntryBuffer()
    var pending: [ID: IndexEntry] = [:]
    /// Blobs being packed by this process but not yet in an uploaded pack.
    var reserved: Set<ID> = []
    var packs: [ID] = []
    var packNumbers: [ID: UInt32] = [:]
    var packSizes: [UInt64] = []
    /// Mirrors (docs/design.md §7): a pack whose every entry is already indexed at the same
    /// offset and length in one other pack is that pack's mirror. Both directions, by number.
    var alternates: [UInt32: UInt32] = [:]
  }

  private let state = Mutex(State())

  public init() {}

  public var blobCount: Int { state.withLock { ($0.cached?.count ?? 0) + $0.sorted.count + $0.pending.count } }
  public var packCount: Int { state.withLock { $0.packs.count } }

  /// Adds the blobs of one pack. A blob already known stays where it was first found.
  public func add(pack: ID, entries: [PackEntry]) {
    state.withLock { s in
      let number: UInt32
      if let n = s.packNumbers[pack] {
        number = n
      } else {
        number = UInt32(s.packs.count)
        s.packs.append(pack)
        s.packNumbers[pack] = number
        s.packSizes.append(0)
      }
      var size: UInt64 = 0
      // Which single other pack holds every entry at the same place, if one does.
      var twin: UInt32? = nil
      var isMirror = !entries.isEmpty
      for e in entries {
        size = max(size, UInt64(e.offset) + UInt64(e.length))
        s.reserved.remove(e.id)
        if let existing = Self.lookup(e.id, s) {
          if isMirror {
            let same = existing.offset == e.offset && existing.length == e.length && UInt32(existing.pack) != number
            if same && (twin == nil || twin == UInt32(existing.pack)) { twin = UInt32(existing.pack) } else { isMirror = false }
          }
        } else {
          isMirror = false
          s.pending[e.id] = IndexEntry(e, pack: number)
        }
      }
      if isMirror, let twin {
        s.alternates[twin] = number
        s.alternates[number] = twin
      }
      s.packSizes[Int(number)] = max(s.packSizes[Int(number)], size)
      // Merged at 1/16 of the sorted entries: a dictionary takes about three times the
      // memory per entry that the sorted block does.
      if s.pending.count > max(4096, s.sorted.count / 16) { Self.merge(&s) }
    }
  }

  /// Index files gathered for `load`: their entries in one flat array as they arrive, in any
  /// order, with a provisional pack number per (file, pack); nothing else per blob.
  public struct Loader: Sendable {
    var entries: EntryBuffer
    var packs: [(id: ID, file: Int)] = []
    var files: [(name: String, supersedes: [ID])] = []

    /// `expectedEntries`: about how many entries the files hold (their size over the 44
    /// bytes an entry takes in an index file), so the array is allocated once, not regrown
    /// (the block grows with realloc if the guess is short).
    public init(expectedEntries: Int = 0) {
      entries = EntryBuffer(capacity: expectedEntries)
    }

    public var fileCount: Int { files.count }

    public mutating func add(name: String, file: IndexFile) {
      let f = files.count
      files.append((name, file.supersedes))
      for p in file.packs {
        let n = UInt32(packs.count)
        packs.append((p.id, f))
        for e in p.entries { entries.append(IndexEntry(e, pack: n)) }
      }
    }
  }

  /// Loads a whole index at once: what `add` per pack does, with one sort instead of a
  /// dictionary and repeated merges, so loading costs the 48 bytes per blob it keeps and
  /// little more. Files are taken in name order (superseded ones left out), so when a blob is
  /// stored twice every process picks the same copy: the first found, as with `add`. Mirrors
  /// (docs/design.md §7) are found the same way. Returns the names of the files used; into
  /// an index that already holds entries, it adds pack by pack instead.
  @discardableResult
  public func load(_ loader: consuming Loader) -> [String] {
    let superseded = Set(loader.files.flatMap { $0.supersedes.map(\.hex) })
    let order = loader.files.indices.filter { !superseded.contains(loader.files[$0].name) }
      .sorted { loader.files[$0].name < loader.files[$1].name }
    var rank = [Int?](repeating: nil, count: loader.files.count)
    for (r, f) in order.enumerated() { rank[f] = r }
    let used = order.map { loader.files[$0].name }
    guard state.withLock({ $0.cached == nil && $0.sorted.isEmpty && $0.pending.isEmpty && $0.packs.isEmpty }) else {
      // Rare (an index loaded twice in one process): the general path.
      var byPack = [UInt32: [PackEntry]]()
      loader.entries.forEach { e in byPack[UInt32(e.pack), default: []].append(e.packEntry) }
      for f in order {
        for (n, p) in loader.packs.enumerated() where p.file == f { add(pack: p.id, entries: byPack[UInt32(n)] ?? []) }
      }
      compact()
      return used
    }
    // Final pack numbers in the order `add` would have met the packs.
    let provisional = loader.packs.indices.filter { rank[loader.packs[$0].file] != nil }
      .sorted { (rank[loader.packs[$0].file]!, $0) < (rank[loader.packs[$1].file]!, $1) }
    var final = [UInt32?](repeating: nil, count: loader.packs.count)
    var packs = [ID]()
    var numbers = [ID: UInt32]()
    for n in provisional {
      let id = loader.packs[n].id
      if let existing = numbers[id] {
        final[n] = existing
      } else {
        let number = UInt32(packs.count)
        numbers[id] = number
        packs.append(id)
        final[n] = number
      }
    }
    loader.packs = []
    // Renumber in place, dropping superseded files' entries; pack sizes over every entry.
    var sizes = [UInt64](repeating: 0, count: packs.count)
    let entries = loader.entries
    var w = 0
    for i in 0..<entries.count {
      var e = entries[i]
      guard let number = final[e.pack] else { continue }
      e.packAndFlags = (e.packAndFlags & ~IndexEntry.packMask) | number
      sizes[Int(number)] = max(sizes[Int(number)], UInt64(e.offset) + UInt64(e.length))
      entries[w] = e
      w += 1
    }
    entries.setCount(w)
    Self.sortInPlace(entries.buffer)
    // Keep the first copy of each blob; the others say which packs are mirrors.
    var mirrors = MirrorFinder(packs: packs.count)
    var kept = 0
    var i = 0
    while i < entries.count {
      let owner = entries[i]
      mirrors.own(owner)
      entries[kept] = owner
      kept += 1
      var j = i + 1
      while j < entries.count && entries[j].id == owner.id {
        mirrors.copy(entries[j], of: owner)
        j += 1
      }
      i = j
    }
    entries.setCount(kept)
    entries.shrinkToFit()
    let alternates = mirrors.alternates
    state.withLock { s in
      s.sorted = entries
      s.packs = packs
      s.packNumbers = numbers
      s.packSizes = sizes
      s.alternates = alternates
    }
    return used
  }

  /// Which packs are mirrors (docs/design.md §7), from the copies of each blob in pack order:
  /// a pack is a mirror when every one of its entries is a later copy of a blob at the same
  /// offset and length in one single other pack. `load` and `IndexCacheBuilder` decide it
  /// here, so a cache built from runs agrees with a full load.
  struct MirrorFinder {
    private var twin: [UInt32?]
    private var mirror: [Bool]
    private var hasEntries: [Bool]

    init(packs: Int) {
      twin = [UInt32?](repeating: nil, count: packs)
      mirror = [Bool](repeating: true, count: packs)
      hasEntries = [Bool](repeating: false, count: packs)
    }

    /// The first copy of a blob: its pack holds an indexed blob, so it is no mirror.
    mutating func own(_ owner: IndexEntry) {
      hasEntries[owner.pack] = true
      mirror[owner.pack] = false
    }

    /// A later copy of `owner`'s blob.
    mutating func copy(_ e: IndexEntry, of owner: IndexEntry) {
      hasEntries[e.pack] = true
      if e.pack != owner.pack && e.offset == owner.offset && e.length == owner.length
        && (twin[e.pack] == nil || twin[e.pack] == UInt32(owner.pack))
      {
        twin[e.pack] = UInt32(owner.pack)
      } else {
        mirror[e.pack] = false
      }
    }

    /// Each mirror with its pack, both ways, by number.
    var alternates: [UInt32: UInt32] {
      var out = [UInt32: UInt32]()
      for n in twin.indices where hasEntries[n] && mirror[n] {
        if let t = twin[n] {
          out[t] = UInt32(n)
          out[UInt32(n)] = t
        }
      }
      return out
    }
  }

  /// Sorts by (id, pack, offset) without extra memory (the standard sort is stable and would
  /// borrow a buffer the size of the index): quicksort on the uniformly random IDs, insertion
  /// sort for short runs, recursion on the smaller side so the stack stays logarithmic.
  static func sortInPlace(_ a: UnsafeMutableBufferPointer<IndexEntry>) {
    @inline(__always) func less(_ x: IndexEntry, _ y: IndexEntry) -> Bool {
      x.id != y.id ? x.id < y.id : (x.pack != y.pack ? x.pack < y.pack : x.offset < y.offset)
    }
    var lo = 0
    var hi = a.count - 1
    while hi - lo > 16 {
      // Median of three as the pivot.
      let mid = lo + (hi - lo) / 2
      if less(a[mid], a[lo]) { a.swapAt(mid, lo) }
      if less(a[hi], a[lo]) { a.swapAt(hi, lo) }
      if less(a[hi], a[mid]) { a.swapAt(hi, mid) }
      let pivot = a[mid]
      var i = lo
      var j = hi
      while i <= j {
        while less(a[i], pivot) { i += 1 }
        while less(pivot, a[j]) { j -= 1 }
        if i <= j {
          a.swapAt(i, j)
          i += 1
          j -= 1
        }
      }
      if j - lo < hi - i {
        sortInPlace(UnsafeMutableBufferPointer(rebasing: a[lo...j]))
        lo = i
      } else {
        sortInPlace(UnsafeMutableBufferPointer(rebasing: a[i...hi]))
        hi = j
      }
    }
    guard lo < hi else { return }
    for k in (lo + 1)...hi {
      let x = a[k]
      var m = k - 1
      while m >= lo && less(x, a[m]) {
        a[m + 1] = a[m]
        m -= 1
      }
      a[m + 1] = x
    }
  }

  /// Sorts pending entries into the compact array. Call after loading the index.
  public func compact() {
    state.withLock { Self.merge(&$0) }
  }

  /// Merges the pending entries into the sorted block in place: the block grows by their
  /// number (realloc, no second block) and is filled from the back, the larger of the two
  /// next entries first. Pending IDs are never in the block (`add` looks them up first).
  private static func merge(_ s: inout State) {
    guard !s.pending.isEmpty else { return }
    var fresh = Array(s.pending.values)
    s.pending.removeAll(keepingCapacity: false)
    fresh.sort { $0.id < $1.id }
    let old = s.sorted.count
    s.sorted.reserve(old + fresh.count)
    s.sorted.setCount(old + fresh.count)
    let a = s.sorted.buffer
    var i = old - 1
    var k = old + fresh.count - 1
    fresh.withUnsafeBufferPointer { f in
      var j = f.count - 1
      while j >= 0 {
        if i >= 0 && a[i].id > f[j].id {
          a[k] = a[i]
          i -= 1
        } else {
          a[k] = f[j]
          j -= 1
        }
        k -= 1
      }
    }
  }

  /// Interpolation search over uniformly distributed IDs; falls back to bisection.
  static func find(_ id: ID, in a: [IndexEntry]) -> Int? {
    a.withUnsafeBufferPointer { find(id, in: $0) }
  }

  static func find(_ id: ID, in buf: UnsafeBufferPointer<IndexEntry>) -> Int? {
    var lo = 0
    var hi = buf.count - 1
    var steps = 0
    while lo <= hi {
      steps += 1
      let a0 = buf[lo].id.w0
      let b0 = buf[hi].id.w0
      var mid: Int
      if id.w0 < a0 || id.w0 > b0 { return nil }
      if b0 > a0 && steps < 8 {
        let frac = Double(id.w0 - a0) / Double(b0 - a0)
        mid = lo + Int(frac * Double(hi - lo))
        mid = min(max(mid, lo), hi)
      } else {
        mid = (lo + hi) / 2
      }
      let m = buf[mid].id
      if m == id { return mid }
      if m < id { lo = mid + 1 } else { hi = mid - 1 }
    }
    return nil
  }

  private static func lookup(_ id: ID, _ s: State) -> IndexEntry? {
    if let c = s.cached, let e = c.find(id) { return e }
    if let i = find(id, in: UnsafeBufferPointer(s.sorted.buffer)) { return s.sorted[i] }
    return s.pending[id]
  }

  public func contains(_ id: ID) -> Bool {
    state.withLock { Self.lookup(id, $0) != nil }
  }

  public func location(of id: ID) -> BlobLocation? {
    state.withLock { s in
      guard let e = Self.lookup(id, s) else { return nil }
      return BlobLocation(pack: s.packs[e.pack], entry: e.packEntry)
    }
  }

  /// Claims a blob for this process: true if it is neither stored nor being packed, in which
  /// case the caller must pack it (so two workers never store the same new blob twice).
  public func reserve(_ id: ID) -> Bool {
    state.withLock { s in
      if Self.lookup(id, s) != nil { return false }
      return s.reserved.insert(id).inserted
    }
  }

  /// Gives up claims on blobs that will not be stored after all (a failed or abandoned pack),
  /// so a later run in the same process stores them again.
  public func release(_ ids: some Sequence<ID>) {
    state.withLock { s in
      for id in ids { s.reserved.remove(id) }
    }
  }

  public var packIDs: [ID] { state.withLock { $0.packs } }

  /// The other copy of a pack: its mirror, or the pack it mirrors.
  public func alternate(of pack: ID) -> ID? {
    state.withLock { s in s.packNumbers[pack].flatMap { s.alternates[$0] }.map { s.packs[Int($0)] } }
  }

  /// Mirror packs, each with the pack whose entries it repeats (the one `location(of:)` names).
  public var mirrors: [ID: ID] {
    state.withLock { s in
      var out = [ID: ID]()
      for (a, b) in s.alternates where Self.owns(b, s) == false && Self.owns(a, s) { out[s.packs[Int(b)]] = s.packs[Int(a)] }
      return out
    }
  }

  /// Whether pack number `n` is the one the index locates its blobs in (not a mirror).
  private static func owns(_ n: UInt32, _ s: State) -> Bool {
    guard let twin = s.alternates[n] else { return true }
    // The pack added first owns the entries; its number is the smaller.
    return n < twin
  }

  public func packSize(_ id: ID) -> UInt64? {
    state.withLock { s in s.packNumbers[id].map { s.packSizes[Int($0)] } }
  }

  /// Every blob of every pack, grouped by pack; a mirror pack is listed with the entries of the
  /// pack it mirrors.
  public func entriesByPack() -> [ID: [PackEntry]] {
    state.withLock { s in
      var out = [ID: [PackEntry]]()
      s.cached?.forEach { e in out[s.packs[e.pack], default: []].append(e.packEntry) }
      s.sorted.forEach { e in out[s.packs[e.pack], default: []].append(e.packEntry) }
      for e in s.pending.values { out[s.packs[e.pack], default: []].append(e.packEntry) }
      for (a, b) in s.alternates where Self.owns(a, s) {
        if let entries = out[s.packs[Int(a)]] { out[s.packs[Int(b)]] = entries }
      }
      return out
    }
  }

  /// Totals over all blobs: (data blobs, tree blobs, plaintext bytes, stored bytes).
  public func totals() -> (dataBlobs: Int, treeBlobs: Int, rawBytes: UInt64, storedBytes: UInt64)
  {
    state.withLock { s in
      var d = 0
      var t = 0
      var raw: UInt64 = 0
      var stored: UInt64 = 0
      func count(_ e: IndexEntry) {
        if e.packAndFlags & IndexEntry.treeBit != 0 { t += 1 } else { d += 1 }
        raw += UInt64(e.rawLength)
        stored += UInt64(e.length)
      }
      s.cached?.forEach(count)
      s.sorted.forEach(count)
      s.pending.values.forEach(count)
      return (d, t, raw, stored)
    }
  }

  /// Bytes of memory the index holds per blob (entries, pack table and its lookup), measured
  /// from capacities. docs/design.md reports this figure.
  public func memoryBytesPerBlob() -> Double {
    state.withLock { s in
      // Entries in the cache file count as blobs but not as memory: they are read as needed.
      let blobs = (s.cached?.count ?? 0) + s.sorted.count + s.pending.count
      guard blobs > 0 else { return 0 }
      let entries = s.sorted.bytes
      let pending = s.pending.capacity * (MemoryLayout<ID>.stride + MemoryLayout<IndexEntry>.stride + 1)
      let packs = s.packs.capacity * 32 + s.packNumbers.capacity * (32 + 4 + 1) + s.packSizes.capacity * 8
      return Double(entries + pending + packs) / Double(blobs)
    }
  }
}

// MARK: - The on-disk cache, and passes that do not gather the whole index

extension MasterIndex {
  /// Takes an opened cache as the whole index (into an empty one).
  func adopt(_ cache: IndexCache.Opened) {
    state.withLock { s in
      precondition(s.cached == nil && s.sorted.isEmpty && s.pending.isEmpty && s.packs.isEmpty)
      s.cached = cache.entries
      s.packs = cache.header.packs
      s.packSizes = cache.header.packSizes
      s.packNumbers = Dictionary(cache.header.packs.enumerated().map { ($1, UInt32($0)) }, uniquingKeysWith: { a, _ in a })
      for (a, b) in cache.header.alternates { s.alternates[a] = b }
    }
  }

  /// Whether the index is served from the index cache file.
  public var isCached: Bool { state.withLock { $0.cached != nil } }

  /// Entries held in memory beside the cache (added since it was written).
  var entriesBesideCache: Int { state.withLock { $0.sorted.count + $0.pending.count } }

  /// Everything the cache file holds, as it stands (pending entries merged first). The sorted
  /// block is shared, not copied: write it before the index changes again (`loadIndex` does,
  /// before anything else uses the index).
  func cacheContents() -> IndexCache.Contents {
    state.withLock { s in
      Self.merge(&s)
      return IndexCache.Contents(packs: s.packs, packSizes: s.packSizes, alternates: s.alternates, cached: s.cached, sorted: s.sorted)
    }
  }

  /// Every pack that holds indexed blobs (mirrors included), with the end of its last blob:
  /// what `check` compares with the stored packs. One pass that keeps a number per pack.
  public func packExtents() -> [ID: UInt64] {
    state.withLock { s in
      var live = [Bool](repeating: false, count: s.packs.count)
      func mark(_ e: IndexEntry) { live[e.pack] = true }
      s.cached?.forEach(mark)
      s.sorted.forEach(mark)
      s.pending.values.forEach(mark)
      var out = [ID: UInt64]()
      for (n, isLive) in live.enumerated() where isLive { out[s.packs[n]] = s.packSizes[n] }
      for (a, b) in s.alternates where Self.owns(a, s) && live[Int(a)] { out[s.packs[Int(b)]] = s.packSizes[Int(a)] }
      return out
    }
  }

  /// How a pack's blobs are used: what prune decides on, without the entries themselves.
  public struct PackUsage: Sendable, Equatable {
    /// The blobs indexed in this pack (its own copies).
    public var entries = 0
    public var used = 0
    /// Bytes of its own copies that nothing uses.
    public var unusedBytes: UInt64 = 0
    /// Bytes of copies of blobs indexed in another pack (two backups stored the same blobs
    /// at once): as wasted as unused ones, whoever uses the blob.
    public var duplicateBytes: UInt64 = 0
    public var type: BlobType = .data

    /// What rewriting the pack would free.
    public var wastedBytes: UInt64 { unusedBytes + duplicateBytes }
  }

  /// Every pack holding indexed blobs (mirrors left out: they follow their pack), with how
  /// many of its entries `isUsed`, the bytes of the others, and the bytes of copies indexed
  /// elsewhere (its extent, over every entry any index file gives it, less its own copies).
  /// One pass, a few numbers per pack.
  public func packUsage(isUsed: (ID) -> Bool) -> [ID: PackUsage] {
    state.withLock { s in
      var usage = [PackUsage?](repeating: nil, count: s.packs.count)
      var own = [UInt64](repeating: 0, count: s.packs.count)
      func count(_ e: IndexEntry) {
        var u = usage[e.pack] ?? PackUsage(type: e.packAndFlags & IndexEntry.treeBit != 0 ? .tree : .data)
        u.entries += 1
        if isUsed(e.id) { u.used += 1 } else { u.unusedBytes += UInt64(e.length) }
        own[e.pack] += UInt64(e.length)
        usage[e.pack] = u
      }
      s.cached?.forEach(count)
      s.sorted.forEach(count)
      s.pending.values.forEach(count)
      var out = [ID: PackUsage]()
      for (n, u) in usage.enumerated() {
        guard var u else { continue }
        // Blobs lie back to back from offset 0, so the extent is the sum of every copy's length.
        u.duplicateBytes = s.packSizes[n] > own[n] ? s.packSizes[n] - own[n] : 0
        out[s.packs[n]] = u
      }
      return out
    }
  }

  /// The tree blobs of every pack that holds trees, in storage order (a mirror with those of
  /// the pack it mirrors): one pass that keeps only trees, a small share of any index.
  public func treeEntriesByPack() -> [ID: [PackEntry]] {
    state.withLock { s in
      var out = [ID: [PackEntry]]()
      func take(_ e: IndexEntry) {
        if e.packAndFlags & IndexEntry.treeBit != 0 { out[s.packs[e.pack], default: []].append(e.packEntry) }
      }
      s.cached?.forEach(take)
      s.sorted.forEach(take)
      s.pending.values.forEach(take)
      for (a, b) in s.alternates where Self.owns(a, s) {
        if let entries = out[s.packs[Int(a)]] { out[s.packs[Int(b)]] = entries }
      }
      return out.mapValues { $0.sorted { $0.offset < $1.offset } }
    }
  }

  /// The entries of `packs` only (a mirror with those of the pack it mirrors): what `check
  /// --read-data` compares each pack it reads with.
  public func entries(inPacks packs: Set<ID>) -> [ID: [PackEntry]] {
    state.withLock { s in
      var wanted = [Bool](repeating: false, count: s.packs.count)
      for (n, p) in s.packs.enumerated() where packs.contains(p) { wanted[n] = true }
      for (a, b) in s.alternates where Self.owns(a, s) && wanted[Int(b)] { wanted[Int(a)] = true }
      var out = [ID: [PackEntry]]()
      func take(_ e: IndexEntry) { if wanted[e.pack] { out[s.packs[e.pack], default: []].append(e.packEntry) } }
      s.cached?.forEach(take)
      s.sorted.forEach(take)
      s.pending.values.forEach(take)
      for (a, b) in s.alternates where Self.owns(a, s) && packs.contains(s.packs[Int(b)]) {
        if let entries = out[s.packs[Int(a)]] { out[s.packs[Int(b)]] = entries }
      }
      return out.filter { packs.contains($0.key) }
    }
  }
}
