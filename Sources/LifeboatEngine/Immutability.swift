// Keeping an immutable repository immutable: locks that run out on objects still in use are
// extended, objects that lost their lock are reported, and versions that were removed are
// purged once (and only once) their lock has run out. Rules: docs/design.md §13.

public import Foundation
import LifeboatCore
public import LifeboatRepository
public import LifeboatStorage

/// What inspecting (and possibly extending) the locks of a repository found.
public struct LockReport: Sendable, Codable {
  public struct Finding: Sendable, Codable, Hashable {
    public var object: String
    /// `missing` (no lock) or `short` (expires before the horizon).
    public var kind: String
    public var until: Date?
  }

  public var mode: String = ""
  public var days = 0
  public var horizon = Date(timeIntervalSince1970: 0)
  public var objects = 0
  public var extended = 0
  /// Objects still in use whose lock is missing or runs out before the horizon (before any
  /// extension this run made).
  public var findings: [Finding] = []
  /// The earliest lock date among the objects still in use, after this run.
  public var earliestUntil: Date?
}

/// What purging retained versions did.
public struct PurgeReport: Sendable, Codable {
  public struct Waiting: Sendable, Codable, Hashable {
    public var key: String
    public var until: Date
  }

  public var purgedVersions = 0
  public var purgedBytes: UInt64 = 0
  public var deleteMarkersRemoved = 0
  /// Removed objects whose versions are still locked: kept, and purged by a later run.
  public var waiting: [Waiting] = []
  public var waitingBytes: UInt64 = 0
}

public struct ImmutabilityMaintenance: Sendable {
  public let repository: Repository
  public let policy: ImmutabilityPolicy
  let storage: any ObjectLockingBackend
  public var concurrency = 16

  /// Fails with a clear error for a repository without immutability, or on storage without
  /// Object Lock.
  public init(repository: Repository) throws {
    guard let policy = repository.immutability else {
      throw LifeboatError(
        .usage, "\(repository.backend.location) is not an immutable repository",
        hint: "immutability is chosen at `lifeboat init --immutable-days N` on an S3 bucket "
          + "with Object Lock")
    }
    guard let storage = repository.backend as? any ObjectLockingBackend else {
      throw LifeboatError(
        .usage,
        "the repository asks for \(policy.days)-day Object Lock, but \(repository.backend.location) "
          + "cannot lock objects (a copy on other storage?)",
        hint: "run maintenance against the S3 bucket that holds the immutable repository")
    }
    self.repository = repository
    self.policy = policy
    self.storage = storage
  }

  /// Every object the repository still needs: config, key files, snapshots, index files and
  /// the packs the index references.
  public func objectsInUse() async throws -> [Handle] {
    var handles: [Handle] = [.config]
    for type in [ObjectType.key, .snapshot, .index, .mark] {
      let infos = try await Repository.storage { try await storage.list(type) }
      handles += infos.map { Handle(type, $0.name) }
    }
    if repository.lastIndexReport == nil { _ = try await repository.loadIndex() }
    let indexed = Set(repository.index.packExtents().keys.map(\.hex))
    let packs = try await Repository.storage { try await storage.list(.pack) }
    handles += packs.filter { indexed.contains($0.name) }.map { Handle(.pack, $0.name) }
    return handles
  }

  /// Inspects the lock of every object still in use; with `extend`, sets the lock of those
  /// whose lock is missing or runs out before the horizon to `now + days`.
  public func inspect(extend: Bool, progress: OperationProgress = OperationProgress()) async throws
    -> LockReport
  {
    let now = repository.clock.now()
    var report = LockReport()
    report.mode = policy.mode.rawValue
    report.days = policy.days
    report.horizon = policy.horizon(now: now)
    let handles = try await objectsInUse()
    report.objects = handles.count
    progress.update {
      $0.phase = extend ? "extending locks" : "checking locks"
      $0.filesTotal = handles.count
    }
    let target = policy.retention(now: now)
    let horizon = report.horizon
    let results = try await boundedMap(handles, concurrency: concurrency) {
      h -> (Handle, ObjectRetention?, Bool) in
      let current = try await Repository.storage { try await storage.retention(of: h) }
      var extended = false
      if extend, current.map({ $0.until < horizon }) ?? true {
        try await Repository.storage {
          try await storage.extendRetention(of: h, to: ObjectRetention(mode: current?.mode ?? target.mode, until: target.until))
        }
        extended = true
      }
      progress.update { $0.filesDone += 1 }
      return (h, current, extended)
    }
    for (h, current, extended) in results.sorted(by: { $0.0.description < $1.0.description }) {
      if current == nil {
        report.findings.append(.init(object: h.description, kind: "missing", until: nil))
      } else if current!.until < horizon {
        report.findings.append(.init(object: h.description, kind: "short", until: current!.until))
      }
      if extended { report.extended += 1 }
      let until = extended ? target.until : current?.until
      if let until, report.earliestUntil.map({ until < $0 }) ?? true { report.earliestUntil = until }
    }
    return report
  }

  /// Deletes the retained versions (of removed or replaced objects) whose lock has run out,
  /// and a delete marker once no version of its object is left. Never sends a delete for a
  /// version that is still locked.
  public func purgeExpired(dryRun: Bool = false) async throws -> PurgeReport {
    let now = repository.clock.now()
    var report = PurgeReport()
    let versions = try await Repository.storage { try await storage.retainedVersions() }
    var remaining: [String: Int] = [:]
    var purge: [RetainedVersion] = []
    var markers: [RetainedVersion] = []
    for v in versions {
      if v.isDeleteMarker {
        markers.append(v)
      } else if let r = v.retention, r.until > now {
        remaining[v.key, default: 0] += 1
        report.waiting.append(.init(key: v.key, until: r.until))
        report.waitingBytes += UInt64(v.size)
      } else {
        purge.append(v)
      }
    }
    // A current (live) version of a key also keeps its delete markers' removal harmless, but a
    // marker must stay while a retained version of its key is locked: removing it would make
    // that version current again and bring a forgotten object back.
    let markersToRemove = markers.filter { remaining[$0.key] == nil }
    report.waiting.sort { $0.until < $1.until }
    if dryRun {
      report.purgedVersions = purge.count
      report.purgedBytes = purge.reduce(0) { $0 + UInt64($1.size) }
      report.deleteMarkersRemoved = markersToRemove.count
      return report
    }
    _ = try await boundedMap(purge, concurrency: concurrency) { v in
      try await Repository.storage { try await storage.purge(v) }
    }
    report.purgedVersions = purge.count
    report.purgedBytes = purge.reduce(0) { $0 + UInt64($1.size) }
    _ = try await boundedMap(markersToRemove, concurrency: concurrency) { v in
      try await Repository.storage { try await storage.purge(v) }
    }
    report.deleteMarkersRemoved = markersToRemove.count
    return report
  }
}

/// Runs `body` over `items` with at most `concurrency` at once; results in input order.
func boundedMap<T: Sendable, R: Sendable>(
  _ items: [T], concurrency: Int, _ body: @escaping @Sendable (T) async throws -> R
) async throws -> [R] {
  var results = [R?](repeating: nil, count: items.count)
  try await withThrowingTaskGroup(of: (Int, R).self) { group in
    var next = 0
    for _ in 0..<min(concurrency, items.count) {
      let i = next
      next += 1
      group.addTask { (i, try await body(items[i])) }
    }
    while let (i, r) = try await group.next() {
      results[i] = r
      if next < items.count {
        let j = next
        next += 1
        group.addTask { (j, try await body(items[j])) }
      }
    }
  }
  return results.map { $0! }
}
