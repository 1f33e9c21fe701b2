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

/// A catalog written by the version before typed facts: migration `v2-typed-facts` lifts the
/// drill verdicts, recovery times and ransomware flags out of `details`, once.
@Suite struct CatalogMigrationTests {
  @Test func aVersionOneCatalogGainsTypedFacts() throws {
    let dir = TemporaryDirectory("lifeboat-catalog-v1")
    defer { dir.remove() }
    let path = dir.sub("old.sqlite")
    let schema = """
      CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
      INSERT INTO grdb_migrations VALUES ('v1');
      CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, system TEXT NOT NULL, repository TEXT,
        started REAL NOT NULL, ended REAL, outcome TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,
        files INTEGER NOT NULL DEFAULT 0, snapshot TEXT, errors TEXT NOT NULL DEFAULT '[]',
        warnings TEXT NOT NULL DEFAULT '[]', details TEXT);
      CREATE INDEX jobs_system_kind ON jobs(system, kind, started);
      CREATE TABLE audit (seq INTEGER PRIMARY KEY, time REAL NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
        subject TEXT NOT NULL, details TEXT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL);
      INSERT INTO jobs (kind, system, started, ended, outcome, details) VALUES
        ('drill', 'SIS', 1800000000, 1800000600, 'success', '{"verdict":"passed-over-rto","recoverySeconds":5400.5}'),
        ('drill', 'SIS', 1800001000, 1800001600, 'failed', '{"verdict":"failed","recoverySeconds":0}'),
        ('backup', 'SIS', 1800002000, 1800002100, 'success', '{"suspicious":true,"reasons":["ransom note"]}'),
        ('backup', 'SIS', 1800003000, 1800003100, 'success', '{"suspicious":false}'),
        ('backup', 'SIS', 1800004000, 1800004100, 'success', 'not json');
      """
    let r = try Subprocess.run(["sqlite3", path, schema])
    #expect(r.status == 0, "\(r.output)")
    let catalog = try Catalog(path: path)
    let drills = try catalog.jobs(kind: "drill").sorted { $0.started < $1.started }
    #expect(drills.map(\.verdict) == [.passedOverRTO, .failed])
    #expect(drills[0].recoverySeconds == 5400.5)
    let backups = try catalog.jobs(kind: "backup").sorted { $0.started < $1.started }
    #expect(backups.map(\.suspicious) == [true, false, false], "text that is not JSON lifts nothing")
    // Opening again migrates nothing twice.
    #expect(try Catalog(path: path).jobs().count == 5)
  }
}
