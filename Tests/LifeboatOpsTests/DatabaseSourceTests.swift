import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatOps
import LifeboatPlan
import LifeboatRepository
import LifeboatSources
import LifeboatTesting
import Testing

/// Database sources against real servers (scripts/pg-server.sh and scripts/mariadb-server.sh,
/// started by `make test`) and a live SQLite file: a backup dumps and counts every table, a
/// drill restores the dump into a throwaway server of the same engine and counts again, and
/// a server that is down, a wrong password or a dump that stops half way fail the job and
/// store nothing. Not gated: a missing server is a failure (`require()` throws), never a skip.
@Suite struct PostgresSourceTests {
  @Test func aPostgresSourceIsDumpedCountedAndProvenByADrillWithoutAScript() async throws {
    let pg = try PostgresTestServer.require()
    let db = "sis_\(UInt32.random(in: 0...UInt32.max))"
    try pg.psql("postgres", "CREATE DATABASE \(db)")
    defer { try? pg.psql("postgres", "DROP DATABASE \(db)") }
    try pg.psql(
      db,
      """
      CREATE TABLE students (id serial PRIMARY KEY, name text NOT NULL, grade int);
      INSERT INTO students (name, grade) SELECT 'student ' || g, g % 12 + 1 FROM generate_series(1, 3000) g;
      CREATE SCHEMA finance;
      CREATE TABLE finance.ledger (id bigint, amount numeric(12,2));
      INSERT INTO finance.ledger SELECT g, g * 1.5 FROM generate_series(1, 777) g;
      CREATE TABLE "Report Cards" (student int, term text);
      INSERT INTO "Report Cards" SELECT g, 'fall' FROM generate_series(1, 42) g;
      CREATE TABLE empty_table (x int);
      """)
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let plan = try f.writePlan(
      """
        - name: Student Information System
          rto: 30m
          sources:
            - postgres: { url: "postgres://\(pg.user)@\(pg.host):\(pg.port)/\(db)" }
      """, repositories: ["onsite"])
    let context = try f.context(plan)
    let report = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(report.outcome == .success, "\(report.errors)")

    // The snapshot holds the dump, the globals and the counts, under databases/.
    let repo = try await f.open("onsite")
    let snap = try #require(try await repo.listSnapshots().snapshots.first)
    let target = f.dir.sub("restore")
    _ = try await Restorer(repository: repo, options: RestoreOptions(target: target)).run(snapshot: snap.snapshot)
    let base = target + "/databases/postgres-\(pg.host)-\(db)"
    #expect(FileManager.default.fileExists(atPath: base + ".dump"))
    #expect(FileManager.default.fileExists(atPath: target + "/databases/postgres-\(pg.host)-globals.sql"))
    let manifest = try DatabaseManifest.decode(try #require(FileManager.default.contents(atPath: base + ".counts.json")))
    #expect(manifest.consistent && manifest.database == db)
    #expect(
      manifest.tables.map { "\($0.name)=\($0.rows)" }
        == ["finance.ledger=777", "public.\"Report Cards\"=42", "public.empty_table=0", "public.students=3000"])

    // A drill with no script restores the dump into a throwaway cluster and counts again.
    let drill = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(drill.verdict == .passed, "\(drill.reasons)")
    let check = try #require(drill.checks.first)
    #expect(check.check == "PostgreSQL \(db): restore and count" && check.passed)
    #expect(check.detail == "4 tables, 3819 rows, as recorded at the backup")
    #expect(drill.phases["databases", default: 0] > 0)
    #expect(drill.recoverySeconds >= drill.phases["restore", default: 0] + drill.phases["databases", default: 0])
    // Nothing of the throwaway cluster is left behind.
    #expect(((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("lifeboat-pg-") }.isEmpty)
    #expect(((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []).filter { $0.hasPrefix("lifeboat-secrets-") }.isEmpty)

    // A snapshot whose dump lost rows the counts recorded: the drill fails and names the table.
    try pg.psql(db, "DELETE FROM students WHERE id > 2900")
    let shrunk = f.dir.sub("shrunk")
    try FileManager.default.createDirectory(atPath: shrunk, withIntermediateDirectories: true)
    try pg.run(pg.bin + "/pg_dump", ["-Fc", "-h", pg.host, "-p", pg.port, "-U", pg.user, "-f", shrunk + "/x.dump", db])
    try await backUpDatabasesFolder(
      repo, system: plan.systems[0], files: [
        (shrunk + "/x.dump", "postgres-\(pg.host)-\(db).dump"), (base + ".counts.json", "postgres-\(pg.host)-\(db).counts.json"),
      ])
    let failed = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(failed.verdict == .failed)
    #expect(failed.reasons.first?.contains("table public.students has 2900 rows, the backup recorded 3000") == true, "\(failed.reasons)")
  }

  @Test func aPostgresServerThatIsDownFailsTheJobNamesTheCauseAndStoresNothing() async throws {
    let pg = try PostgresTestServer.require()
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let closed = try closedPort()
    let plan = try f.writePlan(
      """
        - name: Down
          sources:
            - path: \(f.dir.path)
            - postgres: { url: "postgres://\(pg.user)@127.0.0.1:\(closed)/sis" }
      """, repositories: ["onsite"])
    let report = await SystemRunner(context: try f.context(plan), system: plan.systems[0]).run()
    #expect(report.outcome == .failed && report.snapshot == nil)
    let error = report.errors.joined()
    #expect(error.contains("PostgreSQL database sis at 127.0.0.1:\(closed) cannot be read"), "\(error)")
    #expect(error.contains("Connection refused") || error.contains("connection refused"), "\(error)")
    #expect(try await f.open("onsite").listSnapshots().snapshots.isEmpty)
  }
}

@Suite struct MariaDBSourceTests {
  @Test func aMariaDBSourceIsDumpedCountedChecksummedAndProvenByADrill() async throws {
    let my = try MariaDBTestServer.require()
    let db = "finance_\(UInt32.random(in: 0...UInt32.max))"
    let user = "backup_\(UInt32.random(in: 0...UInt32.max))"
    try my.sql(
      """
      CREATE DATABASE \(db);
      USE \(db);
      CREATE TABLE \(db).invoices (id INT PRIMARY KEY AUTO_INCREMENT, amount DECIMAL(10,2), note VARCHAR(40)) ENGINE=InnoDB;
      INSERT INTO \(db).invoices (amount, note) SELECT seq * 1.25, CONCAT('invoice ', seq) FROM seq_1_to_2500;
      CREATE TABLE \(db).vendors (id INT, name TEXT) ENGINE=InnoDB;
      INSERT INTO \(db).vendors SELECT seq, CONCAT('vendor ', seq) FROM seq_1_to_61;
      CREATE USER '\(user)'@'127.0.0.1' IDENTIFIED BY 'right password';
      GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \(db).* TO '\(user)'@'127.0.0.1';
      """)
    defer { try? my.sql("DROP DATABASE \(db); DROP USER '\(user)'@'127.0.0.1';") }
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let plan = try f.writePlan(
      """
        - name: Finance
          rto: 30m
          sources:
            - mariadb: { url: "mariadb://\(user)@127.0.0.1:\(my.port)/\(db)", password: "env:FIN_DB_PASS" }
      """, repositories: ["onsite"])
    var context = try f.context(plan)
    context.environment["FIN_DB_PASS"] = "right password"
    let report = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(report.outcome == .success, "\(report.errors)")

    let repo = try await f.open("onsite")
    let snap = try #require(try await repo.listSnapshots().snapshots.first)
    let target = f.dir.sub("restore")
    _ = try await Restorer(repository: repo, options: RestoreOptions(target: target)).run(snapshot: snap.snapshot)
    let manifest = try DatabaseManifest.decode(
      try #require(FileManager.default.contents(atPath: target + "/databases/mariadb-127.0.0.1-\(db).counts.json")))
    #expect(manifest.tables.map { "\($0.name)=\($0.rows)" } == ["invoices=2500", "vendors=61"])
    #expect(manifest.tables.allSatisfy { $0.checksum != nil })
    // The password is in no file of the snapshot.
    let dump = try String(contentsOfFile: target + "/databases/mariadb-127.0.0.1-\(db).sql", encoding: .utf8)
    #expect(dump.contains("CREATE DATABASE") && !dump.contains("right password"))

    let drill = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(drill.verdict == .passed, "\(drill.reasons)")
    #expect(drill.checks.first?.detail == "2 tables, 2561 rows, as recorded at the backup")
    #expect(((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("lifeboat-my-") }.isEmpty)

    // A wrong password: the job fails, says MariaDB refused, and stores nothing new.
    context.environment["FIN_DB_PASS"] = "wrong password"
    let refused = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(refused.outcome == .failed && refused.snapshot == nil)
    #expect(refused.errors.joined().contains("Access denied for user '\(user)'"), "\(refused.errors)")
    #expect(try await f.open("onsite").listSnapshots().snapshots.count == 1)

    // A dump that stops half way (a view over a table that is gone fails after the tables'
    // data was written): the job fails with mariadb-dump's words and stores nothing new.
    context.environment["FIN_DB_PASS"] = "right password"
    try my.sql("CREATE TABLE \(db).gone (x INT); CREATE VIEW \(db).broken AS SELECT x FROM \(db).gone; DROP TABLE \(db).gone;")
    let halfway = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(halfway.outcome == .failed && halfway.snapshot == nil)
    #expect(halfway.errors.joined().contains("failed (exit status 2)"), "\(halfway.errors)")
    #expect(halfway.errors.joined().contains("broken"), "\(halfway.errors)")
    #expect(try await f.open("onsite").listSnapshots().snapshots.count == 1)
  }
}

@Suite struct SQLiteSourceTests {
  @Test func aLiveSQLiteDatabaseIsCopiedConsistentlyCountedAndProven() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let dbPath = f.dir.sub("app.db")
    let made = try Subprocess.run(
      [
        "/usr/bin/sqlite3", dbPath,
        "PRAGMA journal_mode=WAL; CREATE TABLE pupils(id INTEGER PRIMARY KEY, name TEXT); "
          + "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1500) INSERT INTO pupils SELECT i, 'p' || i FROM n; "
          + "CREATE TABLE \"odd \"\"name\"(x); INSERT INTO \"odd \"\"name\" VALUES (1), (2);",
      ])
    #expect(made.status == 0, "\(made.output)")
    let plan = try f.writePlan(
      """
        - name: App
          sources:
            - sqlite: \(dbPath)
      """, repositories: ["onsite"])
    let context = try f.context(plan)
    let report = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(report.outcome == .success, "\(report.errors)")
    let drill = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(drill.verdict == .passed, "\(drill.reasons)")
    #expect(drill.checks.first?.check == "SQLite app.db: restore and count")
    #expect(drill.checks.first?.detail == "2 tables, 1502 rows, as recorded at the backup")

    // A file that is gone fails the backup with its path.
    try FileManager.default.removeItem(atPath: dbPath)
    let missing = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(missing.outcome == .failed)
    #expect(missing.errors.joined().contains("the SQLite database \(dbPath) does not exist"))
  }
}

/// Stores `files` under databases/ as a new snapshot of `system` (a dump that does not match
/// its counts, for the drill to catch).
func backUpDatabasesFolder(_ repo: Repository, system: ProtectedSystem, files: [(String, String)]) async throws {
  var options = BackupOptions(paths: [], hostname: Repository.Identity.current.hostname)
  options.system = system.snapshotSystem
  options.tags = ["plan"]
  options.commands = files.map { StdinSource(file: $0.0, filename: "databases/" + $0.1) }
  try await repo.loadIndex()
  let saver = BlobSaver(repository: repo)
  _ = try await Archiver(repository: repo, saver: saver, options: options).run()
}

/// A TCP port on 127.0.0.1 nothing listens on.
func closedPort() throws -> Int { LoopbackPort.free() }

struct MariaDBTestServer {
  var host: String
  var port: String
  var socket: String

  static let current: MariaDBTestServer? = {
    var values = ProcessInfo.processInfo.environment
    if values["LIFEBOAT_TEST_MARIADB_HOST"] == nil {
      let dir = values["LIFEBOAT_MARIADB_DIR"] ?? "/tmp/lifeboat-mariadb"
      for line in ((try? String(contentsOfFile: dir + "/env", encoding: .utf8)) ?? "").split(separator: "\n") {
        guard let eq = line.firstIndex(of: "=") else { continue }
        values[String(line[..<eq])] = String(line[line.index(after: eq)...])
      }
    }
    guard let h = values["LIFEBOAT_TEST_MARIADB_HOST"], let p = values["LIFEBOAT_TEST_MARIADB_PORT"],
      let s = values["LIFEBOAT_TEST_MARIADB_SOCKET"]
    else { return nil }
    return MariaDBTestServer(host: h, port: p, socket: s)
  }()

  struct Missing: Error, CustomStringConvertible {
    var description: String { "no MariaDB test server: run `scripts/mariadb-server.sh start` (make test does)" }
  }

  static func require() throws -> MariaDBTestServer {
    guard let c = current else { throw Missing() }
    return c
  }

  /// Runs SQL as root over the socket.
  func sql(_ text: String) throws {
    let r = try Subprocess.run(["/usr/bin/mariadb", "--no-defaults", "-S", socket, "-uroot", "-e", text])
    guard r.status == 0 else { throw Failed(description: "mariadb: \(r.output)") }
  }

  struct Failed: Error, CustomStringConvertible { var description: String }
}
