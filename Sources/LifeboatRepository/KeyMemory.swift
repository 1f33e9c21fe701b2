// What this machine remembers about repositories, and where (`LocalCache`). Which key file
// opened a repository last, remembered so that the next open
// tries it first (docs/design.md §4). A key file's name is not a secret; the file only saves
// work, and a missing, unreadable or stale one is ignored.

public import Foundation
import LifeboatFormat

public struct KeyMemory: Sendable {
  /// A directory of this user's (0700), e.g. `~/.cache/lifeboat`.
  public let directory: String

  public init(directory: String) { self.directory = directory }

  /// `LIFEBOAT_CACHE_DIR`, else `$XDG_CACHE_HOME/lifeboat`, else `$HOME/.cache/lifeboat`;
  /// nil when none is set, or when `LIFEBOAT_CACHE_DIR` is `off`.
  public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> KeyMemory? {
    LocalCache.directory(env).map { KeyMemory(directory: $0) }
  }

  func path(for location: String) -> String {
    directory + "/keys/" + StorageHash.id(Array(location.utf8)).hex
  }

  /// The key file name remembered for `location`, if any.
  public func remembered(for location: String) -> String? {
    guard let d = FileManager.default.contents(atPath: path(for: location)),
      let s = String(data: d, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
      s.count == 64, s.allSatisfy({ $0.isHexDigit })
    else { return nil }
    return s
  }

  /// Remembers `keyID` for `location`; best effort (a read-only home changes nothing).
  public func remember(_ keyID: String, for location: String) {
    let dir = directory + "/keys"
    let fm = FileManager.default
    guard (try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])) != nil
    else { return }
    let target = path(for: location)
    let tmp = target + ".tmp\(getpid())"
    guard fm.createFile(atPath: tmp, contents: Data((keyID + "\n").utf8), attributes: [.posixPermissions: 0o600]) else { return }
    if rename(tmp, target) != 0 { unlink(tmp) }
  }
}

/// The one place this machine keeps what it remembers about repositories: which key opened
/// one (`KeyMemory`), which packs `check` verified (`VerificationLedger`).
public enum LocalCache {
  /// `LIFEBOAT_CACHE_DIR`, else `$XDG_CACHE_HOME/lifeboat`, else `$HOME/.cache/lifeboat`;
  /// nil when none is set, or when `LIFEBOAT_CACHE_DIR` is `off`.
  public static func directory(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    if let d = env["LIFEBOAT_CACHE_DIR"], !d.isEmpty { return d == "off" ? nil : d }
    if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") { return x + "/lifeboat" }
    if let h = env["HOME"], h.hasPrefix("/") { return h + "/.cache/lifeboat" }
    return nil
  }
}
