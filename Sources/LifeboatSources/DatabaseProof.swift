// The drill's proof of a database: for every counts file in the restored snapshot, restore the
// dump into a throwaway server of the same engine and compare every table's rows (and
// MariaDB's checksums) with what the backup recorded.

public import Foundation
import LifeboatCore
import LifeboatPlan

public enum DatabaseProof {
  /// One database's result.
  public struct Result: Sendable {
    public var title: String
    public var passed: Bool
    public var seconds: Double
    public var detail: String
  }

  /// The counts files under `restored/databases/`, sorted by name.
  public static func manifests(in restored: String) -> [(String, DatabaseManifest)] {
    let folder = restored + "/" + DatabaseManifest.folder
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasSuffix(DatabaseManifest.suffix) }.sorted()
    return names.compactMap { name in
      guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { return nil }
      return (try? DatabaseManifest.decode(data)).map { (name, $0) }
    }
  }

  /// Proves every database found in the restored snapshot. A counts file that cannot be read
  /// fails its database; no counts file at all gives no results.
  public static func run(restored: String, environment: [String: String]) -> [Result] {
    let folder = restored + "/" + DatabaseManifest.folder
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasSuffix(DatabaseManifest.suffix) }.sorted()
    return names.map { name in
      let t0 = Stopwatch()
      guard let data = FileManager.default.contents(atPath: folder + "/" + name), let manifest = try? DatabaseManifest.decode(data)
      else {
        return Result(title: "database counts \(name)", passed: false, seconds: t0.seconds, detail: "the counts file cannot be read")
      }
      let title = "\(manifest.engine.title) \(manifest.database): restore and count"
      do {
        let found: [DatabaseManifest.Table]
        switch manifest.engine {
        case .postgres: found = try Postgres.prove(manifest, folder: folder, environment: environment)
        case .mariadb: found = try MariaDB.prove(manifest, folder: folder)
        case .sqlite: found = try SQLiteSource.prove(manifest, folder: folder)
        }
        let problems = compare(expected: manifest.tables, found: found)
        let detail = problems.isEmpty
          ? "\(Plural.count(manifest.tables.count, "table")), \(Plural.count(Int(manifest.totalRows), "row")), as recorded at the backup"
          : problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? "; and \(problems.count - 5) more" : "")
        return Result(title: title, passed: problems.isEmpty, seconds: t0.seconds, detail: detail)
      } catch {
        return Result(title: title, passed: false, seconds: t0.seconds, detail: "\(error)")
      }
    }
  }

  /// What differs between the recorded tables and the restored ones, one line per table.
  public static func compare(expected: [DatabaseManifest.Table], found: [DatabaseManifest.Table]) -> [String] {
    let byName = Dictionary(found.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var problems: [String] = []
    for t in expected {
      guard let f = byName[t.name] else {
        problems.append("table \(t.name) is missing")
        continue
      }
      if f.rows != t.rows {
        problems.append("table \(t.name) has \(Plural.count(Int(f.rows), "row")), the backup recorded \(t.rows)")
      } else if let a = t.checksum, let b = f.checksum, a != b {
        problems.append("table \(t.name) has checksum \(b), the backup recorded \(a)")
      }
    }
    return problems
  }
}
