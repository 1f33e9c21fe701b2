// Database sources: what a plan names (`postgres:`, `mariadb:`, `sqlite:`) and the one place a
// database URL is taken apart. How each engine is dumped, counted and proven lives in
// LifeboatSources.

public import Foundation

/// A database a system's backup dumps, with the counts a drill proves it by.
public struct DatabaseSource: Sendable, Equatable {
  public enum Engine: String, Sendable, Equatable, CaseIterable, Codable {
    case postgres, mariadb, sqlite

    /// How people name it in messages.
    public var title: String {
      switch self {
      case .postgres: "PostgreSQL"
      case .mariadb: "MariaDB"
      case .sqlite: "SQLite"
      }
    }
    /// The URL scheme a plan writes (`postgres://`, `mariadb://`; `mysql://` is accepted for MariaDB).
    var schemes: [String] {
      switch self {
      case .postgres: ["postgres", "postgresql"]
      case .mariadb: ["mariadb", "mysql"]
      case .sqlite: []
      }
    }
    public var defaultPort: Int {
      switch self {
      case .postgres: 5432
      case .mariadb: 3306
      case .sqlite: 0
      }
    }
  }

  /// Where a server-based engine is reached: from `postgres://user@host:port/database`.
  public struct Connection: Sendable, Equatable {
    public var user: String?
    /// A host name or address; a path (starting with `/`) is a Unix socket directory
    /// (PostgreSQL) or socket file (MariaDB), given as `?host=/run/postgresql`.
    public var host: String
    public var port: Int
    /// The database the URL names; nil means every database on the server.
    public var database: String?

    /// `db1:5432` or the socket path: how messages and the counts file name the server.
    public var server: String { host.hasPrefix("/") ? host : "\(host):\(port)" }
  }

  public var engine: Engine
  /// The URL (PostgreSQL, MariaDB) or the database file's absolute path (SQLite).
  public var location: String
  /// The password, by reference; nil when the server needs none (peer or socket auth).
  public var password: SecretReference?
  /// Databases named by `databases:`; when empty, the URL's, or all of them.
  public var databases: [String]
  /// PostgreSQL only: dump roles and tablespaces (`pg_dumpall --globals-only`) beside the
  /// databases. Default true.
  public var globals: Bool
  /// The dump is stopped and the backup fails after this long.
  public var timeout: TimeInterval?

  public init(
    engine: Engine, location: String, password: SecretReference? = nil, databases: [String] = [], globals: Bool = true,
    timeout: TimeInterval? = nil
  ) {
    self.engine = engine
    self.location = location
    self.password = password
    self.databases = databases
    self.globals = globals
    self.timeout = timeout
  }

  /// The server behind a PostgreSQL or MariaDB URL, or why the URL is not one. Nil for SQLite.
  public func connection() throws -> Connection? {
    guard engine != .sqlite else { return nil }
    guard let c = URLComponents(string: location), let scheme = c.scheme?.lowercased(), engine.schemes.contains(scheme)
    else {
      throw PlanError(
        "'\(location)' is not a \(engine.title) URL",
        hint: "write \(engine.schemes[0])://USER@HOST:PORT/DATABASE (the password goes in password:, as a reference)")
    }
    if c.password != nil {
      throw PlanError(
        "the \(engine.title) URL carries a password",
        hint: "never put secrets in the plan: remove it from the URL and write password: \"env:NAME\" or \"file:/path\"")
    }
    let socket = c.queryItems?.first { $0.name == "host" }?.value
    guard let host = socket ?? c.host, !host.isEmpty else {
      throw PlanError("the \(engine.title) URL '\(location)' names no host", hint: "write \(engine.schemes[0])://USER@HOST:PORT/DATABASE")
    }
    let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
    if path.contains("/") {
      throw PlanError("'\(path)' is not a database name", hint: "the URL's path is one database: …/DATABASE")
    }
    return Connection(
      user: c.user.flatMap { $0.isEmpty ? nil : $0 }, host: host, port: c.port ?? engine.defaultPort,
      database: path.isEmpty ? nil : path)
  }

  /// How messages name this source: "PostgreSQL db1:5432/sis", "SQLite /srv/app/app.db".
  public var title: String {
    if engine == .sqlite { return "SQLite \(location)" }
    guard let c = try? connection() else { return "\(engine.title) \(location)" }
    let dbs = databases.isEmpty ? (c.database.map { [$0] } ?? []) : databases
    return "\(engine.title) \(c.server)/" + (dbs.isEmpty ? "*" : dbs.joined(separator: ","))
  }
}
