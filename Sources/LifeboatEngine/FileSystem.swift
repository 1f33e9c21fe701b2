// LifeboatEngine — the pipelines that turn files into snapshots and back: backup, restore,
// check, and the tree walks behind ls, find and stats. Uses the repository through narrow
// capabilities; knows POSIX files, not storage providers.

import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import LifeboatCore
import CLifeboatSystem

/// Thin POSIX helpers over byte paths (Linux file names need not be UTF-8).
enum FS {
  /// O_NOATIME (Linux): reading for a backup does not change access times.
  static let noAtime: Int32 = 0o1000000
  /// O_PATH (Linux, not exported to Swift): a descriptor that only names a directory.
  static let oPath: Int32 = 0o10000000

  /// Calls `body` with a C path for `path`. A path of PATH_MAX bytes or more, which the kernel
  /// refuses (ENAMETOOLONG), is reached through its parent directory instead: the parent is
  /// opened one component at a time (`openat`, never following a symbolic link), and `body`
  /// gets `/proc/self/fd/N/NAME`, which every path-based call resolves. So backup and restore
  /// handle trees of any depth.
  static func withCPath<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
    if path.count >= Int(PATH_MAX) - 1, let (dirfd, name) = openParent(path) {
      defer {
        let saved = errno
        close(dirfd)
        errno = saved
      }
      return try withRawCString(Array("/proc/self/fd/\(dirfd)/".utf8) + name, body)
    }
    return try withRawCString(path, body)
  }

  /// `bytes` as a C string, as they are (symbolic link contents, which are not resolved).
  static func withRawCString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
    var z = bytes
    z.append(0)
    return try z.withUnsafeBufferPointer { buf in
      try buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { try body($0) }
    }
  }

  /// Opens the directory holding `path` (O_PATH) by walking its components; returns it with
  /// the last component, or nil when a component cannot be opened (errno tells why).
  static func openParent(_ path: [UInt8]) -> (Int32, [UInt8])? {
    var parts = path.split(separator: 47, omittingEmptySubsequences: true).map(Array.init)
    guard let name = parts.popLast() else { return nil }
    var fd = withRawCString(path.first == 47 ? [47] : [46]) { open($0, oPath | O_DIRECTORY | O_CLOEXEC) }
    guard fd >= 0 else { return nil }
    for part in parts where part != [46] {
      let next = withRawCString(part) { openat(fd, $0, oPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
      let saved = errno
      close(fd)
      guard next >= 0 else {
        errno = saved
        return nil
      }
      fd = next
    }
    return (fd, name)
  }

  static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

  static func lstat(_ path: [UInt8]) -> Result<Glibc.stat, POSIXErrno> {
    var st = Glibc.stat()
    let rc = withCPath(path) { Glibc.lstat($0, &st) }
    return rc == 0 ? .success(st) : .failure(POSIXErrno(errno))
  }

  /// stat(2), following symlinks (for the directories on the way to a backup path).
  static func stat(_ path: [UInt8]) -> Result<Glibc.stat, POSIXErrno> {
    var st = Glibc.stat()
    let rc = withCPath(path) { fstatat(AT_FDCWD, $0, &st, 0) }
    return rc == 0 ? .success(st) : .failure(POSIXErrno(errno))
  }

  static func kind(_ mode: mode_t) -> Node.Kind? {
    switch mode & S_IFMT {
    case S_IFREG: .file
    case S_IFDIR: .directory
    case S_IFLNK: .symlink
    case S_IFBLK: .blockDevice
    case S_IFCHR: .characterDevice
    case S_IFIFO: .fifo
    case S_IFSOCK: .socket
    default: nil
    }
  }

  static func timespec(_ t: Glibc.timespec) -> Timespec {
    Timespec(seconds: Int64(t.tv_sec), nanoseconds: Int32(t.tv_nsec))
  }

  /// A node from stat data; reads the link target and extended attributes.
  /// The access time is deliberately not recorded (it is set to mtime): reading a tree changes
  /// it, so recording it would make every directory look changed and every tree blob new.
  static func node(name: [UInt8], path: [UInt8], st: Glibc.stat, readExtras: Bool = true) -> Node? {
    guard let kind = kind(st.st_mode) else { return nil }
    var n = Node(
      name: name, kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
      size: kind == .file ? UInt64(st.st_size) : 0, mtime: timespec(st.st_mtim),
      atime: timespec(st.st_mtim), ctime: timespec(st.st_ctim), inode: UInt64(st.st_ino),
      device: UInt64(st.st_dev), links: UInt64(st.st_nlink),
      rdev: (kind == .blockDevice || kind == .characterDevice) ? UInt64(st.st_rdev) : 0)
    if readExtras { readExtrasInto(&n, path: path) }
    return n
  }

  /// Reads what stat does not give: the link target of a symlink, the xattrs of anything else.
  static func readExtrasInto(_ n: inout Node, path: [UInt8]) {
    if n.kind == .symlink { n.linkTarget = readlink(path) ?? [] } else { n.xattrs = xattrs(path) }
  }

  static func readlink(_ path: [UInt8]) -> [UInt8]? {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = withCPath(path) { p in
      buf.withUnsafeMutableBufferPointer { b in
        b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 4096) {
          Glibc.readlink(p, $0, 4096)
        }
      }
    }
    guard n >= 0 else { return nil }
    return Array(buf[0..<n])
  }

  static func xattrs(_ path: [UInt8]) -> [ExtendedAttribute] {
    withCPath(path) { p -> [ExtendedAttribute] in
      let size = llistxattr(p, nil, 0)
      guard size > 0 else { return [] }
      var names = [CChar](repeating: 0, count: size)
      let got = llistxattr(p, &names, size)
      guard got > 0 else { return [] }
      var out = [ExtendedAttribute]()
      for raw in names[0..<got].split(separator: 0) {
        let name = raw.map { UInt8(bitPattern: $0) }
        var nameZ = Array(raw)
        nameZ.append(0)
        let vsize = lgetxattr(p, nameZ, nil, 0)
        guard vsize >= 0 else { continue }
        var value = [UInt8](repeating: 0, count: vsize)
        let vgot = vsize == 0 ? 0 : lgetxattr(p, nameZ, &value, vsize)
        guard vgot >= 0 else { continue }
        out.append(ExtendedAttribute(name: name, value: Array(value[0..<vgot])))
      }
      return out.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }
  }

  /// The entry names of a directory (without `.` and `..`), sorted by bytes.
  static func listDirectory(_ path: [UInt8]) -> Result<[[UInt8]], POSIXErrno> {
    guard let dp = withCPath(path, { opendir($0) }) else { return .failure(POSIXErrno(errno)) }
    defer { closedir(dp) }
    var out = [[UInt8]]()
    while let ent = readdir(dp) {
      let name = withUnsafeBytes(of: ent.pointee.d_name) { raw -> [UInt8] in
        let b = raw.bindMemory(to: UInt8.self)
        let len = b.firstIndex(of: 0) ?? b.count
        return Array(b[0..<len])
      }
      if name == [46] || name == [46, 46] { continue }
      out.append(name)
    }
    out.sort { $0.lexicographicallyPrecedes($1) }
    return .success(out)
  }
}

struct POSIXErrno: Error, CustomStringConvertible {
  var code: Int32
  init(_ code: Int32) { self.code = code }
  var description: String { FS.errorText(code) }
}

/// Normalises a path given on the command line to absolute components.
enum PathArgument {
  static func components(_ path: String, cwd: String) -> [[UInt8]] {
    let full = path.hasPrefix("/") ? path : cwd + "/" + path
    var parts = [[UInt8]]()
    for c in Array(full.utf8).split(separator: UInt8(ascii: "/")) {
      if c.elementsEqual([46]) { continue }
      if c.elementsEqual([46, 46]) {
        _ = parts.popLast()
        continue
      }
      parts.append(Array(c))
    }
    return parts
  }

  static func join(_ comps: [[UInt8]]) -> [UInt8] {
    var out: [UInt8] = []
    for c in comps {
      out.append(UInt8(ascii: "/"))
      out.append(contentsOf: c)
    }
    return out.isEmpty ? [UInt8(ascii: "/")] : out
  }
}
