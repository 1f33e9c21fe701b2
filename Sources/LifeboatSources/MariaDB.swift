// MariaDB and MySQL: `mariadb-dump --single-transaction` per database, the tables counted and
// checksummed (CHECKSUM TABLE) in a consistent snapshot just before, and the drill's throwaway
// server (mariadb-install-db + mariadbd on a Unix socket only).

import Foundation
import LifeboatPlan

enum MariaDB {
  static let systemSchemas: Set<String> = ["information_schema", "performance_schema", "mysql", "sys"]

  static func tool(_ names: [String]) throws -> String {
    for name in names {
      if let path = ToolRunner.locate(name, in: ["/usr/bin", "/usr/sbin", "/usr/local/bin"]) { return path }
    }
    throw SourceError("\(names[0]) is not installed", hint: "install MariaDB's client tools: apt-get install mariadb-client")
  }

  /// An option file with the connection and the password (0600, in the private folder): the
  /// password never appears in an argument or the environment.
  static func optionFile(_ c: DatabaseSource.Connection, password: String?, secrets: SecretFiles, tag: String) throws -> String {
    func value(_ s: String) -> String {
      "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    var lines = ["[client]"]
    if let u = c.user { lines.append("user=\(value(u))") }
    if let password { lines.append("password=\(value(password))") }
    if c.host.hasPrefix("/") { lines.append("socket=\(value(c.host))") } else {
      lines.append("host=\(value(c.host))")
      lines.append("port=\(c.port)")
      lines.append("protocol=TCP")
    }
    return try secrets.write("my-\(tag).cnf", lines.joined(separator: "\n") + "\n")
  }

  /// Backquoted identifier.
  static func quoted(_ name: String) -> String { "`" + name.replacingOccurrences(of: "`", with: "``") + "`" }

  /// The tables of the current database, then their counts and checksums in one consistent snapshot.
  static func countScript(_ tables: [String]) -> String {
    var sql = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;\n"
    sql += tables.map { "SELECT COUNT(*), '\($0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))' FROM \(quoted($0));" }
      .joined(separator: "\n")
    sql += "\nCHECKSUM TABLE " + tables.map(quoted).joined(separator: ", ") + ";\nCOMMIT;\n"
    return sql
  }

  /// Parses `rows\tname` lines, then `db.table\tchecksum` lines.
  static func parseCounts(_ text: String, database: String) throws -> [DatabaseManifest.Table] {
    var rows: [String: Int64] = [:]
    var sums: [String: String] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { continue }
      if let n = Int64(parts[0]) {
        rows[parts[1]] = n
      } else if parts[0].hasPrefix(database + ".") {
        sums[String(parts[0].dropFirst(database.count + 1))] = parts[1]
      }
    }
    return rows.map { DatabaseManifest.Table(name: $0.key, rows: $0.value, checksum: sums[$0.key].flatMap { $0 == "NULL" ? nil : $0 }) }
      .sorted { $0.name < $1.name }
  }

  static func client(_ optionFile: String?, _ extra: [String]) -> [String] {
    (optionFile.map { ["--defaults-extra-file=\($0)"] } ?? ["--no-defaults"]) + ["--batch", "--skip-column-names", "--connect-timeout=20"] + extra
  }

  static func counts(
    _ mariadb: String, options: [String], database: String, failure: (String) -> SourceError
  ) throws -> [DatabaseManifest.Table] {
    let list = try ToolRunner.run(
      mariadb, options + ["--database=\(database)", "-e",
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"])
    guard list.succeeded else { throw failure(list.complaint) }
    let tables = list.out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    guard !tables.isEmpty else { return [] }
    let counted = try ToolRunner.run(mariadb, options + ["--database=\(database)"], input: .text(countScript(tables)))
    guard counted.succeeded else { throw failure(counted.complaint) }
    return try parseCounts(counted.out, database: database)
  }

  static func prepare(
    _ source: DatabaseSource, environment: [String: String], secrets: SecretFiles, now: Date, into prepared: inout PreparedDatabases
  ) throws {
    guard let c = try source.connection() else { return }
    let password = try source.password?.resolve(environment: environment)
    let mariadb = try tool(["mariadb", "mysql"])
    let dump = try tool(["mariadb-dump", "mysqldump"])
    let options = try optionFile(c, password: password, secrets: secrets, tag: "\(prepared.count)")
    let args = client(options, [])
    func failure(_ said: String) -> SourceError {
      SourceError("MariaDB at \(c.server) cannot be read: \(said)")
    }
    let version = try ToolRunner.run(mariadb, args + ["-e", "SELECT VERSION()"])
    guard version.succeeded else { throw failure(version.complaint) }
    var names = source.databases
    if names.isEmpty, let one = c.database { names = [one] }
    if names.isEmpty {
      let listed = try ToolRunner.run(mariadb, args + ["-e", "SHOW DATABASES"])
      guard listed.succeeded else { throw failure(listed.complaint) }
      names = listed.out.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !systemSchemas.contains($0) }
    }
    let host = fileSafe(c.host.hasPrefix("/") ? "local" : c.host)
    for name in names {
      let tables = try counts(mariadb, options: args, database: name) {
        SourceError("MariaDB database \(name) at \(c.server) cannot be read: \($0)")
      }
      let base = "mariadb-\(host)-\(fileSafe(name))"
      let manifest = DatabaseManifest(
        engine: .mariadb, server: c.server, database: name, dump: base + ".sql", dumpFormat: "mariadb-dump sql",
        serverVersion: version.out.trimmingCharacters(in: .whitespacesAndNewlines), taken: now, consistent: false, tables: tables)
      let command = "exec \(shellQuoted(dump)) --defaults-extra-file=\(shellQuoted(options)) --single-transaction --quick "
        + "--routines --triggers --hex-blob --databases \(shellQuoted(name))"
      prepared.add(command: command, as: manifest.dump, environment: [:], timeout: source.timeout)
      try prepared.add(manifest: manifest, secrets: secrets)
    }
  }

  // MARK: - The drill's throwaway server

  static func prove(_ manifest: DatabaseManifest, folder: String) throws -> [DatabaseManifest.Table] {
    let install = try tool(["mariadb-install-db", "mysql_install_db"])
    let server = try tool(["mariadbd", "mysqld"])
    let mariadb = try tool(["mariadb", "mysql"])
    let home = try privateFolder("lifeboat-my")
    defer { try? FileManager.default.removeItem(atPath: home) }
    let user = ToolRunner.isRoot ? ["--user=root"] : []
    let data = home + "/data"
    let socket = home + "/sock"
    let made = try ToolRunner.run(
      install, ["--no-defaults", "--datadir=\(data)", "--auth-root-authentication-method=normal", "--skip-test-db"] + user,
      timeout: 180)
    guard made.succeeded else { throw SourceError("mariadb-install-db failed for the throwaway server: \(made.complaint)") }
    let pid = try ToolRunner.spawn([server,
      "--no-defaults", "--datadir=\(data)", "--socket=\(socket)", "--skip-networking", "--pid-file=\(home)/pid",
      "--skip-grant-tables", "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0",
      "--log-error=\(home)/error.log",
    ] + user, environment: [:], stdin: "/dev/null", stdout: "/dev/null", stderr: "/dev/null")
    defer {
      kill(pid, SIGTERM)
      _ = ToolRunner.wait(pid)
    }
    let args = client(nil, ["--socket=\(socket)", "--user=root"])
    var ready = false
    for _ in 0..<600 where kill(pid, 0) == 0 {
      if FileManager.default.fileExists(atPath: socket), (try? ToolRunner.run(mariadb, args + ["-e", "SELECT 1"]))?.succeeded == true {
        ready = true
        break
      }
      usleep(100_000)
    }
    guard ready else {
      let log = (try? String(contentsOfFile: home + "/error.log", encoding: .utf8)) ?? ""
      throw SourceError("the throwaway MariaDB did not start: \(log.suffix(300))")
    }
    let restored = try ToolRunner.run(mariadb, args, input: .file(folder + "/" + manifest.dump), timeout: 24 * 3600)
    guard restored.succeeded else { throw SourceError("restoring \(manifest.dump) failed: \(restored.complaint)") }
    return try counts(mariadb, options: args, database: manifest.database) {
      SourceError("counting the restored database \(manifest.database) failed: \($0)")
    }
  }
}
