public import Foundation
public import LifeboatCore
public import LifeboatEngine
import CLifeboatSMB
import Synchronization
#if canImport(Glibc)
  import Glibc
#endif

/// A folder on a share, walked by the archiver (`RemoteTree`).
public struct SMBTree: RemoteTree {
  public let connection: SMBConnection
  public var location: SMBLocation { connection.location }
  /// Descriptors with names, by the descriptor with SIDs (see `extras`).
  let names = NameCache()

  public init(connection: SMBConnection) {
    self.connection = connection
  }

  public var snapshotPath: String { location.snapshotPath }
  public var displayName: String { location.description }

  public func root() throws -> Node {
    let url = location.url()
    var st = stat()
    let rc = try connection.withContext { lb_smb_stat($0, url, &st) }
    guard rc == 0 else { throw SMBConnection.error(rc, "cannot open \(location)") }
    guard (st.st_mode & S_IFMT) == S_IFDIR else {
      throw RemoteTreeError("\(location) is not a folder", lost: false)
    }
    return Self.node(name: Array((location.folders.last ?? location.share).utf8), st: st)
  }

  public func list(_ path: [UInt8]) throws -> [Node] {
    let url = location.url(path)
    return try connection.withContext { ctx -> [Node] in
      var dir: UnsafeMutableRawPointer?
      let opened = lb_smb_opendir(ctx, url, &dir)
      guard opened == 0, let dir else { throw SMBConnection.error(opened, "cannot list \(Self.shown(location, path))") }
      defer { _ = lb_smb_closedir(ctx, dir) }
      var nodes: [Node] = []
      while true {
        var name: UnsafePointer<CChar>?
        var st = stat()
        var attributes: UInt16 = 0
        let rc = lb_smb_readdir(ctx, dir, &name, &st, &attributes)
        if rc == 0 { break }
        guard rc > 0, let name else { throw SMBConnection.error(rc, "cannot list \(Self.shown(location, path))") }
        let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), count: strlen(name)))
        var node = Self.node(name: bytes, st: st)
        // The DOS attributes come with the listing (libsmbclient's dos_attr.mode is a Unix
        // mode made from them, not the attributes themselves).
        node.xattrs = [ExtendedAttribute(name: ExtendedAttribute.smbAttributes, value: Array(String(format: "0x%x", attributes).utf8))]
        nodes.append(node)
      }
      nodes.sort { $0.name.lexicographicallyPrecedes($1.name) }
      return nodes
    }
  }

  /// The security descriptor (SIDs, and names for people), beside the DOS attributes the
  /// listing gave. Resolving names costs a lookup on the server per descriptor; files of a
  /// folder mostly share one (inherited), so the names are looked up once per distinct
  /// descriptor and remembered for the backup (`names`).
  public func extras(_ path: [UInt8], of node: Node) throws -> [ExtendedAttribute] {
    let url = location.url(path)
    let shown = Self.shown(location, path)
    return try connection.withContext { ctx -> [ExtendedAttribute] in
      var out = node.xattrs.filter { $0.name == ExtendedAttribute.smbAttributes }
      if let descriptor = try Self.getxattr(ctx, url, "system.nt_sec_desc.*", shown: shown) {
        out.append(ExtendedAttribute(name: ExtendedAttribute.smbSecurityDescriptor, value: descriptor))
        let named = try names.withLock { $0[descriptor] } ?? {
          let looked = try Self.getxattr(ctx, url, "system.nt_sec_desc.*+", shown: shown)
          names.withLock { if $0.count < 10_000 { $0[descriptor] = looked } }
          return looked
        }()
        if let named { out.append(ExtendedAttribute(name: ExtendedAttribute.smbSecurityDescriptorNames, value: named)) }
      }
      return out.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }
  }

  static func getxattr(_ ctx: OpaquePointer, _ url: String, _ name: String, shown: String) throws -> [UInt8]? {
    var size = 4096
    while size <= 1 << 20 {
      var buffer = [UInt8](repeating: 0, count: size)
      let n = lb_smb_getxattr(ctx, url, name, &buffer, size)
      if n >= 0 {
        // The text ends at its NUL; libsmbclient returns its length, or 0 for descriptors.
        let limit = n > 0 ? min(Int(n), size) : size
        let end = buffer[..<limit].firstIndex(of: 0) ?? limit
        return Array(buffer[..<end])
      }
      if Int32(-n) == ERANGE {
        size *= 4
        continue
      }
      let error = SMBConnection.error(Int32(n), "\(shown): \(name)")
      if error.lost { throw error }
      // A server that keeps no descriptor for this entry (or no DOS attributes): none kept.
      if [ENOTSUP, EOPNOTSUPP, ENODATA, EINVAL].contains(Int32(-n)) { return nil }
      throw error
    }
    return nil
  }

  public func open(_ path: [UInt8]) throws -> any RemoteFile {
    let url = location.url(path)
    let handle = try connection.checkOut()
    var file: UnsafeMutableRawPointer?
    let rc = lb_smb_open(handle.pointer, url, O_RDONLY, 0, &file)
    guard rc == 0, let file else {
      connection.checkIn(handle)
      throw SMBConnection.error(rc, "cannot open \(Self.shown(location, path))")
    }
    return SMBFile(connection: connection, handle: handle, file: file, shown: Self.shown(location, path))
  }

  static func shown(_ location: SMBLocation, _ path: [UInt8]) -> String {
    path.isEmpty ? location.description : location.description + "/" + PathBytes.display(path)
  }

  /// A node from what the server says: type, size, times (the change time included), the
  /// server's file ID as the inode. Unix owners mean nothing on a share and are not kept;
  /// the security descriptor says who owns it.
  static func node(name: [UInt8], st: stat) -> Node {
    let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
    let mtime = Timespec(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec))
    let ctime = Timespec(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int32(st.st_ctim.tv_nsec))
    return Node(
      name: name, kind: isDirectory ? .directory : .file, mode: UInt32(st.st_mode & 0o7777), uid: 0, gid: 0,
      size: isDirectory ? 0 : UInt64(st.st_size), mtime: mtime, atime: mtime, ctime: ctime, inode: UInt64(st.st_ino),
      device: 0, links: 1, rdev: 0)
  }
}

/// Descriptors with names resolved, by descriptor with SIDs, for one tree's backup.
final class NameCache: Sendable {
  private let map = Mutex<[[UInt8]: [UInt8]?]>([:])
  func withLock<T>(_ body: (inout [[UInt8]: [UInt8]?]) throws -> T) rethrows -> T { try map.withLock { try body(&$0) } }
}

/// One file open for reading on its own context (returned to the pool when closed).
final class SMBFile: RemoteFile {
  let connection: SMBConnection
  let handle: SMBConnection.Handle
  let file: UnsafeMutableRawPointer
  let shown: String
  var closed = false

  init(connection: SMBConnection, handle: SMBConnection.Handle, file: UnsafeMutableRawPointer, shown: String) {
    self.connection = connection
    self.handle = handle
    self.file = file
    self.shown = shown
  }

  func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
    let n = lb_smb_read(handle.pointer, file, buffer, count)
    guard n >= 0 else { throw SMBConnection.error(Int32(n), shown) }
    return n
  }

  func currentState() -> (size: UInt64, mtime: Timespec, ctime: Timespec)? {
    var st = stat()
    guard lb_smb_fstat(handle.pointer, file, &st) == 0 else { return nil }
    return (UInt64(st.st_size), Timespec(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec)),
      Timespec(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int32(st.st_ctim.tv_nsec)))
  }

  func close() {
    guard !closed else { return }
    closed = true
    _ = lb_smb_close(handle.pointer, file)
    connection.checkIn(handle)
  }
}
