import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import LifeboatConsole
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatPlan
import LifeboatPolicy
import LifeboatRepository
import LifeboatServer
import LifeboatStorage
import LifeboatTesting
import Testing

/// Marks on a server's append-only repository (issue #20): a client may protect and flag, but
/// not lift; server retention keeps what is protected and the clean point after an attack; an
/// approved deletion refuses a protected snapshot; the provider lifts a protection through
/// four eyes.
@Suite struct ServerMarksTests {
  static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
  static let password = "acme files password"

  @Test func retentionAndApprovedDeletionsHonourMarksAndOnlyTheProviderLiftsThem() async throws {
    let f = try ServerFixture(
      retention: [ServerRetention(tenant: "acme", repository: "files", password: SecretReference("env:ACME_PW")!, policy: .init(keepLast: 1))],
      environment: ["ACME_PW": Self.password], clock: FixedClock(Self.t0.addingTimeInterval(86400)))
    defer { f.remove() }
    let backend = LocalBackend(path: f.console.repositoryDirectory(tenant: "acme", name: "files"))
    // Five real backups an hour apart (server maintenance prunes, so the trees must exist).
    let clock = ManualClock(Self.t0)
    let repo = try await Repository.initialize(
      backend: backend, password: Self.password, derivation: .scrypt(logN: 10, r: 8, p: 1), clock: clock)
    let src = f.dir.sub("src")
    var made: [ID] = []
    for i in 0..<5 {
      try FixtureTree.build(at: src + "/\(i)", seed: UInt64(i + 1), options: { var o = FixtureTree.Options(); o.files = 5; o.largeFiles = 0; o.specialFiles = false; return o }())
      let saver = BlobSaver(repository: repo)
      made.append(try await Archiver(repository: repo, saver: saver, options: BackupOptions(paths: [src], hostname: "fs1")).run().snapshotID)
      clock.advance(3600)
    }
    let s = made
    // The attack flagged s[3]; SystemRunner protected s[2], the clean point. s[0] is on hold.
    @Sendable func sealed(_ m: SnapshotMark) throws -> (String, [UInt8]) {
      let bytes = try MarkFormat.seal(m, keys: repo.keys)
      return (MarkName(snapshot: m.snapshot.hex, kind: m.kind, hash: StorageHash.id(bytes).hex).name, bytes)
    }
    let marks = [
      SnapshotMark(snapshot: s[3], kind: .suspicious, reason: "the new data does not compress", time: Self.t0, author: "agent@fs1"),
      SnapshotMark(snapshot: s[2], kind: .protect, reason: "the clean point before suspicious snapshot \(s[3].short)", time: Self.t0, author: "agent@fs1"),
      SnapshotMark(snapshot: s[0], kind: .protect, reason: "legal hold", time: Self.t0, author: "dana@fs1"),
    ]
    let release = try sealed(SnapshotMark(snapshot: s[0], kind: .release, reason: "done", time: Self.t0.addingTimeInterval(60), author: "dana@fs1"))

    try await f.app().test(.router) { client in
      // Through the append-only endpoint, as a backup token: protect and flag are stored,
      // a release is refused and nothing is stored.
      for m in marks {
        let (name, bytes) = try sealed(m)
        try await client.execute(uri: "/acme/files/marks/\(name)", method: .post, headers: f.headers("acme-backup"), body: ByteBuffer(bytes: bytes)) { r in
          #expect(r.status == .created, "\(m.kind): \(r.text)")
        }
      }
      try await client.execute(uri: "/acme/files/marks/\(release.0)", method: .post, headers: f.headers("acme-backup"), body: ByteBuffer(bytes: release.1)) { r in
        #expect(r.status == .forbidden && r.message.contains("not lift a protection"), "\(r.text)")
      }
      try await client.execute(uri: "/acme/files/marks/\(release.0)", method: .head, headers: f.headers("acme-backup")) { r in
        #expect(r.status == .notFound, "the release was not stored")
      }
      try await client.execute(uri: "/acme/files/marks/\(try sealed(marks[2]).0)", method: .delete, headers: f.headers("acme-backup")) { r in
        #expect(r.status == .forbidden, "nor can a mark be deleted")
      }

      // Server retention (keep the last one): the newest, the clean point and the hold stay.
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/maintenance", method: .post, headers: f.headers("admin")) { r in
        let body = r.json as? [String: Any]
        #expect(r.status == .ok, "\(r.text)")
        #expect(Set((body?["snapshotsRemoved"] as? [String]) ?? []) == [s[1].hex, s[3].hex], "\(r.text)")
        let notes = (body?["notes"] as? [String] ?? []).joined(separator: "\n")
        #expect(notes.contains("protected (legal hold)") && notes.contains("the clean point before suspicious snapshot"), "\(notes)")
      }
      #expect(Set(try await repo.listSnapshots().snapshots.map(\.id)) == [s[0], s[2], s[4]])

      // An approved deletion of a protected snapshot is refused whole; the snapshot stays.
      let request = try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/forget", method: .post,
        headers: f.headers("admin", [.contentType: "application/json"]),
        body: ByteBuffer(string: "{\"snapshots\": [\"\(s[4].hex)\", \"\(s[0].hex)\"], \"reason\": \"cleanup\"}")) { r in
        #expect(r.status == .accepted, "\(r.text)")
        return Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
      }
      try await client.execute(uri: "/api/v1/approvals/\(request)/approve", method: .post, headers: f.headers("admin2")) { r in
        let a = r.json as? [String: Any]
        #expect(a?["state"] as? String == "failed" && (a?["result"] as? String ?? "").contains("refusing to remove protected"), "\(r.text)")
      }
      #expect(Set(try await repo.listSnapshots().snapshots.map(\.id)) == [s[0], s[2], s[4]], "nothing was removed")

      // The provider lifts the hold through four eyes; then the deletion goes through.
      let lift = try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/unprotect", method: .post,
        headers: f.headers("admin", [.contentType: "application/json"]),
        body: ByteBuffer(string: "{\"snapshots\": [\"\(s[0].hex)\"], \"reason\": \"matter closed\"}")) { r in
        #expect(r.status == .accepted, "\(r.text)")
        return Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
      }
      try await client.execute(uri: "/api/v1/approvals/\(lift)/approve", method: .post, headers: f.headers("admin")) { r in
        #expect(r.status == .forbidden, "not by the requester")
      }
      try await client.execute(uri: "/api/v1/approvals/\(lift)/approve", method: .post, headers: f.headers("admin2")) { r in
        #expect((r.json as? [String: Any])?["state"] as? String == "executed", "\(r.text)")
      }
      let book = try await repo.loadMarks()
      #expect(book.protection(of: s[0], now: Self.t0.addingTimeInterval(86400)) == nil, "the hold is lifted")
      #expect(book.protection(of: s[2], now: Self.t0.addingTimeInterval(86400)) != nil, "the clean point is not")
      let again = try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/forget", method: .post,
        headers: f.headers("admin", [.contentType: "application/json"]),
        body: ByteBuffer(string: "{\"snapshots\": [\"\(s[0].hex)\"], \"reason\": \"cleanup\"}")) { r in
        Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
      }
      try await client.execute(uri: "/api/v1/approvals/\(again)/approve", method: .post, headers: f.headers("admin2")) { r in
        #expect((r.json as? [String: Any])?["state"] as? String == "executed", "\(r.text)")
      }
      #expect(Set(try await repo.listSnapshots().snapshots.map(\.id)) == [s[2], s[4]])
    }
    // Every step is in the tenant's audit chain.
    let events = try f.console.catalog("acme").auditEvents().map(\.kind)
    #expect(events.contains("server-maintenance"))
  }
}
