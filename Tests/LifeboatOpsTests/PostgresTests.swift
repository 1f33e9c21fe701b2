import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatOps
import LifeboatPlan
import LifeboatRepository
import LifeboatTesting
import Testing

/// A real PostgreSQL (scripts/pg-server.sh, started by `make test`): a database is dumped
/// through `pg_dump` straight into a backup, restored from the snapshot into a fresh database,
/// and the rows are counted.
@Suite(.enabled(if: PostgresTestServer.shouldRun)) struct PostgresTests {
  @Test func pgDumpStreamsIntoABackupAndRestoresIntoAFreshDatabase() async throws {
    let pg = try PostgresTestServer.require()
    let db = "sis_\(UInt32.random(in: 0...UInt32.max))"
    try pg.psql("postgres", "CREATE DATABASE \(db)")
    try pg.psql(
      db,
      """
      CREATE TABLE students (id serial PRIMARY KEY, name text NOT NULL, grade int);
      INSERT INTO students (name, grade) SELECT 'student ' || g, g % 12 + 1 FROM generate_series(1, 5000) g;
      CREATE TABLE attendance (student int REFERENCES students(id), day date, present bool);
      INSERT INTO attendance SELECT (g % 5000) + 1, date '2026-09-01' + (g % 60), g % 7 <> 0 FROM generate_series(1, 20000) g;
      """)
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let plan = try f.writePlan(
      """
        - name: Student Information System
          sources:
            - command: "\(pg.bin)/pg_dump --format=custom -h \(pg.host) -p \(pg.port) -U \(pg.user) \(db)"
              as: sis.dump
              timeout: 5m
      """, repositories: ["onsite"])
    let report = await SystemRunner(context: try f.context(plan), system: plan.systems[0]).run()
    #expect(report.outcome == .success, "\(report.errors)")

    // Restore the dump file and load it into a new database.
    let repo = try await f.open("onsite")
    let snap = try #require(try await repo.listSnapshots().snapshots.first)
    let target = f.dir.sub("restore")
    _ = try await Restorer(repository: repo, options: RestoreOptions(target: target)).run(snapshot: snap.snapshot)
    let restoredDB = db + "_restored"
    try pg.psql("postgres", "CREATE DATABASE \(restoredDB)")
    try pg.run(pg.bin + "/pg_restore", ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", restoredDB, target + "/sis.dump"])
    #expect(try pg.query(restoredDB, "SELECT count(*) FROM students") == "5000")
    #expect(try pg.query(restoredDB, "SELECT count(*) FROM attendance") == "20000")
    #expect(try pg.query(restoredDB, "SELECT sum(grade) FROM students") == pg.query(db, "SELECT sum(grade) FROM students"))

    // A dump of a database that does not exist fails the job and stores nothing.
    let broken = try f.writePlan(
      """
        - name: Broken
          sources:
            - command: "\(pg.bin)/pg_dump --format=custom -h \(pg.host) -p \(pg.port) -U \(pg.user) no_such_db_\(db)"
              as: x.dump
      """, repositories: ["onsite"])
    let failed = await SystemRunner(context: try f.context(broken), system: broken.systems[0]).run()
    #expect(failed.outcome == .failed && failed.snapshot == nil)
    #expect(try await f.open("onsite").listSnapshots().snapshots.count == 1)
    try? pg.psql("postgres", "DROP DATABASE \(db)")
    try? pg.psql("postgres", "DROP DATABASE \(restoredDB)")
  }
}

struct PostgresTestServer {
  var host: String
  var port: String
  var user: String
  var bin: String

  static let current: PostgresTestServer? = {
    var values = ProcessInfo.processInfo.environment
    if values["LIFEBOAT_TEST_PG_HOST"] == nil {
      let dir = values["LIFEBOAT_PG_DIR"] ?? "/tmp/lifeboat-pg"
      for line in ((try? String(contentsOfFile: dir + "/env", encoding: .utf8)) ?? "").split(separator: "\n") {
        guard let eq = line.firstIndex(of: "=") else { continue }
        values[String(line[..<eq])] = String(line[line.index(after: eq)...])
      }
    }
    guard let h = values["LIFEBOAT_TEST_PG_HOST"], let p = values["LIFEBOAT_TEST_PG_PORT"],
      let u = values["LIFEBOAT_TEST_PG_USER"], let b = values["LIFEBOAT_TEST_PG_BIN"]
    else { return nil }
    return PostgresTestServer(host: h, port: p, user: u, bin: b)
  }()

  static var shouldRun: Bool { current != nil || ProcessInfo.processInfo.environment["CI"] != nil }

  struct Missing: Error, CustomStringConvertible {
    var description: String { "no PostgreSQL test server: run `scripts/pg-server.sh start` (make test does)" }
  }

  static func require() throws -> PostgresTestServer {
    guard let c = current else { throw Missing() }
    return c
  }

  struct Failed: Error, CustomStringConvertible {
    var description: String
  }

  @discardableResult
  func run(_ tool: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      throw Failed(description: "\(tool) failed: \(String(decoding: e, as: UTF8.self))")
    }
    return String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func psql(_ db: String, _ sql: String) throws {
    try run(bin + "/psql", ["-h", host, "-p", port, "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
  }

  func query(_ db: String, _ sql: String) throws -> String {
    try run(bin + "/psql", ["-h", host, "-p", port, "-U", user, "-d", db, "-tA", "-c", sql])
  }
}

/// The drill check that matters for a database: the restored dump loads into a fresh
/// database on a real server and the row counts match.
@Suite(.enabled(if: PostgresTestServer.shouldRun)) struct PostgresDrillTests {
  @Test func aDrillRestoresTheDumpIntoAFreshDatabaseAndCountsRows() async throws {
    let pg = try PostgresTestServer.require()
    let db = "drill_\(UInt32.random(in: 0...UInt32.max))"
    try pg.psql("postgres", "CREATE DATABASE \(db)")
    try pg.psql(db, "CREATE TABLE students (id int); INSERT INTO students SELECT generate_series(1, 4321);")
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let conn = "-h \(pg.host) -p \(pg.port) -U \(pg.user)"
    let check =
      "set -e; \(pg.bin)/psql \(conn) -d postgres -qc 'DROP DATABASE IF EXISTS \(db)_check'; "
      + "\(pg.bin)/psql \(conn) -d postgres -qc 'CREATE DATABASE \(db)_check'; "
      + "\(pg.bin)/pg_restore \(conn) -d \(db)_check {restored}/sis.dump; "
      + "test \"$(\(pg.bin)/psql \(conn) -d \(db)_check -tAc 'SELECT count(*) FROM students')\" = 4321"
    let plan = try f.writePlan(
      """
        - name: SIS
          rto: 10m
          sources:
            - command: "\(pg.bin)/pg_dump --format=custom \(conn) \(db)"
              as: sis.dump
          drill:
            checks:
              - '\(check.replacingOccurrences(of: "'", with: "''"))'
      """, repositories: ["onsite"])
    let context = try f.context(plan)
    #expect(await SystemRunner(context: context, system: plan.systems[0]).run().outcome == .success)
    let report = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(report.verdict == .passed, "\(report.reasons) \(report.checks.map(\.detail))")
    #expect(try pg.query(db + "_check", "SELECT count(*) FROM students") == "4321")

    // The same check fails when the data is gone: the drill notices.
    try pg.psql(db, "TRUNCATE students")
    #expect(await SystemRunner(context: context, system: plan.systems[0]).run().outcome == .success)
    let empty = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(empty.verdict == .failed, "\(empty.reasons)")
    try? pg.psql("postgres", "DROP DATABASE \(db)")
    try? pg.psql("postgres", "DROP DATABASE \(db)_check")
  }
}
