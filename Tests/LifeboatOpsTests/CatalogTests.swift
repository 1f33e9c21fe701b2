import Foundation
import LifeboatCatalog
import LifeboatTesting
import Testing

@Suite struct CatalogTests {
  @Test func jobsRoundTripNewestFirst() throws {
    let dir = TemporaryDirectory("lifeboat-catalog")
    defer { dir.remove() }
    let catalog = try Catalog(path: dir.sub("c.sqlite"))
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var a = JobRecord(kind: "backup", system: "SIS", repository: "onsite", started: t0)
    a.id = try catalog.start(a)
    a.ended = t0.addingTimeInterval(12)
    a.outcome = .partial
    a.bytes = 1234
    a.files = 7
    a.snapshot = "abc"
    a.warnings = ["/srv/x: permission denied"]
    try catalog.finish(a)
    var b = JobRecord(kind: "copy", system: "SIS", repository: "offsite", started: t0.addingTimeInterval(20))
    b.id = try catalog.start(b)
    let all = try catalog.jobs()
    #expect(all.count == 2 && all[0].kind == "copy" && all[0].outcome == .running)
    #expect(all[1] == a)
    #expect(try catalog.jobs(system: "SIS", kind: "backup") == [a])
    #expect(try catalog.markAbandoned(before: t0.addingTimeInterval(30)) == 1)
    #expect(try catalog.jobs(kind: "copy").first?.outcome == .interrupted)
    // Reopening migrates nothing twice and keeps everything.
    #expect(try Catalog(path: dir.sub("c.sqlite")).jobs().count == 2)
  }

  func sqlite(_ db: String, _ sql: String) throws -> (Int32, String) {
    try Subprocess.run(["sqlite3", db, sql])
  }

  func chain(_ dir: TemporaryDirectory, _ name: String) throws -> (Catalog, String) {
    let path = dir.sub(name)
    let catalog = try Catalog(path: path)
    for i in 0..<6 {
      try catalog.audit(
        kind: i % 2 == 0 ? "run" : "forget", subject: "system \(i)", details: ["outcome": "success", "n": "\(i)"],
        actor: "test", time: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)))
    }
    return (catalog, path)
  }

  @Test func theAuditChainIsIntactAndAppendOnly() throws {
    let dir = TemporaryDirectory("lifeboat-audit")
    defer { dir.remove() }
    let (catalog, path) = try chain(dir, "a.sqlite")
    let v = try catalog.verifyAudit()
    #expect(v.isIntact && v.events == 6 && v.head.count == 64)
    // The database itself refuses edits and deletes.
    let (status, out) = try sqlite(path, "UPDATE audit SET subject = 'x' WHERE seq = 2")
    #expect(status != 0 && out.contains("append-only"))
    #expect(try sqlite(path, "DELETE FROM audit WHERE seq = 2").0 != 0)
  }

  @Test func verifyCatchesEditedDeletedReorderedAndTruncatedEvents() throws {
    let dir = TemporaryDirectory("lifeboat-audit")
    defer { dir.remove() }
    let drop = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "

    let (edited, p1) = try chain(dir, "edited.sqlite")
    #expect(try sqlite(p1, drop + "UPDATE audit SET details = '{\"outcome\":\"failed\"}' WHERE seq = 3").0 == 0)
    let e = try edited.verifyAudit()
    #expect(!e.isIntact && e.problems.contains { $0.contains("event 3") && $0.contains("edited") }, "\(e.problems)")

    let (deleted, p2) = try chain(dir, "deleted.sqlite")
    #expect(try sqlite(p2, drop + "DELETE FROM audit WHERE seq = 4").0 == 0)
    let d = try deleted.verifyAudit()
    #expect(!d.isIntact && d.problems.contains { $0.contains("missing") }, "\(d.problems)")

    let (reordered, p3) = try chain(dir, "reordered.sqlite")
    #expect(try sqlite(p3, drop + "UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 100;").0 == 0)
    let r = try reordered.verifyAudit()
    #expect(!r.isIntact, "\(r.problems)")

    let (truncated, p4) = try chain(dir, "truncated.sqlite")
    let head = try truncated.verifyAudit().head
    #expect(try sqlite(p4, drop + "DELETE FROM audit WHERE seq = 6").0 == 0)
    let t = try truncated.verifyAudit()
    #expect(t.isIntact, "the chain alone cannot see a removed tail")
    let anchored = try truncated.verifyAudit(expectedHead: head)
    #expect(!anchored.isIntact && anchored.problems.contains { $0.contains("recorded head") })
  }
}
