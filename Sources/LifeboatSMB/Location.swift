public import Foundation
public import LifeboatCore
import LifeboatPlan

/// `smb://server[:port]/share[/folder…]`: a folder on a share.
public struct SMBLocation: Sendable, Equatable, CustomStringConvertible {
  public var host: String
  public var port: Int?
  public var share: String
  /// The folders below the share, without slashes.
  public var folders: [String]

  public init(url: String) throws {
    // The rules plan check applies (`ShareSource.problem`), for URLs from elsewhere too.
    if let problem = ShareSource.problem(url) {
      throw LifeboatError(.usage, problem.message, hint: problem.hint)
    }
    let parts = url.dropFirst(6).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    let hostPort = parts[0]
    if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasPrefix("[") {
      guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
        throw LifeboatError(.usage, "\(url): the port is not a number between 1 and 65535")
      }
      host = String(hostPort[..<colon])
      port = p
    } else {
      host = hostPort
    }
    share = parts[1]
    folders = Array(parts.dropFirst(2)).map { $0.removingPercentEncoding ?? $0 }
  }

  /// The location as written, without credentials.
  public var description: String {
    "smb://\(host)\(port.map { ":\($0)" } ?? "")/\(share)" + folders.map { "/" + $0 }.joined()
  }

  /// Where the share's folder appears in a snapshot: `/smb/SERVER/SHARE/FOLDER…`.
  public var snapshotPath: String {
    "/smb/\(host)/\(share)" + folders.map { "/" + $0 }.joined()
  }

  /// The libsmbclient URL of `relative` (bytes below the folder), percent-encoded.
  public func url(_ relative: [UInt8] = []) -> String {
    var path = Array(share.utf8)
    for f in folders { path += [UInt8(ascii: "/")] + Array(f.utf8) }
    if !relative.isEmpty { path += [UInt8(ascii: "/")] + relative }
    return "smb://\(host)\(port.map { ":\($0)" } ?? "")/" + Self.encode(path)
  }

  static func encode(_ bytes: [UInt8]) -> String {
    var out = ""
    for b in bytes {
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
        out.unicodeScalars.append(UnicodeScalar(b))
      default:
        out += String(format: "%%%02X", b)
      }
    }
    return out
  }
}
