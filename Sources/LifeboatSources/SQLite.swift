// SQLite: a consistent copy of a live database through SQLite's online backup API (writers go
// on; the copy is of one moment), counted from the copy itself; the drill opens the restored
// file, runs `PRAGMA integrity_check` and counts again. No server, nothing to install.

import Foundation
import GRDB
import LifeboatPlan

enum SQLiteSource {
  static func tables(_ db: Database) throws -> [DatabaseManifest.Table] {
    let names = try String.fetchAll(
      db, sql: "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return try names.map { name in
      let rows = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"") ?? 0
      return DatabaseManifest.Table(name: name, rows: rows)
    }
  }

  static func prepare(_ source: DatabaseSource, secrets: SecretFiles, now: Date, into prepared: inout PreparedDatabases) throws {
    let path = source.location
    guard FileManager.default.fileExists(atPath: path) else {
      throw SourceError("the SQLite database \(path) does not exist", hint: "check the sqlite: path in the plan")
    }
    let base = "sqlite-" + fileSafe(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
    let copyPath = secrets.path("\(prepared.count)-" + base + ".db")
    var manifest: DatabaseManifest
    do {
      var config = Configuration()
      config.readonly = true
      config.busyMode = .timeout(30)
      let live = try DatabaseQueue(path: path, configuration: config)
      let copy = try DatabaseQueue(path: copyPath)
      try live.backup(to: copy)
      let counted: [DatabaseManifest.Table] = try copy.read { db in try Self.tables(db) }
      let version: String? = try copy.read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") }
      try live.close()
      try copy.close()
      manifest = DatabaseManifest(
        engine: .sqlite, server: path, database: URL(fileURLWithPath: path).lastPathComponent, dump: base + ".db",
        dumpFormat: "sqlite database", serverVersion: version, taken: now, consistent: true, tables: counted)
    } catch let e as DatabaseError {
      throw SourceError("the SQLite database \(path) cannot be copied: \(e.message ?? "\(e.resultCode)")")
    }
    prepared.add(file: copyPath, as: manifest.dump)
    try prepared.add(manifest: manifest, secrets: secrets)
  }

  static func prove(_ manifest: DatabaseManifest, folder: String) throws -> [DatabaseManifest.Table] {
    var config = Configuration()
    config.readonly = true
    do {
      let db = try DatabaseQueue(path: folder + "/" + manifest.dump, configuration: config)
      defer { try? db.close() }
      return try db.read { db in
        let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        guard check == ["ok"] else {
          throw SourceError("the restored SQLite file fails its integrity check: \(check.prefix(3).joined(separator: "; "))")
        }
        return try tables(db)
      }
    } catch let e as DatabaseError {
      throw SourceError("the restored SQLite file \(manifest.dump) cannot be read: \(e.message ?? "\(e.resultCode)")")
    }
  }
}
