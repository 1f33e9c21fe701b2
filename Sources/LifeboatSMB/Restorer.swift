public import Foundation
public import LifeboatCore
public import LifeboatRepository
import LifeboatEngine
import CLifeboatSMB
#if canImport(Glibc)
  import Glibc
#endif

/// Writes a snapshot folder back to a share: folders, files, then each entry's security
/// descriptor, DOS attributes and modification time, as they were read. Existing files of the
/// same name are replaced; nothing else on the share is touched.
public struct ShareRestorer: Sendable {
  public let repository: Repository
  public let connection: SMBConnection

  public struct Result: Sendable {
    public var files = 0
    public var directories = 0
    public var bytes: UInt64 = 0
    /// Entries whose security descriptor was applied.
    public var securityApplied = 0
    /// Files and folders that could not be written (their data in the repository is intact).
    public var failedFiles = 0
    public var errors: [String] = []
  }

  public init(repository: Repository, connection: SMBConnection) {
    self.repository = repository
    self.connection = connection
  }

  /// Restores the contents of `tree` into the connection's folder (made when missing).
  public func restore(tree: ID) async throws -> Result {
    var result = Result()
    let location = connection.location
    // The folder itself and the ones above it, below the share.
    var made: [String] = []
    for f in location.folders {
      made.append(f)
      var partial = location
      partial.folders = made
      let rc = try connection.withContext { lb_smb_mkdir($0, partial.url(), 0o755) }
      if rc != 0 && -rc != EEXIST {
        let e = SMBConnection.error(rc, "cannot make \(partial)")
        throw LifeboatError(.fatal, e.message, hint: "check the share name and that the account may write to it")
      }
    }
    try await restoreContents(of: tree, at: [], into: &result)
    return result
  }

  func restoreContents(of treeID: ID, at path: [UInt8], into result: inout Result) async throws {
    let tree = try await repository.loadTree(treeID)
    for node in tree.nodes {
      try Task.checkCancellation()
      let child = path.isEmpty ? node.name : path + [UInt8(ascii: "/")] + node.name
      let url = connection.location.url(child)
      let shown = SMBTree.shown(connection.location, child)
      switch node.kind {
      case .directory:
        let rc = try connection.withContext { lb_smb_mkdir($0, url, 0o755) }
        if rc != 0 && -rc != EEXIST {
          let e = SMBConnection.error(rc, "cannot make \(shown)")
          if e.lost { throw LifeboatError(.fatal, "\(connection.location) went away during the restore: \(e.message)") }
          result.errors.append(e.message)
          result.failedFiles += 1
          continue
        }
        if let sub = node.subtree { try await restoreContents(of: sub, at: child, into: &result) }
        result.directories += 1
      case .file:
        do {
          result.bytes += try await write(node, to: url, shown: shown)
          result.files += 1
        } catch let e as RemoteTreeError {
          if e.lost { throw LifeboatError(.fatal, "\(connection.location) went away during the restore: \(e.message)") }
          result.errors.append(e.message)
          result.failedFiles += 1
          continue
        }
      default:
        result.errors.append("\(shown): a \(node.kind) cannot be stored on a share; skipped")
        continue
      }
      applyMetadata(node, url: url, shown: shown, path: child, into: &result)
    }
  }

  /// Writes the file's content; returns the bytes written.
  func write(_ node: Node, to url: String, shown: String) async throws -> UInt64 {
    let handle = try connection.checkOut()
    defer { connection.checkIn(handle) }
    var file: UnsafeMutableRawPointer?
    let rc = lb_smb_open(handle.pointer, url, O_WRONLY | O_CREAT | O_TRUNC, 0o644, &file)
    guard rc == 0, let file else { throw SMBConnection.error(rc, "cannot write \(shown)") }
    var closed = false
    defer { if !closed { _ = lb_smb_close(handle.pointer, file) } }
    var written: UInt64 = 0
    for id in node.content {
      let bytes = try await repository.loadBlob(id)
      var offset = 0
      while offset < bytes.count {
        let n = bytes.withUnsafeBytes { lb_smb_write(handle.pointer, file, $0.baseAddress! + offset, bytes.count - offset) }
        guard n > 0 else { throw SMBConnection.error(Int32(n < 0 ? n : -Int(EIO)), "cannot write \(shown)") }
        offset += n
      }
      written += UInt64(bytes.count)
    }
    closed = true
    let done = lb_smb_close(handle.pointer, file)
    guard done == 0 else { throw SMBConnection.error(done, "cannot finish writing \(shown)") }
    return written
  }

  /// The security descriptor, the DOS attributes and the modification time. A descriptor the
  /// account may not set whole (the owner needs a backup operator's rights) is set without
  /// its owner and group, and that is said.
  func applyMetadata(_ node: Node, url: String, shown: String, path: [UInt8], into result: inout Result) {
    let text = { (name: [UInt8]) in node.xattrs.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) } }
    // Times and attributes are set on files only: libsmbclient sets them by opening the entry,
    // which it cannot do for a folder (folders keep the time of their restore). The time first
    // (it is set through the same call as attributes, with none given), then the descriptor,
    // then the attributes (Samba recomputes them when a descriptor is set on a new file).
    if node.kind == .file {
      do {
        let rc = try connection.withContext { lb_smb_utimes($0, url, node.mtime.seconds, node.mtime.nanoseconds / 1000) }
        if rc != 0 { result.errors.append(SMBConnection.error(rc, "\(shown): modification time not set").message) }
      } catch {
        result.errors.append("\(shown): modification time not set: \(error)")
      }
    }
    if let sd = text(ExtendedAttribute.smbSecurityDescriptor) {
      do {
        try connection.setAttribute(path, "system.nt_sec_desc.*", sd)
        result.securityApplied += 1
      } catch {
        if let dacl = Self.accessEntries(sd), (try? connection.setAttribute(path, "system.nt_sec_desc.*", dacl)) != nil {
          result.securityApplied += 1
          result.errors.append("\(shown): access list restored, owner not (the account may not set owners)")
        } else {
          result.errors.append("\(shown): security descriptor not applied: \(error)")
        }
      }
    }
    if node.kind == .file, let mode = text(ExtendedAttribute.smbAttributes) {
      do { try connection.setAttribute(path, "system.dos_attr.mode", mode) } catch {
        result.errors.append("\(shown): attributes not applied: \(error)")
      }
    }
  }

  /// The descriptor without owner and group: its revision and `ACL:` entries (libsmbclient
  /// then sets only the access list).
  static func accessEntries(_ descriptor: String) -> String? {
    let entries = descriptor.split(separator: ",").filter { $0.hasPrefix("ACL:") }
    return entries.isEmpty ? nil : (["REVISION:1"] + entries.map(String.init)).joined(separator: ",")
  }

}
