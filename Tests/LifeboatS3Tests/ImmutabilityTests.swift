import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatS3
import LifeboatStorage
import LifeboatTesting
import Testing

/// Object Lock against a real Ceph RADOS Gateway, proven with an independent client (the AWS
/// CLI) where it matters.
@Suite(.enabled(if: S3TestServer.shouldRun), .serialized) struct ImmutabilityTests {
  static let password = "immutable-test"

  struct Setup {
    let server: S3TestServer
    let bucket: String
    let backend: S3Backend
    let dir: TemporaryDirectory
    let source: String
  }

  static func setup(_ tag: String, objectLock: Bool = true, seed: UInt64 = 9) throws -> Setup {
    let server = try S3TestServer.require()
    let bucket = S3TestServer.bucketName(tag)
    try server.createBucket(bucket, objectLock: objectLock)
    let backend = try S3BackendTests.backend(server, bucket: bucket)
    let dir = TemporaryDirectory("lifeboat-immutable")
    let source = dir.sub("source")
    var o = FixtureTree.Options()
    o.files = 25
    o.largeFileSize = 2 << 20
    try FixtureTree.build(at: source, seed: seed, options: o)
    return Setup(server: server, bucket: bucket, backend: backend, dir: dir, source: source)
  }

  static func initialize(
    _ s: Setup, days: Int = 1, mode: LockMode = .compliance, clock: any WallClock = SystemClock()
  ) async throws -> Repository {
    var config = RepositoryConfig(packSize: 256 << 10)
    config.immutability = .init(days: days, mode: mode.rawValue)
    return try await Repository.initialize(
      backend: s.backend, password: password, derivation: .scrypt(logN: 10, r: 8, p: 1),
      configuration: config, clock: clock)
  }

  static func backup(_ repo: Repository, _ paths: [String]) async throws -> BackupResult {
    try await repo.loadIndex()
    let saver = BlobSaver(repository: repo, indexEvery: 2)
    return try await Archiver(
      repository: repo, saver: saver, options: BackupOptions(paths: paths, hostname: "test-host")
    ).run()
  }

  struct Version: Decodable {
    var Key: String
    var VersionId: String
    var IsLatest: Bool
  }

  struct Versions: Decodable {
    var Versions: [Version]?
    var DeleteMarkers: [Version]?
  }

  static func versions(_ s: Setup) throws -> Versions {
    let r = try s.server.aws(["s3api", "list-object-versions", "--bucket", s.bucket])
    guard r.status == 0 else { throw S3TestServer.Failed(what: "list-object-versions", output: r.output) }
    return try JSONDecoder().decode(Versions.self, from: Data(r.output.utf8))
  }

  // Version ids are opaque and RGW's may start with "-": they are passed as --version-id=ID.
  @Test func anIndependentClientCannotDeleteOrOverwriteAnything() async throws {
    let s = try Self.setup("attack")
    defer { s.dir.remove() }
    let repo = try await Self.initialize(s, days: 1, mode: .compliance)
    let result = try await Self.backup(repo, [s.source])

    let before = try Self.versions(s).Versions ?? []
    let types = Set(before.map { $0.Key.split(separator: "/").dropFirst().first.map(String.init) ?? "" })
    #expect(types.isSuperset(of: ["config", "keys", "data", "index", "snapshots"]), "\(types)")
    let data = before.filter { !$0.Key.contains("/locks/") }
    #expect(data.count >= 8)

    // Every object carries a COMPLIANCE lock for about a day.
    for v in data {
      let r = try s.server.aws(["s3api", "get-object-retention", "--bucket", s.bucket, "--key", v.Key, "--version-id=\(v.VersionId)"])
      #expect(r.status == 0 && r.output.contains("COMPLIANCE"), "\(v.Key): \(r.output)")
    }
    // The same credentials can neither delete a version nor shorten its lock.
    for v in data {
      let r = try s.server.aws(["s3api", "delete-object", "--bucket", s.bucket, "--key", v.Key, "--version-id=\(v.VersionId)"])
      #expect(r.status != 0, "deleted \(v.Key) version \(v.VersionId)")
    }
    let sample = try #require(data.first { $0.Key.contains("/snapshots/") })
    let shorten = try s.server.aws([
      "s3api", "put-object-retention", "--bucket", s.bucket, "--key", sample.Key, "--version-id=\(sample.VersionId)",
      "--retention", "Mode=COMPLIANCE,RetainUntilDate=2020-01-01T00:00:00Z",
    ])
    #expect(shorten.status != 0, "shortened a COMPLIANCE lock")
    let governance = try s.server.aws([
      "s3api", "put-object-retention", "--bucket", s.bucket, "--key", sample.Key, "--version-id=\(sample.VersionId)",
      "--retention", "Mode=GOVERNANCE,RetainUntilDate=2020-01-01T00:00:00Z", "--bypass-governance-retention",
    ])
    #expect(governance.status != 0, "turned COMPLIANCE into GOVERNANCE")

    // Overwriting every key only adds versions: each original is still there, intact.
    let garbage = s.dir.sub("garbage")
    try FixtureTree.write(garbage, Array("encrypted by ransomware".utf8))
    for v in data {
      let r = try s.server.aws(["s3api", "put-object", "--bucket", s.bucket, "--key", v.Key, "--body", garbage])
      _ = r  // may succeed (a new version) or be refused; either way the old version must survive
    }
    let after = try Self.versions(s).Versions ?? []
    for v in data {
      #expect(after.contains { $0.Key == v.Key && $0.VersionId == v.VersionId }, "\(v.Key) version lost")
      guard v.Key.contains("/data/") || v.Key.contains("/snapshots/") || v.Key.contains("/index/") else { continue }
      let out = s.dir.sub("check-\(v.VersionId.hashValue)")
      let r = try s.server.aws(["s3api", "get-object", "--bucket", s.bucket, "--key", v.Key, "--version-id=\(v.VersionId)", out])
      #expect(r.status == 0)
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
      #expect(BackendConformance.contentName(bytes) == String(v.Key.split(separator: "/").last!), "\(v.Key) changed")
    }

    // Recovery after the attack: the attacker's versions are current now; restore the
    // originals by deleting the attacker's versions (they carry no lock), then restore.
    for v in after where !data.contains(where: { $0.VersionId == v.VersionId }) && !v.Key.contains("/locks/") {
      let r = try s.server.aws(["s3api", "delete-object", "--bucket", s.bucket, "--key", v.Key, "--version-id=\(v.VersionId)"])
      #expect(r.status == 0, "the attacker's unlocked version of \(v.Key) could not be removed: \(r.output)")
    }
    let reopened = try await Repository.open(backend: s.backend, password: Self.password)
    try await reopened.loadIndex()
    let target = s.dir.sub("restore")
    _ = try await Restorer(repository: reopened, options: RestoreOptions(target: target)).run(snapshot: result.snapshot)
    #expect(TreeComparison.differences(s.source, target + s.source) == [])
    let check = try await Checker(repository: reopened, options: CheckOptions(readData: .all)).run()
    #expect(check.isClean, "\(check.errors)")
  }

  @Test func initRefusesABucketWithoutObjectLock() async throws {
    let s = try Self.setup("nolock", objectLock: false)
    defer { s.dir.remove() }
    do {
      _ = try await Self.initialize(s)
      Issue.record("init succeeded on a bucket without Object Lock")
    } catch let e as LifeboatError {
      #expect(e.message.contains("Object Lock"))
      #expect(e.hint?.contains("object-lock-enabled-for-bucket") == true)
    }
    #expect(try await s.backend.exists(.config) == false, "nothing was written")
    #expect(try await s.backend.list(.key).isEmpty)
  }

  @Test func maintenanceExtendsLocksBeforeTheyRunOutAndCheckSeesTheGap() async throws {
    let s = try Self.setup("extend")
    defer { s.dir.remove() }
    let repo = try await Self.initialize(s, days: 2, mode: .governance)
    _ = try await Self.backup(repo, [s.source])

    let fresh = try ImmutabilityMaintenance(repository: repo)
    let first = try await fresh.inspect(extend: false)
    #expect(first.findings.isEmpty, "new objects are locked past the horizon: \(first.findings)")
    #expect(first.objects >= 8)

    // Thirty-six hours later the horizon (now + 2 d - 12 h) is past every lock.
    let later = ManualClock(Date().addingTimeInterval(36 * 3600))
    let reopened = try await Repository.open(backend: s.backend, password: Self.password, clock: later)
    let maintenance = try ImmutabilityMaintenance(repository: reopened)
    let stale = try await maintenance.inspect(extend: false)
    #expect(stale.findings.count == stale.objects)
    #expect(stale.findings.allSatisfy { $0.kind == "short" })

    let fixed = try await maintenance.inspect(extend: true)
    #expect(fixed.extended == fixed.objects)
    let again = try await maintenance.inspect(extend: false)
    #expect(again.findings.isEmpty)
    let until = try #require(again.earliestUntil)
    #expect(until >= later.now().addingTimeInterval(2 * 86_400 - 60))

    // An object that lost its lock (GOVERNANCE can be bypassed by an administrator) is found.
    let snapshot = try #require(try await s.backend.list(.snapshot).first)
    let key = "repo/snapshots/\(snapshot.name)"
    let r = try s.server.aws([
      "s3api", "put-object-retention", "--bucket", s.bucket, "--key", key,
      "--retention", "Mode=GOVERNANCE,RetainUntilDate=\(ISO8601DateFormatter().string(from: Date().addingTimeInterval(600)))",
      "--bypass-governance-retention",
    ])
    #expect(r.status == 0, "\(r.output)")
    let gap = try await ImmutabilityMaintenance(repository: repo).inspect(extend: false)
    #expect(gap.findings.map(\.object) == ["snapshots/\(snapshot.name)"])
  }

  @Test func removedObjectsStayUntilTheirLockEndsAndAreThenPurged() async throws {
    let s = try Self.setup("purge", seed: 11)
    defer { s.dir.remove() }
    // Locks that end 12 seconds from now: the repository's clock is a day behind.
    let lockEnd = Date().addingTimeInterval(12)
    let clock = ManualClock(lockEnd.addingTimeInterval(-86_400))
    let repo = try await Self.initialize(s, days: 1, mode: .compliance, clock: clock)
    let first = try await Self.backup(repo, [s.source])
    let snapshotName = first.snapshotID.hex

    // Forgetting hides the snapshot; its version stays, locked.
    try await repo.backend.remove(Handle(.snapshot, snapshotName))
    #expect(try await repo.listSnapshots().snapshots.isEmpty)
    let now = ManualClock(Date())
    let live = try await Repository.open(backend: s.backend, password: Self.password, clock: now)
    let early = try await ImmutabilityMaintenance(repository: live).purgeExpired()
    #expect(early.purgedVersions == 0, "nothing is purged while locked")
    #expect(early.waiting.contains { $0.key.hasSuffix(snapshotName) })
    #expect(try Self.versions(s).DeleteMarkers?.contains { $0.Key.hasSuffix(snapshotName) } == true)

    // After the lock ends the version and its delete marker go for good.
    let wait = lockEnd.timeIntervalSinceNow + 1.5
    if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    now.advance(Date().timeIntervalSince(now.now()))
    let late = try await ImmutabilityMaintenance(repository: live).purgeExpired()
    #expect(late.purgedVersions >= 1)
    #expect(late.deleteMarkersRemoved >= 1)
    let left = try Self.versions(s)
    #expect(!(left.Versions ?? []).contains { $0.Key.hasSuffix(snapshotName) })
    #expect(!(left.DeleteMarkers ?? []).contains { $0.Key.hasSuffix(snapshotName) })
    // Objects still in use were not touched.
    #expect(try await s.backend.exists(.config))
    #expect(try await s.backend.list(.pack).count > 0)
  }
}
