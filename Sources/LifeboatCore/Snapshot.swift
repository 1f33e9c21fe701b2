public import Foundation

/// A point in time that can be restored: the root tree plus who, when and what.
public struct Snapshot: Codable, Sendable, Equatable {
  public var time: Date
  public var tree: ID
  public var parent: ID?
  public var paths: [String]
  public var hostname: String
  public var username: String
  public var uid: UInt32
  public var gid: UInt32
  public var tags: [String]
  public var excludes: [String]
  public var programVersion: String
  public var summary: Summary?
  /// For a snapshot copied from another repository: the snapshot it was copied from.
  public var original: ID?
  /// For a plan's backup: the protected system it belongs to (`ProtectedSystem.snapshotSystem`,
  /// e.g. `student-information-system`). Absent in ad-hoc backups and in snapshots written
  /// before Lifeboat recorded it (those carried the system in `hostname`).
  public var system: String?

  public init(
    time: Date, tree: ID, parent: ID? = nil, paths: [String], hostname: String,
    username: String, uid: UInt32 = 0, gid: UInt32 = 0, tags: [String] = [],
    excludes: [String] = [], programVersion: String, summary: Summary? = nil
  ) {
    self.time = time
    self.tree = tree
    self.parent = parent
    self.paths = paths
    self.hostname = hostname
    self.username = username
    self.uid = uid
    self.gid = gid
    self.tags = tags
    self.excludes = excludes
    self.programVersion = programVersion
    self.summary = summary
  }

  /// What a backup did; recorded so that later runs, anomaly detection and reports can compare.
  public struct Summary: Codable, Sendable, Equatable {
    public var backupStart: Date
    public var backupEnd: Date
    public var filesNew: Int = 0
    public var filesChanged: Int = 0
    public var filesUnmodified: Int = 0
    public var dirsNew: Int = 0
    public var dirsChanged: Int = 0
    public var dirsUnmodified: Int = 0
    public var dataBlobs: Int = 0
    public var treeBlobs: Int = 0
    /// Plaintext bytes of blobs that were new to the repository.
    public var dataAdded: UInt64 = 0
    /// Bytes written to storage for new blobs (after compression and encryption).
    public var dataAddedPacked: UInt64 = 0
    public var totalFilesProcessed: Int = 0
    public var totalBytesProcessed: UInt64 = 0
    /// Sources that could not be read; the snapshot is complete for everything else.
    public var errors: [String] = []
    /// Files that changed while they were read; their content may be inconsistent.
    public var changedWhileReading: [String] = []

    public init(backupStart: Date, backupEnd: Date) {
      self.backupStart = backupStart
      self.backupEnd = backupEnd
    }
  }
}

extension Snapshot {
  /// The plan system this snapshot belongs to: its `system` field, or — for a plan's backup
  /// written before that field existed, which carries the `plan` tag — its host name, where
  /// Lifeboat then wrote the system. Nil for an ad-hoc backup. The one rule for "whose is this
  /// snapshot" (docs/design.md, snapshots): retention groups, parents, drills, clean points.
  public var planSystem: String? {
    system ?? (tags.contains("plan") ? hostname : nil)
  }
}
