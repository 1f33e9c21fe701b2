// Immutability: storage that can refuse to delete or overwrite an object until a date
// (S3 Object Lock), and the backend wrapper that writes every repository object that way.
// The rules are in docs/design.md §13.

public import Foundation

/// S3 Object Lock's two modes. COMPLIANCE cannot be shortened or removed by anyone until the
/// date; GOVERNANCE can be bypassed by a principal with `s3:BypassGovernanceRetention`.
public enum LockMode: String, Codable, Sendable, CaseIterable {
  case compliance
  case governance

  /// The spelling S3 uses on the wire.
  public var wireName: String { rawValue.uppercased() }
}

/// An object's lock: its mode and the date until which it cannot be deleted or overwritten.
public struct ObjectRetention: Sendable, Equatable, Codable {
  public var mode: LockMode
  public var until: Date

  public init(mode: LockMode, until: Date) {
    self.mode = mode
    self.until = until
  }
}

/// Whether a bucket can hold locked objects, and why not.
public struct ObjectLockStatus: Sendable, Equatable {
  public var enabled: Bool
  public var versioning: Bool
  /// A default retention the bucket applies by itself, if any (for messages).
  public var defaultRetention: String?

  public init(enabled: Bool, versioning: Bool, defaultRetention: String? = nil) {
    self.enabled = enabled
    self.versioning = versioning
    self.defaultRetention = defaultRetention
  }
}

/// A stored version of an object that is no longer the current one (it was removed, leaving a
/// delete marker, or replaced), kept by the storage until its lock runs out.
public struct RetainedVersion: Sendable, Equatable {
  public var key: String
  public var versionID: String
  public var size: Int
  /// `nil` for a version without lock, or for a delete marker.
  public var retention: ObjectRetention?
  public var isDeleteMarker: Bool

  public init(
    key: String, versionID: String, size: Int, retention: ObjectRetention?, isDeleteMarker: Bool
  ) {
    self.key = key
    self.versionID = versionID
    self.size = size
    self.retention = retention
    self.isDeleteMarker = isDeleteMarker
  }
}

/// A backend whose objects can be locked.
///
/// Contract, in addition to `Backend`'s:
/// - `remove` hides the current version (a delete marker on a versioned bucket) and succeeds
///   even when that version is locked; the version itself stays until its lock runs out.
/// - A locked version cannot be deleted or overwritten by anyone until `until` (COMPLIANCE).
public protocol ObjectLockingBackend: Backend {
  func objectLockStatus() async throws -> ObjectLockStatus
  /// Saves an object with a lock; after a multipart upload the lock is verified and set
  /// again when the server dropped it.
  func save(_ handle: Handle, data: [UInt8], retention: ObjectRetention) async throws
  /// The current version's lock, or nil when it has none.
  func retention(of handle: Handle) async throws -> ObjectRetention?
  /// Moves the current version's lock date later (never earlier).
  func extendRetention(of handle: Handle, to retention: ObjectRetention) async throws
  /// Versions that are no longer current (removed or replaced objects) and delete markers.
  func retainedVersions() async throws -> [RetainedVersion]
  /// Deletes one retained version for good. Callers only pass versions whose lock has run out.
  func purge(_ version: RetainedVersion) async throws
}

/// How long new objects are locked, from the repository's config.
public struct ImmutabilityPolicy: Sendable, Equatable, Codable {
  /// Every object stays locked for at least this many days after it is written.
  public var days: Int
  public var mode: LockMode

  public init(days: Int, mode: LockMode = .compliance) {
    self.days = days
    self.mode = mode
  }

  public var period: TimeInterval { TimeInterval(days) * 86_400 }
  /// Maintenance extends a lock once fewer than this many seconds remain beyond the
  /// horizon; a quarter of the period, so each object is touched about every `days / 4`.
  public var renewal: TimeInterval { period / 4 }

  /// The date up to which every object the repository still needs must be locked:
  /// `now + days - renewal` (docs/design.md §13).
  public func horizon(now: Date) -> Date { now.addingTimeInterval(period - renewal) }

  public func retention(now: Date) -> ObjectRetention {
    ObjectRetention(mode: mode, until: now.addingTimeInterval(period))
  }
}

/// A backend that writes every object except lock files with the repository's retention.
public struct LockingBackend: ObjectLockingBackend {
  public let base: any ObjectLockingBackend
  public let policy: ImmutabilityPolicy
  let now: @Sendable () -> Date

  public init(
    base: any ObjectLockingBackend, policy: ImmutabilityPolicy,
    now: @escaping @Sendable () -> Date
  ) {
    self.base = base
    self.policy = policy
    self.now = now
  }

  public var location: String { base.location }
  public var isRemote: Bool { base.isRemote }

  public func save(_ handle: Handle, data: [UInt8]) async throws {
    if handle.type == .lock {
      try await base.save(handle, data: data)
    } else {
      try await base.save(handle, data: data, retention: policy.retention(now: now()))
    }
  }

  public func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    try await base.load(handle, offset: offset, length: length)
  }
  public func stat(_ handle: Handle) async throws -> ObjectInfo { try await base.stat(handle) }
  public func list(_ type: ObjectType) async throws -> [ObjectInfo] { try await base.list(type) }
  public func remove(_ handle: Handle) async throws { try await base.remove(handle) }
  public func objectLockStatus() async throws -> ObjectLockStatus {
    try await base.objectLockStatus()
  }
  public func save(_ handle: Handle, data: [UInt8], retention: ObjectRetention) async throws {
    try await base.save(handle, data: data, retention: retention)
  }
  public func retention(of handle: Handle) async throws -> ObjectRetention? {
    try await base.retention(of: handle)
  }
  public func extendRetention(of handle: Handle, to retention: ObjectRetention) async throws {
    try await base.extendRetention(of: handle, to: retention)
  }
  public func retainedVersions() async throws -> [RetainedVersion] {
    try await base.retainedVersions()
  }
  public func purge(_ version: RetainedVersion) async throws { try await base.purge(version) }
}
