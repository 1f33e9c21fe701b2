public import Foundation

/// Seconds and nanoseconds since the Unix epoch, as stat(2) reports them.
public struct Timespec: Hashable, Sendable, Codable, Comparable {
  public var seconds: Int64
  public var nanoseconds: Int32

  public init(seconds: Int64, nanoseconds: Int32) {
    self.seconds = seconds
    self.nanoseconds = nanoseconds
  }

  public static func < (a: Timespec, b: Timespec) -> Bool {
    (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
  }

  public var date: Date {
    Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
  }
}

/// One extended attribute; names and values are bytes, as the kernel stores them.
public struct ExtendedAttribute: Hashable, Sendable {
  public var name: [UInt8]
  public var value: [UInt8]

  public init(name: [UInt8], value: [UInt8]) {
    self.name = name
    self.value = value
  }
}

/// One entry of a directory as it was when the snapshot was taken.
///
/// Names and link targets are kept as raw bytes: Linux file names need not be UTF-8 and a
/// restore must give back exactly what was backed up.
public struct Node: Hashable, Sendable {
  public enum Kind: UInt8, Sendable, CaseIterable {
    case file = 1
    case directory = 2
    case symlink = 3
    case blockDevice = 4
    case characterDevice = 5
    case fifo = 6
    case socket = 7

    public var name: String {
      switch self {
      case .file: "file"
      case .directory: "dir"
      case .symlink: "symlink"
      case .blockDevice: "blockdev"
      case .characterDevice: "chardev"
      case .fifo: "fifo"
      case .socket: "socket"
      }
    }
  }

  public var name: [UInt8]
  public var kind: Kind
  /// Permission bits including setuid/setgid/sticky (st_mode & 0o7777).
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  public var size: UInt64
  public var mtime: Timespec
  public var atime: Timespec
  public var ctime: Timespec
  public var inode: UInt64
  public var device: UInt64
  public var links: UInt64
  /// Device number for block and character devices.
  public var rdev: UInt64
  public var linkTarget: [UInt8]
  /// Data blob IDs in file order; empty for an empty file.
  public var content: [ID]
  /// For directories: the tree blob holding the directory's entries.
  public var subtree: ID?
  public var xattrs: [ExtendedAttribute]

  public init(
    name: [UInt8], kind: Kind, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
    size: UInt64 = 0, mtime: Timespec = .init(seconds: 0, nanoseconds: 0),
    atime: Timespec = .init(seconds: 0, nanoseconds: 0),
    ctime: Timespec = .init(seconds: 0, nanoseconds: 0), inode: UInt64 = 0, device: UInt64 = 0,
    links: UInt64 = 1, rdev: UInt64 = 0, linkTarget: [UInt8] = [], content: [ID] = [],
    subtree: ID? = nil, xattrs: [ExtendedAttribute] = []
  ) {
    self.name = name
    self.kind = kind
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.size = size
    self.mtime = mtime
    self.atime = atime
    self.ctime = ctime
    self.inode = inode
    self.device = device
    self.links = links
    self.rdev = rdev
    self.linkTarget = linkTarget
    self.content = content
    self.subtree = subtree
    self.xattrs = xattrs
  }

  /// The name for display; bytes that are not UTF-8 are shown escaped as \xNN.
  public var displayName: String { PathBytes.display(name) }
}

/// Helpers for paths held as bytes.
public enum PathBytes {
  public static func display(_ bytes: [UInt8]) -> String {
    if let s = String(validating: bytes, as: UTF8.self) { return s }
    var out = ""
    var i = 0
    while i < bytes.count {
      let b = bytes[i]
      if b < 0x80 {
        out.unicodeScalars.append(Unicode.Scalar(b))
      } else {
        out += "\\x" + String(b, radix: 16, uppercase: false).leftPadded(to: 2)
      }
      i += 1
    }
    return out
  }

  public static func join(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
    if a.isEmpty { return b }
    if a.last == UInt8(ascii: "/") { return a + b }
    return a + [UInt8(ascii: "/")] + b
  }
}

extension String {
  func leftPadded(to n: Int) -> String {
    count >= n ? self : String(repeating: "0", count: n - count) + self
  }
}

/// The entries of one directory, sorted by name bytes.
public struct Tree: Hashable, Sendable {
  public var nodes: [Node]

  public init(nodes: [Node]) {
    self.nodes = nodes.sorted { $0.name.lexicographicallyPrecedes($1.name) }
  }

  public func node(named name: [UInt8]) -> Node? {
    var lo = 0
    var hi = nodes.count
    while lo < hi {
      let mid = (lo + hi) / 2
      let n = nodes[mid].name
      if n == name { return nodes[mid] }
      if n.lexicographicallyPrecedes(name) { lo = mid + 1 } else { hi = mid }
    }
    return nil
  }
}

extension ExtendedAttribute {
  /// Windows metadata of a file read from an SMB share, kept with its extended attributes
  /// under names of Lifeboat's own: the security descriptor (owner, group and access list,
  /// SIDs as text, as libsmbclient reads and writes it), the same with names resolved (for
  /// people), and the DOS attributes (read-only, hidden, system, archive). Applied when
  /// restoring to a share, shown by `ls --long`, never set on a local file.
  public static let smbPrefix: [UInt8] = Array("lifeboat.smb.".utf8)
  public static let smbSecurityDescriptor: [UInt8] = Array("lifeboat.smb.security_descriptor".utf8)
  public static let smbSecurityDescriptorNames: [UInt8] = Array("lifeboat.smb.security_descriptor_names".utf8)
  public static let smbAttributes: [UInt8] = Array("lifeboat.smb.attributes".utf8)

  /// Windows metadata from a share (see `smbPrefix`), not a Linux extended attribute.
  public var isSMBMetadata: Bool { name.starts(with: Self.smbPrefix) }
}
