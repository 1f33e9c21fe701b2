// LifeboatStorage — where repository objects live. A small protocol with a written contract,
// and the providers that implement it. Knows nothing about encryption, packs or snapshots.

import Foundation
public import LifeboatCore

/// The kinds of object a repository stores, and the folder each lives in.
public enum ObjectType: String, Sendable, CaseIterable {
  case config
  case key = "keys"
  case pack = "data"
  case index
  case snapshot = "snapshots"
  case lock = "locks"
  /// Marks on snapshots (protected, suspicious, a protection lifted): docs/design.md §18.
  case mark = "marks"

  /// Whether `name` names an object of this type. The one rule every backend, the server and
  /// the REST client apply: 64 lower-case hex digits (a content hash, or a lock's random
  /// name); a mark's name also says which snapshot it is about and what it says, so a server
  /// that cannot decrypt it can still honour it: `<snapshot 64 hex>-<kind>-<64 hex>`, the kind
  /// lower-case letters.
  public func isValidName<S: StringProtocol>(_ name: S) -> Bool {
    switch self {
    case .config: return name.isEmpty
    case .mark: return MarkName(name) != nil
    default: return ObjectName.isHex64(name.utf8)
    }
  }
}

public enum ObjectName {
  /// 64 lower-case hex digits.
  public static func isHex64<C: Collection<UInt8>>(_ bytes: C) -> Bool {
    bytes.count == 64 && bytes.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
  }
}

/// The parts of a mark object's name: `<snapshot>-<kind>-<hash of the sealed mark>`.
public struct MarkName: Sendable, Hashable {
  public var snapshot: String
  public var kind: String
  public var hash: String

  public init(snapshot: String, kind: String, hash: String) {
    self.snapshot = snapshot
    self.kind = kind
    self.hash = hash
  }

  public init?<S: StringProtocol>(_ name: S) {
    let parts = name.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, ObjectName.isHex64(parts[0].utf8), ObjectName.isHex64(parts[2].utf8),
      (1...16).contains(parts[1].utf8.count), parts[1].utf8.allSatisfy({ (97...122).contains($0) })
    else { return nil }
    snapshot = String(parts[0])
    kind = String(parts[1])
    hash = String(parts[2])
  }

  public var name: String { "\(snapshot)-\(kind)-\(hash)" }
}

/// The name of one stored object.
public struct Handle: Hashable, Sendable, CustomStringConvertible {
  public var type: ObjectType
  /// The object's name: 64 hex digits for everything but `config` (whose name is empty) and
  /// marks (`ObjectType.isValidName`).
  public var name: String

  public init(_ type: ObjectType, _ name: String) {
    self.type = type
    self.name = name
  }

  public static let config = Handle(.config, "")

  /// The SHA-256 (hex) the name promises for the object's bytes: the name itself, the last
  /// part of a mark's name, nil for `config` (docs/design.md §2). A backend or server MAY
  /// verify it.
  public var contentHash: String? {
    switch type {
    case .config: nil
    case .mark: MarkName(name)?.hash
    default: name
    }
  }

  public var description: String { type == .config ? "config" : "\(type.rawValue)/\(name)" }
}

public struct ObjectInfo: Hashable, Sendable {
  public var name: String
  public var size: Int

  public init(name: String, size: Int) {
    self.name = name
    self.size = size
  }
}

/// Storage for repository objects.
///
/// Contract (every provider passes `BackendConformance` in LifeboatTesting):
/// - `save` is atomic: after it returns the whole object is durable and visible; after a crash
///   or a failure either the whole object or nothing is visible under its name. Saving an
///   existing name replaces it atomically (content-addressed objects are never rewritten with
///   other bytes, so this only happens on a retry).
/// - Every object but `config` is named by the hex SHA-256 of its bytes. A provider may
///   verify this and refuse a mismatch (`invalid`); the S3 backend does, through the signed
///   payload hash.
/// - read-after-write: `load`, `stat` and `list` see an object once `save` has returned.
/// - `load`/`stat`/`remove` of a missing object throw `StorageError` with `isNotFound`; other
///   failures are permanent (`isPermanent`) or transient and may be retried.
/// - `load(offset:length:)` returns exactly `length` bytes or throws; `length: nil` reads to
///   the end.
/// - Safe to call from many tasks at once.
public protocol Backend: Sendable {
  /// Where the repository is, for messages (never includes credentials).
  var location: String { get }
  func save(_ handle: Handle, data: [UInt8]) async throws
  func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8]
  /// Reads `buffer.count` bytes at `offset` into `buffer`: `load` without allocating, for
  /// readers that reuse one buffer (check reads every pack this way). The default loads and
  /// copies, so decorators that change what `load` returns need not implement it.
  func read(_ handle: Handle, offset: Int, into buffer: UnsafeMutableRawBufferPointer) async throws
  func stat(_ handle: Handle) async throws -> ObjectInfo
  func list(_ type: ObjectType) async throws -> [ObjectInfo]
  func remove(_ handle: Handle) async throws
  /// Requests cross a network (S3, a Lifeboat server): readers should keep more of them in
  /// flight to hide the latency. Decorators forward their inner backend's answer.
  var isRemote: Bool { get }
}

extension Backend {
  public var isRemote: Bool { false }

  public func read(_ handle: Handle, offset: Int, into buffer: UnsafeMutableRawBufferPointer)
    async throws
  {
    let data = try await load(handle, offset: offset, length: buffer.count)
    guard data.count == buffer.count else {
      throw StorageError(.io, handle, "read \(data.count) bytes at \(offset), expected \(buffer.count)")
    }
    data.withUnsafeBytes { buffer.copyMemory(from: $0) }
  }

  public func load(_ handle: Handle) async throws -> [UInt8] {
    try await load(handle, offset: 0, length: nil)
  }

  public func exists(_ handle: Handle) async throws -> Bool {
    do {
      _ = try await stat(handle)
      return true
    } catch let e as StorageError where e.isNotFound {
      return false
    }
  }
}

/// A classified storage failure.
public struct StorageError: Error, Sendable, CustomStringConvertible {
  public enum Code: String, Sendable {
    case notFound = "not-found"
    case noSpace = "no-space"
    case permissionDenied = "permission-denied"
    case readOnly = "read-only"
    case io
    case invalid
    /// The container itself (bucket, directory) does not exist.
    case noContainer = "no-container"
    /// The storage did not accept the credentials (wrong key, bad signature, clock skew).
    case credentials
  }

  public var code: Code
  public var handle: Handle?
  public var detail: String
  /// What to do about it, when the provider knows better than the generic advice.
  public var hint: String?

  public init(_ code: Code, _ handle: Handle?, _ detail: String, hint: String? = nil) {
    self.code = code
    self.handle = handle
    self.detail = detail
    self.hint = hint
  }

  public var isNotFound: Bool { code == .notFound }
  /// Retrying will not help.
  public var isPermanent: Bool { code != .io }

  public var description: String {
    if let handle { return "\(handle): \(detail)" }
    return detail
  }

  /// Lifts a storage error into the user-facing error vocabulary.
  public var asLifeboatError: LifeboatError {
    switch code {
    case .notFound: LifeboatError(.notFound, description, hint: hint)
    case .noContainer:
      LifeboatError(.repositoryNotFound, description,
        hint: hint ?? "check the repository location, or create the container first")
    case .credentials:
      LifeboatError(.storage, "the storage refused the credentials: \(description)",
        hint: hint ?? "check the access key and secret")
    case .noSpace:
      LifeboatError(
        .noSpace, "no space left on the repository's storage (\(description))",
        hint: "free space or move the repository; nothing already stored was changed. The packs a "
          + "failed backup uploaded are indexed when the index still fits, and the next backup reuses them; "
          + "`lifeboat check` names any left unindexed and `lifeboat prune` removes them")
    case .permissionDenied:
      LifeboatError(.storage, "permission denied: \(description)",
        hint: hint ?? "check the repository's ownership and permissions")
    default: LifeboatError(.storage, description, hint: hint)
    }
  }
}
