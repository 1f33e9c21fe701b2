public import Foundation
public import LifeboatCore
import LifeboatEngine
import CLifeboatSMB
import Synchronization
#if canImport(Glibc)
  import Glibc
#endif

/// An account on an SMB server and a few libsmbclient contexts signed in with it. A context
/// serves one thread at a time: `withContext` lends one (making a new one when all are busy).
public final class SMBConnection: Sendable {
  public let location: SMBLocation
  let username: String
  let password: String
  let domain: String
  let timeoutMilliseconds: Int32
  private let idle = Mutex<[Handle]>([])

  /// A libsmbclient context (an opaque pointer owned by this connection).
  struct Handle: @unchecked Sendable {
    let pointer: OpaquePointer
  }

  /// Checks that libsmbclient can be loaded, and says how to install it when not.
  public static func requireLibrary() throws {
    var err = [CChar](repeating: 0, count: 512)
    guard lb_smb_load(&err, err.count) == 0 else {
      throw LifeboatError(.fatal, "SMB needs Samba's client library, which cannot be loaded: \(String(cString: err))",
        hint: "install it: apt-get install libsmbclient")
    }
  }

  public init(location: SMBLocation, username: String, password: String, domain: String = "", timeout: TimeInterval = 30) throws {
    try Self.requireLibrary()
    self.location = location
    self.username = username
    self.password = password
    self.domain = domain
    self.timeoutMilliseconds = Int32(max(1, timeout) * 1000)
  }

  deinit {
    for h in idle.withLock({ $0 }) { lb_smb_free(h.pointer) }
  }

  func withContext<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
    let handle = try checkOut()
    defer { checkIn(handle) }
    return try body(handle.pointer)
  }

  func checkOut() throws -> Handle {
    if let h = idle.withLock({ $0.popLast() }) { return h }
    var error: Int32 = 0
    guard let p = lb_smb_new(username, password, domain, timeoutMilliseconds, &error) else {
      throw Self.error(error, "cannot start an SMB client for \(location)")
    }
    return Handle(pointer: p)
  }

  func checkIn(_ handle: Handle) {
    idle.withLock { $0.append(handle) }
  }

  /// One of libsmbclient's attributes of `relative` (below the location's folder):
  /// `system.nt_sec_desc.*` (the security descriptor, SIDs), `…*+` (names),
  /// `system.dos_attr.mode`. Nil when the server keeps none.
  public func attribute(_ relative: [UInt8], _ name: String) throws -> String? {
    let url = location.url(relative)
    return try withContext { ctx in
      try SMBTree.getxattr(ctx, url, name, shown: SMBTree.shown(location, relative)).map { String(decoding: $0, as: UTF8.self) }
    }
  }

  /// Sets one of libsmbclient's attributes of `relative` (see `attribute`). A descriptor is
  /// given as `attribute` reads it: its hexadecimal access masks are rewritten in decimal, the
  /// only form libsmbclient's numeric parser reads ("0x001f01ff" would be read as 0, an entry
  /// that grants nothing).
  public func setAttribute(_ relative: [UInt8], _ name: String, _ value: String) throws {
    let url = location.url(relative)
    // libsmbclient reads the value as a C string: it must end with a NUL.
    let bytes = Array((name.hasPrefix("system.nt_sec_desc") ? Self.settableDescriptor(value) : value).utf8) + [0]
    let rc = try withContext { ctx in bytes.withUnsafeBytes { lb_smb_setxattr(ctx, url, name, $0.baseAddress, $0.count) } }
    guard rc == 0 else { throw Self.error(rc, "\(SMBTree.shown(location, relative)): cannot set \(name)") }
  }

  /// `ACL:SID:TYPE/FLAGS/0xMASK` entries with TYPE, FLAGS and MASK in decimal.
  static func settableDescriptor(_ text: String) -> String {
    text.split(separator: ",", omittingEmptySubsequences: false).map { field -> String in
      guard field.hasPrefix("ACL:"), let colon = field.lastIndex(of: ":") else { return String(field) }
      let numbers = field[field.index(after: colon)...].split(separator: "/", omittingEmptySubsequences: false)
      guard numbers.count == 3 else { return String(field) }
      let decimal = numbers.map { n -> String in
        n.hasPrefix("0x") ? UInt32(n.dropFirst(2), radix: 16).map(String.init) ?? String(n) : String(n)
      }
      return field[...colon] + decimal.joined(separator: "/")
    }.joined(separator: ",")
  }

  /// Errors that mean the server or the share is gone, not that one file is unreadable.
  static let lostCodes: Set<Int32> = [
    ECONNREFUSED, ECONNRESET, ECONNABORTED, ETIMEDOUT, EHOSTUNREACH, EHOSTDOWN, ENETUNREACH, ENETDOWN, EPIPE, ENOTCONN,
  ]

  /// An error for the negative return value `rc` (-errno) of a shim call about `subject`.
  static func error(_ rc: Int32, _ subject: String) -> RemoteTreeError {
    let code = -rc
    let text: String
    switch code {
    case EACCES, EPERM: text = "access denied (check the user name, password and the share's permissions)"
    case ENOENT: text = "no such file or folder"
    case ENOSYS: text = "libsmbclient cannot be loaded"
    default: text = String(cString: strerror(code))
    }
    return RemoteTreeError("\(subject): \(text)", lost: lostCodes.contains(code))
  }
}
