// The index as one file on this machine (docs/design.md §14, "The index cache"): the sorted
// entries the master index keeps, written once and then read in place, so a repository of
// tens of millions of blobs opens without reading, decrypting and sorting every index file,
// and without holding 48 bytes per blob in RAM. A lookup reads one page; a pass over every
// entry reads the file in pieces.
//
// It is derived data and never trusted over the repository: it names the index files it was
// built from, and is used only when all of them are still there (files added since are read
// on top; a file gone or a new one that supersedes others means a rebuild). Its header is
// sealed with the repository's metadata key and carries the repository ID and the SHA-256 of
// the entries, checked on every open: a cache cut short, damaged, from another repository or
// made with another key is rebuilt, never used.

#if canImport(Glibc)
  import Glibc
#endif
import Foundation
import LifeboatCore
import LifeboatFormat

/// The sorted entries of a cache file, read in place: a lookup reads the one 4 KiB page that
/// can hold its ID (found in `fences`, the first ID word of every page, 8 bytes per 85
/// entries), a pass reads the file in 3 MiB pieces. Nothing is mapped: on kernels that map a
/// file's pages in large folios, a few hundred lookups into a mapping made 600 MB of it
/// resident (docs/adr/0008-index-cache-reads.md).
final class CachedEntries: @unchecked Sendable {
  static let perPage = 85  // 85 × 48 = 4,080 bytes
  private let fd: Int32
  private let path: String
  let count: Int
  private let fences: [UInt64]

  /// Takes `fd` (its own descriptor, closed with it), opened from `path`.
  init(fd: Int32, path: String, count: Int, fences: [UInt64]) {
    self.fd = fd
    self.path = path
    self.count = count
    self.fences = fences
  }

  deinit { close(fd) }

  /// The entry of `id`, if the file has it.
  func find(_ id: ID) -> IndexEntry? {
    // The last page whose first entry is not after `id`, then earlier pages while their first
    // word is the same (a run of equal first words may cross a page).
    var lo = 0
    var hi = fences.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if fences[mid] <= id.w0 { lo = mid + 1 } else { hi = mid }
    }
    var page = lo - 1
    return withUnsafeTemporaryAllocation(of: IndexEntry.self, capacity: Self.perPage) { buf -> IndexEntry? in
      while page >= 0 {
        let first = page * Self.perPage
        let n = min(Self.perPage, count - first)
        guard read(UnsafeMutableRawBufferPointer(buf), entries: first, n) else { return nil }
        if let i = MasterIndex.find(id, in: UnsafeBufferPointer(rebasing: buf[0..<n])) { return buf[i] }
        guard fences[page] == id.w0 else { return nil }
        page -= 1
      }
      return nil
    }
  }

  /// Visits every entry in order, reading 65,536 at a time.
  func forEach(_ body: (IndexEntry) throws -> Void) rethrows {
    let window = 1 << 16
    let buf = UnsafeMutableBufferPointer<IndexEntry>.allocate(capacity: window)
    defer { buf.deallocate() }
    var start = 0
    while start < count {
      let n = min(window, count - start)
      // The file was checked whole when opened and is only ever replaced by a rename; a read
      // failing now (the disk, or the file cut short by hand) ends the command with exit code
      // 1 rather than let prune or check decide on part of the index. Nothing has been
      // changed by then: passes come before any write.
      guard read(UnsafeMutableRawBufferPointer(buf), entries: start, n) else {
        let reason = String(cString: strerror(errno))
        FileHandle.standardError.write(Data(
          "error: the index cache \(path) could not be read back (\(reason)); nothing was changed\n  hint: remove it (it is rebuilt) or set LIFEBOAT_CACHE_DIR=off, and run the command again\n".utf8))
        exit(1)
      }
      for i in 0..<n { try body(buf[i]) }
      start += n
    }
  }

  private func read(_ into: UnsafeMutableRawBufferPointer, entries first: Int, _ n: Int) -> Bool {
    let stride = MemoryLayout<IndexEntry>.stride
    var done = 0
    let total = n * stride
    while done < total {
      let r = pread(fd, into.baseAddress! + done, total - done, off_t(first * stride + done))
      if r < 0 && errno == EINTR { continue }
      guard r > 0 else { return false }
      done += r
    }
    return true
  }
}

public enum IndexCache {
  /// The trailer's magic, also the first bytes of the sealed header.
  static let magic = Array("LBIDXC01".utf8)
  /// Entries are written as they lie in memory: only a machine with the same layout reads them.
  static let layout: UInt64 = {
    let stride = UInt64(MemoryLayout<IndexEntry>.stride)
    let little: UInt64 = 1.littleEndian == 1 ? 1 : 0
    return stride << 1 | little
  }()
  /// Whether this build's entry layout is the one the file format describes (48 bytes, the ID
  /// first). When not, no cache is written or read.
  static let supported: Bool =
    MemoryLayout<IndexEntry>.stride == 48 && MemoryLayout<IndexEntry>.offset(of: \IndexEntry.id) == 0
    && MemoryLayout<IndexEntry>.offset(of: \IndexEntry.packAndFlags) == 32 && 1.littleEndian == 1

  /// Indexes smaller than this are loaded from the repository every time: it takes well under
  /// a second and a few megabytes, and a cache would only be another file to keep.
  public static let defaultMinimumEntries = 100_000
  /// Entries read from index files newer than the cache: past this many, the cache is
  /// rewritten with them (they are held in memory until then, 48 bytes each).
  public static let rewriteAfter = 262_144
  /// Entries building the cache holds in memory at once (`IndexCacheBuilder`): 48 MiB.
  public static let defaultRunEntries = 1 << 20

  /// Where the cache of `repositoryID` lives under `cacheDirectory`.
  public static func path(cacheDirectory: String, repositoryID: String) -> String {
    cacheDirectory + "/index/" + repositoryID
  }

  /// What the header says: the index files covered and the pack table.
  struct Header {
    var files: [String] = []
    var packs: [ID] = []
    var packSizes: [UInt64] = []
    var alternates: [(UInt32, UInt32)] = []
    var count = 0
    var digest = ID(w0: 0, w1: 0, w2: 0, w3: 0)
  }

  /// An opened cache: the files it covers, its pack table and its entries.
  struct Opened {
    var header: Header
    var entries: CachedEntries?
  }

  /// What `MasterIndex` hands over to be written.
  struct Contents {
    var packs: [ID]
    var packSizes: [UInt64]
    var alternates: [UInt32: UInt32]
    /// Two runs sorted by ID, with no ID in both: the cache's entries and the rest.
    var cached: CachedEntries?
    var sorted: EntryBuffer
    var count: Int { (cached?.count ?? 0) + sorted.count }
  }

  // MARK: open

  /// Opens the cache at `path`; throws, saying why, when there is none or it must not be used.
  static func open(path: String, keys: RepositoryKeys, repositoryID: String) throws -> Opened {
    guard supported else { throw LifeboatError(.fatal, "this machine's index layout has no cache format") }
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw LifeboatError(.notFound, "no index cache at \(path)") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw LifeboatError(.fatal, "cannot stat \(path)") }
    let size = Int(st.st_size)
    guard size >= 16 else { throw LifeboatError.corrupt("the index cache is cut short (\(size) bytes)") }
    let trailer = try readExactly(fd, at: size - 16, count: 16)
    guard Array(trailer[8...]) == magic else { throw LifeboatError.corrupt("the index cache has no trailer (cut short?)") }
    let headerLength = Int(trailer[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    guard headerLength > 0, headerLength <= size - 16 else { throw LifeboatError.corrupt("the index cache's header length is impossible") }
    let sealed = try readExactly(fd, at: size - 16 - headerLength, count: headerLength)
    let plain: [UInt8]
    do {
      plain = try sealed.withUnsafeBytes { try Envelope.open($0, key: keys.metadataKey, purpose: .localCache) }
    } catch {
      throw LifeboatError.corrupt("the index cache's header does not open with this repository's key")
    }
    var r = ByteReader(plain)
    guard try Array(r.raw(magic.count)) == magic, try r.lengthPrefixed(max: 256) == Array(repositoryID.utf8) else {
      throw LifeboatError.corrupt("the index cache was made for another repository")
    }
    guard try r.varint() == layout else { throw LifeboatError.corrupt("the index cache was written by a machine of another layout") }
    var h = Header()
    h.count = try r.count(max: Int.max / 64)
    h.digest = try r.id()
    let files = try r.count(max: r.remaining / 2)
    h.files.reserveCapacity(files)
    for _ in 0..<files { h.files.append(String(decoding: try r.lengthPrefixed(max: 256), as: UTF8.self)) }
    let packs = try r.count(max: r.remaining / 33)
    h.packs.reserveCapacity(packs)
    h.packSizes.reserveCapacity(packs)
    for _ in 0..<packs {
      h.packs.append(try r.id())
      h.packSizes.append(try r.varint())
    }
    let pairs = try r.count(max: r.remaining / 2)
    for _ in 0..<pairs {
      let a = try r.varint(), b = try r.varint()
      guard a < packs, b < packs else { throw LifeboatError.corrupt("the index cache names a pack it does not have") }
      h.alternates.append((UInt32(a), UInt32(b)))
    }
    guard r.isAtEnd else { throw LifeboatError.corrupt("the index cache's header has trailing bytes") }
    let body = h.count * MemoryLayout<IndexEntry>.stride
    guard body + headerLength + 16 == size else {
      throw LifeboatError.corrupt("the index cache is \(size) bytes, its header says \(body + headerLength + 16)")
    }
    // The entries are checked against the sealed digest, and the page fences taken, in one
    // read through them: a whole number of pages at a time.
    var hash = SHA256Stream()
    let pageBytes = CachedEntries.perPage * MemoryLayout<IndexEntry>.stride
    let chunk = pageBytes * 1024
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buf.deallocate() }
    var fences = [UInt64]()
    fences.reserveCapacity((h.count + CachedEntries.perPage - 1) / CachedEntries.perPage)
    var off = 0
    while off < body {
      let n = min(chunk, body - off)
      try readExactly(fd, at: off, into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<n]))
      hash.update(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
      for page in stride(from: 0, to: n, by: pageBytes) { fences.append(buf.load(fromByteOffset: page, as: UInt64.self)) }
      off += n
    }
    guard hash.finalize() == h.digest else { throw LifeboatError.corrupt("the index cache's entries do not match its header (damaged)") }
    guard h.count > 0 else { return Opened(header: h, entries: nil) }
    let own = dup(fd)
    guard own >= 0 else { throw LifeboatError(.fatal, "cannot keep the index cache open: \(String(cString: strerror(errno)))") }
    return Opened(header: h, entries: CachedEntries(fd: own, path: path, count: h.count, fences: fences))
  }

  private static func readExactly(_ fd: Int32, at offset: Int, count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    try out.withUnsafeMutableBytes { try readExactly(fd, at: offset, into: $0) }
    return out
  }

  private static func readExactly(_ fd: Int32, at offset: Int, into buf: UnsafeMutableRawBufferPointer) throws {
    var done = 0
    while done < buf.count {
      let n = pread(fd, buf.baseAddress! + done, buf.count - done, off_t(offset + done))
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw LifeboatError.corrupt("the index cache is cut short") }
      done += n
    }
  }

  // MARK: write

  /// How bytes reach the file; tests pass one that runs out of space.
  typealias Write = (Int32, UnsafeRawBufferPointer) -> Int

  /// The pack table the header carries, known once the entries are written.
  struct Table {
    var packs: [ID]
    var packSizes: [UInt64]
    var alternates: [UInt32: UInt32]
  }

  /// Writes `contents` as the cache at `path`, covering index `files`: through a temporary
  /// file (0600, in a 0700 directory) and a rename, so a reader sees the old cache or the new
  /// one. On any failure (a full disk) the temporary file is removed and the error thrown;
  /// the index in memory is unaffected.
  static func write(
    _ contents: Contents, files: [String], path: String, keys: RepositoryKeys, repositoryID: String,
    write: @escaping Write = { fd, b in Glibc.write(fd, b.baseAddress, b.count) }
  ) throws {
    try writeFile(path: path, files: files, keys: keys, repositoryID: repositoryID, write: write) { emit in
      // The two sorted runs merged.
      let sorted = contents.sorted
      var j = 0
      try contents.cached?.forEach { e in
        while j < sorted.count && sorted[j].id < e.id {
          try emit(sorted[j])
          j += 1
        }
        try emit(e)
      }
      while j < sorted.count {
        try emit(sorted[j])
        j += 1
      }
    } table: {
      Table(packs: contents.packs, packSizes: contents.packSizes, alternates: contents.alternates)
    }
  }

  /// Writes all of `bytes` to `fd` through `write`; a full disk is `.noSpace`, naming `what`.
  static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, with write: Write, what: String) throws {
    var done = 0
    while done < bytes.count {
      let n = write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]))
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        let e = n < 0 ? errno : ENOSPC
        throw LifeboatError(e == ENOSPC ? .noSpace : .fatal, "cannot write \(what): \(String(cString: strerror(e)))",
          hint: "free space in the cache directory, or set LIFEBOAT_CACHE_DIR elsewhere (the index is read from the repository meanwhile)")
      }
      done += n
    }
  }

  /// Writes a cache file whose entries `entries` hands over in ID order, one each, and whose
  /// pack table `table` gives after them (`IndexCacheBuilder` learns it while merging).
  static func writeFile(
    path: String, files: [String], keys: RepositoryKeys, repositoryID: String, write: @escaping Write,
    entries: (_ emit: (IndexEntry) throws -> Void) throws -> Void, table: () throws -> Table
  ) throws {
    guard supported else { return }
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let tmp = path + ".tmp\(getpid())"
    let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw LifeboatError(.fatal, "cannot write the index cache \(tmp): \(String(cString: strerror(errno)))",
        hint: "check the cache directory's space and permissions, or set LIFEBOAT_CACHE_DIR")
    }
    var closed = false
    defer {
      if !closed { close(fd) }
    }
    do {
      func put(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(bytes, to: fd, with: write, what: "the index cache \(tmp)")
      }
      // Entries in chunks, hashed as written.
      var hash = SHA256Stream()
      let chunk = 1 << 16
      var out = [IndexEntry]()
      out.reserveCapacity(chunk)
      var count = 0
      func flush() throws {
        try out.withUnsafeBytes { b in
          hash.update(b)
          try put(b)
        }
        out.removeAll(keepingCapacity: true)
      }
      try entries { e in
        out.append(e)
        count += 1
        if out.count == chunk { try flush() }
      }
      try flush()
      let contents = try table()
      // The header, sealed, then its length and the magic.
      var w = ByteWriter(capacity: 256 + files.count * 70 + contents.packs.count * 40)
      w.raw(magic)
      w.lengthPrefixed(Array(repositoryID.utf8))
      w.varint(layout)
      w.varint(UInt64(count))
      w.id(hash.finalize())
      w.varint(UInt64(files.count))
      for f in files { w.lengthPrefixed(Array(f.utf8)) }
      w.varint(UInt64(contents.packs.count))
      for (p, size) in zip(contents.packs, contents.packSizes) {
        w.id(p)
        w.varint(size)
      }
      let pairs = contents.alternates.sorted { $0.key < $1.key }
      w.varint(UInt64(pairs.count))
      for (a, b) in pairs {
        w.varint(UInt64(a))
        w.varint(UInt64(b))
      }
      var tail = Envelope.seal(w.bytes, key: keys.metadataKey, purpose: .localCache)
      let length = UInt64(tail.count)
      for k in 0..<8 { tail.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(k)))) }
      tail += magic
      try tail.withUnsafeBytes { try put($0) }
      closed = true
      guard close(fd) == 0 else { throw LifeboatError(.fatal, "cannot write the index cache \(tmp): \(String(cString: strerror(errno)))") }
      guard rename(tmp, path) == 0 else {
        throw LifeboatError(.fatal, "cannot replace the index cache \(path): \(String(cString: strerror(errno)))")
      }
    } catch {
      unlink(tmp)
      throw error
    }
  }
}
