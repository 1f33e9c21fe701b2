// PostgreSQL: `pg_dump` custom format per database inside an exported snapshot, the globals
// (`pg_dumpall --globals-only`), and the drill's throwaway cluster.

import Foundation
import LifeboatPlan

enum Postgres {
  /// The newest installed server's tools (Debian: /usr/lib/postgresql/N/bin), so pg_dump is at
  /// least as new as the server; `LIFEBOAT_PG_BIN` overrides.
  static func tool(_ name: String, environment: [String: String]) throws -> String {
    var dirs: [String] = []
    if let bin = environment["LIFEBOAT_PG_BIN"] { dirs.append(bin) }
    let root = "/usr/lib/postgresql"
    let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
      .compactMap(Int.init).sorted(by: >)
    dirs += versions.map { "\(root)/\($0)/bin" }
    guard let path = ToolRunner.locate(name, in: dirs) else {
      throw SourceError("\(name) is not installed", hint: "install PostgreSQL's client tools: apt-get install postgresql-client")
    }
    return path
  }

  /// The libpq environment for a connection: never the password itself, a PGPASSFILE.
  static func environment(
    _ c: DatabaseSource.Connection, database: String, password: String?, secrets: SecretFiles, tag: String
  ) throws -> [String: String] {
    var env = ["PGHOST": c.host, "PGPORT": String(c.port), "PGDATABASE": database, "PGCONNECT_TIMEOUT": "20",
      "PGAPPNAME": "lifeboat"]
    if let u = c.user { env["PGUSER"] = u }
    if let password {
      let escaped = password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
      env["PGPASSFILE"] = try secrets.write("pgpass-\(tag)", "*:*:*:*:\(escaped)\n")
    } else {
      env["PGPASSFILE"] = "/dev/null"
    }
    return env
  }

  /// Tables as `schema.table` (quoted where needed), in the same order everywhere.
  static let listTables = """
    SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1;
    """

  /// One query that counts every table: lines of `rows|name`.
  static func countQuery(_ tables: [String]) -> String {
    tables.map { "SELECT count(*), '\($0.replacingOccurrences(of: "'", with: "''"))' FROM \($0)" }
      .joined(separator: " UNION ALL ") + ";"
  }

  static func parseCounts(_ lines: [String]) throws -> [DatabaseManifest.Table] {
    try lines.filter { !$0.isEmpty }.map { line in
      guard let bar = line.firstIndex(of: "|"), let rows = Int64(line[..<bar]) else {
        throw SourceError("unexpected answer from PostgreSQL while counting rows: \(line.prefix(80))")
      }
      return DatabaseManifest.Table(name: String(line[line.index(after: bar)...]), rows: rows)
    }.sorted { $0.name < $1.name }
  }

  /// Opens one session per database, exports its snapshot and counts its tables; the dumps
  /// run later, as the backup reads them.
  static func prepare(
    _ source: DatabaseSource, environment: [String: String], secrets: SecretFiles, now: Date, into prepared: inout PreparedDatabases
  ) throws {
    guard let c = try source.connection() else { return }
    let password = try source.password?.resolve(environment: environment)
    let psql = try tool("psql", environment: environment)
    let pgDump = try tool("pg_dump", environment: environment)
    let host = fileSafe(c.host.hasPrefix("/") ? "local" : c.host)
    var names = source.databases
    if names.isEmpty, let one = c.database { names = [one] }
    if names.isEmpty {
      let env = try Self.environment(c, database: "postgres", password: password, secrets: secrets, tag: "list-\(prepared.count)")
      let lister = try PsqlSession(psql: psql, environment: env)
      defer { lister.close() }
      do {
        names = try lister.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1;")
          .filter { !$0.isEmpty }
      } catch let e as SourceError {
        throw SourceError("PostgreSQL at \(c.server) cannot be read: \(e.message)", hint: e.hint)
      }
    }
    for name in names {
      let tag = "\(prepared.count)"
      let env = try Self.environment(c, database: name, password: password, secrets: secrets, tag: tag)
      let session = try PsqlSession(psql: psql, environment: env)
      prepared.sessions.append(session)
      let snapshot: String
      let version: String?
      var tables: [DatabaseManifest.Table] = []
      do {
        version = try session.query("SHOW server_version;").first
        guard let id = try session.query(
          "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot();"
        ).first(where: { !$0.isEmpty }) else { throw SourceError("PostgreSQL exported no snapshot") }
        snapshot = id
        let names = try session.query(listTables).filter { !$0.isEmpty }
        if !names.isEmpty { tables = try parseCounts(try session.query(countQuery(names))) }
      } catch let e as SourceError {
        throw SourceError("PostgreSQL database \(name) at \(c.server) cannot be read: \(e.message)", hint: e.hint)
      }
      let base = "postgres-\(host)-\(fileSafe(name))"
      var manifest = DatabaseManifest(
        engine: .postgres, server: c.server, database: name, dump: base + ".dump", dumpFormat: "pg_dump custom",
        serverVersion: version, taken: now, consistent: true, tables: tables)
      if source.globals { manifest.globals = "postgres-\(host)-globals.sql" }
      let command = "exec \(shellQuoted(pgDump)) --format=custom --no-sync --snapshot=\(shellQuoted(snapshot))"
      prepared.add(command: command, as: manifest.dump, environment: env, timeout: source.timeout)
      try prepared.add(manifest: manifest, secrets: secrets)
    }
    if source.globals, let first = names.first {
      let dumpall = try tool("pg_dumpall", environment: environment)
      let env = try Self.environment(c, database: first, password: password, secrets: secrets, tag: "globals-\(prepared.count)")
      prepared.add(
        command: "exec \(shellQuoted(dumpall)) --globals-only --no-role-passwords -l \(shellQuoted(first))",
        as: "postgres-\(host)-globals.sql", environment: env, timeout: source.timeout)
    }
  }

  // MARK: - The drill's throwaway cluster

  /// Restores a dump into a new cluster in a private folder and counts its tables.
  static func prove(_ manifest: DatabaseManifest, folder: String, environment: [String: String]) throws -> [DatabaseManifest.Table] {
    let initdb = try tool("initdb", environment: environment)
    let pgCtl = try tool("pg_ctl", environment: environment)
    let psql = try tool("psql", environment: environment)
    let pgRestore = try tool("pg_restore", environment: environment)
    let home = try privateFolder("lifeboat-pg")
    defer { try? FileManager.default.removeItem(atPath: home) }
    // initdb refuses to run as root: the cluster belongs to the postgres user then.
    let owner: String? = ToolRunner.isRoot ? "postgres" : nil
    if owner != nil { _ = try ToolRunner.run("/bin/chown", ["postgres:", home]) }
    let data = home + "/data"
    let made = try ToolRunner.run(
      initdb, ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"], timeout: 120, asUser: owner)
    guard made.succeeded else { throw SourceError("initdb failed for the throwaway cluster: \(made.complaint)") }
    let options = "-c listen_addresses='' -k \(home) -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    let started = try ToolRunner.run(
      pgCtl, ["-D", data, "-l", home + "/server.log", "-w", "-t", "60", "-o", options, "start"], timeout: 90, asUser: owner)
    guard started.succeeded else {
      let log = (try? String(contentsOfFile: home + "/server.log", encoding: .utf8)) ?? ""
      throw SourceError("the throwaway PostgreSQL did not start: \(started.complaint) \(log.suffix(300))")
    }
    defer { _ = try? ToolRunner.run(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"], timeout: 60, asUser: owner) }
    let env = ["PGHOST": home, "PGUSER": "postgres", "PGPASSFILE": "/dev/null", "PGDATABASE": "postgres"]
    if let globals = manifest.globals, FileManager.default.fileExists(atPath: folder + "/" + globals) {
      // Roles and tablespaces first; ones that exist already (postgres) are expected errors.
      _ = try ToolRunner.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=0"], environment: env, input: .file(folder + "/" + globals))
    }
    let quoted = "\"" + manifest.database.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    let created = try ToolRunner.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(quoted)"], environment: env)
    guard created.succeeded else { throw SourceError("cannot create database \(manifest.database) in the throwaway cluster: \(created.complaint)") }
    var dbEnv = env
    dbEnv["PGDATABASE"] = manifest.database
    let restored = try ToolRunner.run(
      pgRestore, ["--no-owner", "--no-acl", "--exit-on-error", "-d", manifest.database],
      environment: dbEnv, input: .file(folder + "/" + manifest.dump), timeout: 24 * 3600)
    guard restored.succeeded else {
      throw SourceError("pg_restore of \(manifest.dump) failed: \(restored.complaint)")
    }
    let session = try PsqlSession(psql: psql, environment: dbEnv)
    defer { session.close() }
    let names = try session.query(listTables).filter { !$0.isEmpty }
    return names.isEmpty ? [] : try parseCounts(try session.query(countQuery(names)))
  }
}

/// `text` in single quotes for /bin/sh.
func shellQuoted(_ text: String) -> String {
  "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
