import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import LifeboatCore

/// A repository in a local directory (or a mounted network filesystem).
///
/// Packs are spread over 256 folders `data/00` … `data/ff` by the first two hex digits of
/// their name. Saves write a temporary file in the destination folder, fsync it, rename it
/// into place and fsync the folder, so a crash leaves either the whole object or nothing
/// (a leftover `.tmp-*` file is ignored by `list` and removed by maintenance).
public struct LocalBackend: Backend {
  public let root: String
  public var location: String { root }

  public init(path: String) {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    root = p
  }

  /// Creates the folder layout of a new repository, and the folders above it that do not exist
  /// yet (as `mkdir -p`). Fails if `config` already exists.
  public func createLayout() throws {
    var missing: [String] = []
    var p = root
    while !p.isEmpty, p != "/", access(p, F_OK) != 0 {
      missing.append(p)
      let parent = String(p[..<(p.lastIndex(of: "/") ?? p.startIndex)])
      if parent == p { break }
      p = parent
    }
    for dir in missing.reversed().dropLast() { try makeDirectory(dir) }
    try makeDirectory(root)
    for t in ObjectType.allCases where t != .config {
      try makeDirectory("\(root)/\(t.rawValue)")
    }
    for i in 0..<256 {
      try makeDirectory("\(root)/data/\(Self.hex2(i))")
    }
  }

  static func hex2(_ i: Int) -> String {
    let s = String(i, radix: 16)
    return s.count == 1 ? "0" + s : s
  }

  private func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw Self.error(errno, nil, "cannot create \(path)")
    }
  }

  func folder(_ type: ObjectType, _ name: String) -> String {
    switch type {
    case .config: return root
    case .pack: return "\(root)/data/\(name.prefix(2))"
    default: return "\(root)/\(type.rawValue)"
    }
  }

  func path(_ h: Handle) -> String {
    h.type == .config ? "\(root)/config" : "\(folder(h.type, h.name))/\(h.name)"
  }

  static func error(_ code: Int32, _ h: Handle?, _ what: String) -> StorageError {
    let msg = "\(what): \(String(cString: strerror(code)))"
    switch code {
    case ENOENT, ENOTDIR: return StorageError(.notFound, h, msg)
    case ENOSPC, EDQUOT: return StorageError(.noSpace, h, msg)
    case EACCES, EPERM: return StorageError(.permissionDenied, h, msg)
    case EROFS: return StorageError(.readOnly, h, msg)
    default: return StorageError(.io, h, msg)
    }
  }

  private func validate(_ h: Handle) throws {
    if h.type == .config { return }
    guard h.type.isValidName(h.name) else { throw StorageError(.invalid, h, "invalid object name") }
  }

  public func save(_ h: Handle, data: [UInt8]) async throws {
    try validate(h)
    let dir = folder(h.type, h.name)
    let final = path(h)
    var rng = SystemRandomNumberGenerator()
    let tmp = "\(dir)/.tmp-\(String(rng.next() as UInt64, radix: 16))"
    var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if fd < 0, errno == ENOENT, h.type == .mark, mkdir(dir, 0o700) == 0 || errno == EEXIST {
      // A repository made before marks existed has no marks/ folder yet.
      fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    }
    guard fd >= 0 else { throw Self.error(errno, h, "cannot create temporary file") }
    var ok = false
    defer {
      if !ok { unlink(tmp) }
    }
    do {
      defer { close(fd) }
      // Packs bypass the page cache (DirectIO): they are written once and read rarely, and
      // the fsync below then has only the unaligned tail left to flush.
      let direct = data.count >= DirectIO.minimumLength ? DirectIO.openDirect(tmp) : -1
      defer { if direct >= 0 { close(direct) } }
      let failed = data.withUnsafeBytes { buf -> Int32 in
        guard let base = buf.baseAddress else { return 0 }
        return DirectIO.write(buffered: fd, direct: direct, base, count: buf.count, at: 0)
      }
      if failed != 0 { throw Self.error(failed, h, "write failed") }
      if fsync(fd) != 0 { throw Self.error(errno, h, "fsync failed") }
    }
    if rename(tmp, final) != 0 { throw Self.error(errno, h, "rename failed") }
    ok = true
    let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      fsync(dfd)
      close(dfd)
    }
  }

  public func load(_ h: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    try withRange(h, offset: offset, length: length) { fd, want in
      var failure: Int32 = 0
      let out = [UInt8](unsafeUninitializedCapacity: want) { buf, initialized in
        failure = Self.pread(fd, into: UnsafeMutableRawBufferPointer(buf), at: offset)
        initialized = failure == 0 ? want : 0
      }
      if failure != 0 { throw Self.error(failure, h, "read failed") }
      return out
    }
  }

  public func read(_ h: Handle, offset: Int, into buffer: UnsafeMutableRawBufferPointer) async throws {
    try withRange(h, offset: offset, length: buffer.count) { fd, _ in
      let failure = Self.pread(fd, into: buffer, at: offset)
      if failure != 0 { throw Self.error(failure, h, "read failed") }
    }
  }

  /// Opens `h` and checks that `length` bytes (nil: up to the end) lie at `offset`; `body`
  /// gets the descriptor and the number of bytes to read.
  private func withRange<T>(
    _ h: Handle, offset: Int, length: Int?, _ body: (Int32, Int) throws -> T
  ) throws -> T {
    try validate(h)
    let fd = open(path(h), O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw Self.error(errno, h, "cannot open") }
    defer { close(fd) }
    var st = Glibc.stat()
    guard fstat(fd, &st) == 0 else { throw Self.error(errno, h, "stat failed") }
    let size = Int(st.st_size)
    let want = length ?? (size - offset)
    guard offset >= 0, want >= 0, offset + want <= size else {
      throw StorageError(.invalid, h, "read of \(want) bytes at \(offset) beyond size \(size)")
    }
    return try body(fd, want)
  }

  /// Fills `buffer` from `offset`; 0, or the errno that stopped it (EIO at an early end).
  private static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int)
    -> Int32
  {
    SystemIO.transferAll(buffer.count) { done in
      Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
    }
  }

  public func stat(_ h: Handle) async throws -> ObjectInfo {
    try validate(h)
    var st = Glibc.stat()
    guard lstat(path(h), &st) == 0 else { throw Self.error(errno, h, "stat failed") }
    return ObjectInfo(name: h.name, size: Int(st.st_size))
  }

  public func list(_ type: ObjectType) async throws -> [ObjectInfo] {
    if type == .config {
      return (try? await stat(.config)).map { [$0] } ?? []
    }
    let dirs: [String] =
      type == .pack
      ? (0..<256).map { "\(root)/data/\(Self.hex2($0))" } : ["\(root)/\(type.rawValue)"]
    var out = [ObjectInfo]()
    for d in dirs {
      guard let dp = opendir(d) else {
        if errno == ENOENT { continue }
        throw Self.error(errno, nil, "cannot list \(d)")
      }
      defer { closedir(dp) }
      while let ent = readdir(dp) {
        let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
          String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        guard type.isValidName(name) else { continue }
        var st = Glibc.stat()
        guard lstat("\(d)/\(name)", &st) == 0 else { continue }
        out.append(ObjectInfo(name: name, size: Int(st.st_size)))
      }
    }
    return out
  }

  public func remove(_ h: Handle) async throws {
    try validate(h)
    guard unlink(path(h)) == 0 else { throw Self.error(errno, h, "cannot remove") }
  }
}
