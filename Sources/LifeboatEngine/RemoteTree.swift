public import LifeboatCore

/// A tree the archiver reads over the network instead of through the kernel — an SMB share
/// (LifeboatSMB). It is walked like a local directory: the same excludes, the same change
/// detection against the parent snapshot (size, times, file ID), the same chunking; only the
/// calls that list, stat and read go through it. Paths are relative to the tree's root, as
/// bytes without a leading slash (empty for the root).
public protocol RemoteTree: Sendable {
  /// Where the tree appears in the snapshot: an absolute path, e.g. `/smb/fileserver/staff`.
  var snapshotPath: String { get }
  /// What to call the tree in messages (its URL without credentials).
  var displayName: String { get }
  /// The root (a directory), named by the last component of `snapshotPath`.
  func root() throws -> Node
  /// The entries of the directory at `path`, sorted by name: nodes from the listing, without
  /// the extras `extras` reads.
  func list(_ path: [UInt8]) throws -> [Node]
  /// What the listing does not give (access control lists, attributes), as extended
  /// attributes of the node.
  func extras(_ path: [UInt8], of node: Node) throws -> [ExtendedAttribute]
  /// Opens a file for reading.
  func open(_ path: [UInt8]) throws -> any RemoteFile
}

/// One open remote file, read from start to end by one reader.
public protocol RemoteFile {
  /// Up to `count` bytes into `buffer`; 0 at the end.
  func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int
  /// Size and times after reading (to see a file that changed while it was read).
  func currentState() -> (size: UInt64, mtime: Timespec, ctime: Timespec)?
  func close()
}

/// Why a remote call failed. `lost` means the server or share went away: the backup stops
/// and saves no snapshot (a snapshot without the rest of the share would look complete).
/// Otherwise the entry is left out and the backup is partial, as for an unreadable local file.
public struct RemoteTreeError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var lost: Bool
  public init(_ message: String, lost: Bool) {
    self.message = message
    self.lost = lost
  }
  public var description: String { message }
}
