public import Foundation

/// `smb: { url: "smb://server/share[/folder]", username, password, domain, exclude, timeout }`:
/// a folder on a Windows file server or NAS, read over SMB (LifeboatSMB). The password is a
/// reference (`env:NAME`, `file:/path`), never written in the plan or the URL.
public struct ShareSource: Sendable, Equatable {
  public var url: String
  public var username: String?
  public var password: SecretReference?
  /// The Windows domain (workgroup) of the account, when the server needs one.
  public var domain: String?
  public var excludes: [String]
  /// Each network operation's limit (default 30 s).
  public var timeout: TimeInterval?

  public init(
    url: String, username: String? = nil, password: SecretReference? = nil, domain: String? = nil, excludes: [String] = [],
    timeout: TimeInterval? = nil
  ) {
    self.url = url
    self.username = username
    self.password = password
    self.domain = domain
    self.excludes = excludes
    self.timeout = timeout
  }

  /// The share as people read it: its URL (which never carries credentials).
  public var title: String { url }

  /// What is wrong with `url`, in the words plan check prints; nil when it is usable.
  public static func problem(_ url: String) -> (message: String, hint: String)? {
    guard url.lowercased().hasPrefix("smb://") else {
      return ("'\(url)' is not an smb:// URL", "write smb://server/share or smb://server/share/folder")
    }
    let rest = url.dropFirst(6)
    if rest.contains("@") {
      return ("the SMB URL carries a user name or password", "give username: and password: (a reference such as file:/etc/lifeboat/smb.pass)")
    }
    if rest.split(separator: "/", omittingEmptySubsequences: true).count < 2 {
      return ("'\(url)' names no share", "write smb://server/share")
    }
    return nil
  }
}
