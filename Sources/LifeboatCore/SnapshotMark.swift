public import Foundation

/// A mark on a snapshot, stored in the repository beside it (docs/design.md §18): it travels
/// with `copy`, is seen by every client and by the server, and is never edited — a later mark
/// supersedes an earlier one, so marks work on append-only and Object-Locked repositories.
public struct SnapshotMark: Sendable, Codable, Equatable {
  public enum Kind: String, Sendable, Codable, CaseIterable {
    /// Retention, `forget` and approved deletions keep the snapshot (until `until`, if set).
    case protect
    /// Lifts the protection of an earlier `protect` mark.
    case release
    /// The ransomware signals flagged the snapshot; `reason` lists them.
    case suspicious
  }

  /// The format version; a reader ignores marks of a version it does not know (and says so).
  public var version = 1
  public var snapshot: ID
  /// The kind as written. A kind this version does not know (from a newer client) is kept
  /// as text, reported and ignored.
  public var kind: String
  public var reason: String
  /// A protection's end; nil: until released.
  public var until: Date?
  public var time: Date
  /// `user@host` or `agent@host`.
  public var author: String

  public init(snapshot: ID, kind: Kind, reason: String, until: Date? = nil, time: Date, author: String) {
    self.snapshot = snapshot
    self.kind = kind.rawValue
    self.reason = reason
    self.until = until
    self.time = time
    self.author = author
  }

  public var knownKind: Kind? { Kind(rawValue: kind) }
}
