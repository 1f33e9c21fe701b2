// The counts file stored beside every dump (`databases/NAME.counts.json`): what a drill proves
// the restored database against. Format in docs/design.md (§ database sources).

public import Foundation
public import LifeboatPlan

/// One database's dump and the tables it must bring back.
public struct DatabaseManifest: Sendable, Codable, Equatable {
  public struct Table: Sendable, Codable, Equatable {
    /// Schema-qualified and quoted as the engine writes it (`public.students`, `finance.ledger`).
    public var name: String
    public var rows: Int64
    /// MariaDB's `CHECKSUM TABLE`; nil where the engine offers no cheap checksum.
    public var checksum: String?

    public init(name: String, rows: Int64, checksum: String? = nil) {
      self.name = name
      self.rows = rows
      self.checksum = checksum
    }
  }

  /// 1.
  public var version = 1
  public var engine: DatabaseSource.Engine
  /// `db1:5432`, a socket path, or the SQLite file's path.
  public var server: String
  public var database: String
  /// The dump's file name in the same folder.
  public var dump: String
  /// `pg_dump custom`, `mariadb-dump sql`, `sqlite database`.
  public var dumpFormat: String
  /// PostgreSQL only: the roles and tablespaces file in the same folder.
  public var globals: String?
  public var serverVersion: String?
  public var taken: Date
  /// Whether the counts and the dump saw the same data (PostgreSQL's exported snapshot, SQLite's
  /// copy); false for MariaDB, whose counts come from their own consistent snapshot just
  /// before the dump.
  public var consistent: Bool
  public var tables: [Table]

  public init(
    engine: DatabaseSource.Engine, server: String, database: String, dump: String, dumpFormat: String,
    serverVersion: String?, taken: Date, consistent: Bool, tables: [Table]
  ) {
    self.engine = engine
    self.server = server
    self.database = database
    self.dump = dump
    self.dumpFormat = dumpFormat
    self.serverVersion = serverVersion
    self.taken = taken
    self.consistent = consistent
    self.tables = tables
  }

  public var totalRows: Int64 { tables.reduce(0) { $0 + $1.rows } }

  public static let suffix = ".counts.json"
  /// The folder of the snapshot that holds dumps and counts.
  public static let folder = "databases"

  public func encoded() throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    e.dateEncodingStrategy = .iso8601
    return try e.encode(self)
  }

  public static func decode(_ data: Data) throws -> DatabaseManifest {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    let m = try d.decode(DatabaseManifest.self, from: data)
    guard m.version == 1 else { throw SourceError("counts file version \(m.version) is newer than this Lifeboat reads") }
    return m
  }
}
