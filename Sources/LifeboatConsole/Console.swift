// LifeboatConsole — the state of a provider's server: client organizations (tenants), the people
// and agents who may act on them (principals, each with a hashed API token), dashboard sessions,
// the repositories the server stores, four-eyes approvals, and the server's own hash-chained
// audit log. SQLite through GRDB; no HTTP here (the Hummingbird app is LifeboatServer).
//
// Layout of a server's data directory:
//   console.sqlite                      this store (schema in docs/server.md)
//   audit.sqlite                        the server's audit chain (a LifeboatCatalog)
//   tenants/<tenant>/plan.yaml          the tenant's plan, as uploaded
//   tenants/<tenant>/catalog.sqlite     runs and drills its agents reported, and its audit chain
//   tenants/<tenant>/repos/<name>/      repositories the server stores (append-only for clients)
//   tenants/<tenant>/quarantine/        what server-side deletion moved aside, purged after N days

public import Foundation
public import LifeboatCatalog
public import LifeboatCore
import Crypto
import GRDB
import Synchronization

/// What a principal may do. `backup` is the scope of an agent's token: it may add objects to
/// its tenant's repositories and report runs, nothing else.
public enum Role: String, Codable, Sendable, CaseIterable {
  case admin, `operator`, auditor, backup
}

/// A person or an agent, with one API token.
public struct Principal: Sendable, Codable, Equatable {
  public var id: Int64
  public var name: String
  public var role: Role
  /// The one tenant this principal may act on; nil for all tenants (the provider's staff).
  public var tenant: String?
  /// The token's first characters, so people can tell their tokens apart; the rest is secret.
  public var tokenPrefix: String
  public var created: Date
  public var expires: Date?
  public var revoked: Date?
  /// The principal whose token created this one (nil for the first admin).
  public var createdBy: Int64? = nil

  /// How it appears in audit events.
  public var actor: String { "\(name) (\(role.rawValue)\(tenant.map { "@" + $0 } ?? ""))" }

  public func mayAccess(tenant t: String) -> Bool { tenant == nil || tenant == t }
}

public struct Tenant: Sendable, Codable, Equatable {
  public var id: String
  public var name: String
  public var created: Date
}

public struct StoredRepository: Sendable, Codable, Equatable {
  public var tenant: String
  public var name: String
  public var created: Date
  public var createdBy: String
}

/// A deletion waiting for a second admin (the four-eyes rule).
public struct Approval: Sendable, Codable, Equatable {
  public enum State: String, Codable, Sendable { case pending, approved, rejected, executed, failed, expired }
  public enum Action: String, Codable, Sendable {
    case deleteSnapshots = "delete-snapshots", deleteRepository = "delete-repository"
    /// Lifts the protections clients put on snapshots (their protect marks go to quarantine).
    case unprotectSnapshots = "unprotect-snapshots"
  }

  public var id: Int64
  public var tenant: String
  public var action: Action
  public var repository: String
  public var snapshots: [String]
  public var reason: String
  public var requestedBy: String
  public var requestedByID: Int64
  public var requested: Date
  public var state: State
  public var decidedBy: String?
  public var decided: Date?
  public var result: String?
}

/// A dashboard login: the cookie value is secret and stored hashed; `csrf` guards its forms.
public struct Session: Sendable {
  public var principal: Principal
  public var csrf: String
  public var expires: Date
}

public struct ConsoleError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable { case invalid, conflict, notFound, forbidden }
  public var kind: Kind
  public var message: String
  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }
  public var description: String { message }
}

public final class Console: Sendable {
  public let dataDirectory: String
  /// The server's audit chain: tenants, tokens, approvals.
  public let audit: Catalog
  public let clock: any WallClock
  let db: DatabaseQueue
  private let catalogs = Mutex<[String: Catalog]>([:])

  /// Sessions live this long after login.
  public static let sessionLifetime: TimeInterval = 8 * 3600
  /// A pending approval lapses after this long.
  public static let approvalLifetime: TimeInterval = 72 * 3600
  /// Names a tenant cannot take: they are the server's own top-level paths.
  public static let reservedTenantIDs: Set<String> = ["api", "ui", "metrics", "healthz", "login", "logout", "static", "favicon.ico"]

  public init(dataDirectory: String, clock: any WallClock = SystemClock()) throws {
    self.dataDirectory = dataDirectory
    self.clock = clock
    try FileManager.default.createDirectory(atPath: dataDirectory + "/tenants", withIntermediateDirectories: true)
    var config = Configuration()
    config.busyMode = .timeout(10)
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA journal_mode = WAL")
      try db.execute(sql: "PRAGMA synchronous = FULL")
      try db.execute(sql: "PRAGMA foreign_keys = ON")
    }
    do {
      db = try DatabaseQueue(path: dataDirectory + "/console.sqlite", configuration: config)
      try Self.migrator.migrate(db)
    } catch {
      throw LifeboatError(.fatal, "cannot open the server's store in \(dataDirectory): \(error)",
        hint: "check --data and its permissions")
    }
    audit = try Catalog(path: dataDirectory + "/audit.sqlite")
    try tightenPermissions()
  }

  /// Makes the server's state private whatever the umask (docs/server.md "Files"): the data
  /// directory, `tenants/` and each tenant's directory 0700; every SQLite file (with its WAL
  /// and shared-memory files) and plan 0600. Run at start and whenever a tenant's files are
  /// created; the data directory being 0700 already keeps everything below it from other users.
  public func tightenPermissions() throws {
    let fm = FileManager.default
    func set(_ path: String, _ mode: Int) throws {
      guard let attrs = try? fm.attributesOfItem(atPath: path) else { return }
      if (attrs[.posixPermissions] as? Int).map({ $0 & 0o7777 }) != mode {
        try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
      }
    }
    func files(in dir: String) throws {
      for n in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where n.contains(".sqlite") || n == "plan.yaml" {
        try set(dir + "/" + n, 0o600)
      }
    }
    try set(dataDirectory, 0o700)
    try set(dataDirectory + "/tenants", 0o700)
    try files(in: dataDirectory)
    for t in (try? fm.contentsOfDirectory(atPath: dataDirectory + "/tenants")) ?? [] {
      let dir = tenantDirectory(t)
      try set(dir, 0o700)
      try files(in: dir)
      for sub in ["repos", "quarantine"] { try set(dir + "/" + sub, 0o700) }
    }
  }

  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created REAL NOT NULL
          );
          CREATE TABLE principals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin','operator','auditor','backup')),
            tenant TEXT REFERENCES tenants(id),
            token_sha256 TEXT NOT NULL UNIQUE,
            token_prefix TEXT NOT NULL,
            created REAL NOT NULL,
            expires REAL,
            revoked REAL
          );
          CREATE TABLE sessions (
            id_sha256 TEXT PRIMARY KEY,
            principal INTEGER NOT NULL REFERENCES principals(id),
            csrf TEXT NOT NULL,
            created REAL NOT NULL,
            expires REAL NOT NULL
          );
          CREATE TABLE repositories (
            tenant TEXT NOT NULL REFERENCES tenants(id),
            name TEXT NOT NULL,
            created REAL NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY (tenant, name)
          );
          CREATE TABLE approvals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant TEXT NOT NULL REFERENCES tenants(id),
            action TEXT NOT NULL,
            repository TEXT NOT NULL,
            snapshots TEXT NOT NULL DEFAULT '[]',
            reason TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_by_id INTEGER NOT NULL REFERENCES principals(id),
            requested REAL NOT NULL,
            state TEXT NOT NULL,
            decided_by TEXT,
            decided REAL,
            result TEXT
          );
          CREATE TABLE ingested (
            tenant TEXT NOT NULL REFERENCES tenants(id),
            source TEXT NOT NULL,
            source_id INTEGER NOT NULL,
            job_id INTEGER NOT NULL,
            PRIMARY KEY (tenant, source, source_id)
          );
          """)
    }
    m.registerMigration("v2: who created each principal") { db in
      try db.execute(sql: "ALTER TABLE principals ADD COLUMN created_by INTEGER REFERENCES principals(id)")
    }
    return m
  }

  // MARK: - Tenants

  /// Tenant ids are path segments and directory names: lower-case letters, digits and dashes.
  public static func validIdentifier(_ s: String) -> Bool {
    guard let first = s.utf8.first, s.utf8.count <= 63 else { return false }
    let ok = s.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x5f }
    return ok && first != 0x2d && first != 0x5f
  }

  public func createTenant(id: String, name: String, actor: String) throws -> Tenant {
    guard Self.validIdentifier(id) else {
      throw ConsoleError(.invalid, "tenant id '\(id)' must be 1–63 lower-case letters, digits, '-' or '_', starting with a letter or digit")
    }
    guard !Self.reservedTenantIDs.contains(id) else { throw ConsoleError(.invalid, "'\(id)' is reserved for the server's own paths") }
    let t = Tenant(id: id, name: name.isEmpty ? id : name, created: clock.now())
    try db.write { db in
      if try Bool.fetchOne(db, sql: "SELECT 1 FROM tenants WHERE id = ?", arguments: [id]) == true {
        throw ConsoleError(.conflict, "tenant '\(id)' exists")
      }
      try db.execute(sql: "INSERT INTO tenants (id, name, created) VALUES (?, ?, ?)",
        arguments: [t.id, t.name, t.created.timeIntervalSince1970])
    }
    try FileManager.default.createDirectory(atPath: tenantDirectory(id) + "/repos", withIntermediateDirectories: true)
    try audit.audit(kind: "tenant-create", subject: id, details: ["name": t.name], actor: actor, time: t.created)
    return t
  }

  public func tenants() throws -> [Tenant] {
    try db.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM tenants ORDER BY id").map(Self.tenant)
    }
  }

  public func tenant(_ id: String) throws -> Tenant? {
    try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM tenants WHERE id = ?", arguments: [id]).map(Self.tenant) }
  }

  static func tenant(_ r: Row) -> Tenant {
    Tenant(id: r["id"], name: r["name"], created: Date(timeIntervalSince1970: r["created"]))
  }

  public func tenantDirectory(_ id: String) -> String { dataDirectory + "/tenants/" + id }
  public func planPath(_ tenant: String) -> String { tenantDirectory(tenant) + "/plan.yaml" }

  /// The tenant's catalog: runs its agents reported and its own audit chain.
  public func catalog(_ tenant: String) throws -> Catalog {
    if let c = catalogs.withLock({ $0[tenant] }) { return c }
    let c = try Catalog(path: tenantDirectory(tenant) + "/catalog.sqlite")
    try tightenPermissions()
    catalogs.withLock { $0[tenant] = c }
    return c
  }

  /// Stores a plan the caller has validated; audited in the tenant's chain with its hash.
  public func storePlan(tenant: String, text: String, actor: String) throws {
    let path = planPath(tenant)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    try catalog(tenant).recordPlanVersion(file: path, actor: actor, time: clock.now())
  }

  // MARK: - Principals and tokens

  /// `lb_` and 43 characters of base64url: 256 random bits.
  static func newSecret(prefix: String) -> String {
    var g = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    let b64 = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    return prefix + b64
  }

  static func sha256(_ s: String) -> String {
    SHA256.hash(data: Array(s.utf8)).map { String(format: "%02x", $0) }.joined()
  }

  /// Creates a principal and returns its token. The token is shown once: only its hash is kept.
  public func createPrincipal(
    name: String, role: Role, tenant: String?, expires: Date? = nil, createdBy: Int64? = nil, actor: String
  ) throws -> (Principal, token: String) {
    guard !name.isEmpty, name.count <= 100 else { throw ConsoleError(.invalid, "a token needs a name of 1–100 characters") }
    if let tenant, try self.tenant(tenant) == nil { throw ConsoleError(.invalid, "no tenant '\(tenant)'") }
    if role == .backup && tenant == nil {
      throw ConsoleError(.invalid, "a backup token belongs to one tenant: name it with \"tenant\"")
    }
    let token = Self.newSecret(prefix: "lb_")
    let now = clock.now()
    let id: Int64 = try db.write { db in
      try db.execute(
        sql: """
          INSERT INTO principals (name, role, tenant, token_sha256, token_prefix, created, expires, created_by)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [name, role.rawValue, tenant, Self.sha256(token), String(token.prefix(9)), now.timeIntervalSince1970,
          expires?.timeIntervalSince1970, createdBy])
      return db.lastInsertedRowID
    }
    let p = Principal(id: id, name: name, role: role, tenant: tenant, tokenPrefix: String(token.prefix(9)), created: now,
      expires: expires, createdBy: createdBy)
    try audit.audit(kind: "token-create", subject: p.actor,
      details: ["id": String(id), "prefix": p.tokenPrefix, "expires": expires.map { ISO8601DateFormatter().string(from: $0) } ?? "never"],
      actor: actor, time: now)
    return (p, token)
  }

  static func principal(_ r: Row) -> Principal {
    Principal(
      id: r["id"], name: r["name"], role: Role(rawValue: r["role"]) ?? .auditor, tenant: r["tenant"],
      tokenPrefix: r["token_prefix"], created: Date(timeIntervalSince1970: r["created"]),
      expires: (r["expires"] as Double?).map { Date(timeIntervalSince1970: $0) },
      revoked: (r["revoked"] as Double?).map { Date(timeIntervalSince1970: $0) }, createdBy: r["created_by"])
  }

  /// Why `approver` is not a second pair of eyes for a request made by `requesterID` at
  /// `requested`, or nil when it is (docs/server.md "Four eyes"). Independent means: another
  /// token, of another person (principals with the same name are one person), neither created
  /// by the other directly or down a chain of tokens, in either direction, and existing before
  /// the request.
  public func dependence(approver p: Principal, requesterID: Int64, requested: Date) throws -> String? {
    if p.id == requesterID { return "the request was made with this token" }
    guard let requester = try principal(id: requesterID) else {
      return "the requester's token no longer exists, so its independence cannot be shown"
    }
    if Self.samePerson(p, requester) {
      return "this token and the requester's are both named '\(requester.name)': one person's two tokens are one pair of eyes"
    }
    if try descends(p, from: requester.id) {
      return "this token was created by the requester (directly or through tokens it made)"
    }
    if try descends(requester, from: p.id) {
      return "this token created the requester's token (directly or through tokens it made)"
    }
    if p.created > requested { return "this token was created after the request" }
    return nil
  }

  static func samePerson(_ a: Principal, _ b: Principal) -> Bool {
    a.name.trimmingCharacters(in: .whitespaces).lowercased() == b.name.trimmingCharacters(in: .whitespaces).lowercased()
  }

  /// Whether `p` was created, directly or through principals it created, by `ancestor`.
  func descends(_ p: Principal, from ancestor: Int64) throws -> Bool {
    var seen: Set<Int64> = [p.id]
    var next = p.createdBy
    while let id = next, !seen.contains(id) {
      if id == ancestor { return true }
      seen.insert(id)
      next = try principal(id: id)?.createdBy
    }
    return false
  }

  public enum AuthFailure: Error, Sendable, Equatable { case unknown, expired, revoked }

  /// The principal a token belongs to, if it is known, unexpired and not revoked.
  public func authenticate(token: String) throws -> Result<Principal, AuthFailure> {
    let row = try db.read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM principals WHERE token_sha256 = ?", arguments: [Self.sha256(token)])
    }
    guard let row else { return .failure(.unknown) }
    let p = Self.principal(row)
    if p.revoked != nil { return .failure(.revoked) }
    if let e = p.expires, e <= clock.now() { return .failure(.expired) }
    return .success(p)
  }

  public func principals(tenant: String? = nil) throws -> [Principal] {
    try db.read { db in
      if let tenant {
        return try Row.fetchAll(db, sql: "SELECT * FROM principals WHERE tenant = ? ORDER BY id", arguments: [tenant]).map(Self.principal)
      }
      return try Row.fetchAll(db, sql: "SELECT * FROM principals ORDER BY id").map(Self.principal)
    }
  }

  public func principal(id: Int64) throws -> Principal? {
    try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM principals WHERE id = ?", arguments: [id]).map(Self.principal) }
  }

  public func revoke(id: Int64, actor: String) throws {
    guard let p = try principal(id: id) else { throw ConsoleError(.notFound, "no token \(id)") }
    let now = clock.now()
    try db.write { db in
      try db.execute(sql: "UPDATE principals SET revoked = ? WHERE id = ? AND revoked IS NULL", arguments: [now.timeIntervalSince1970, id])
      try db.execute(sql: "DELETE FROM sessions WHERE principal = ?", arguments: [id])
    }
    try audit.audit(kind: "token-revoke", subject: p.actor, details: ["id": String(id)], actor: actor, time: now)
  }

  // MARK: - Sessions

  /// Logs a principal in: returns the cookie value (secret) and the session.
  public func createSession(for p: Principal) throws -> (cookie: String, session: Session) {
    let cookie = Self.newSecret(prefix: "")
    let csrf = Self.newSecret(prefix: "")
    let now = clock.now()
    let expires = min(now.addingTimeInterval(Self.sessionLifetime), p.expires ?? .distantFuture)
    try db.write { db in
      try db.execute(sql: "DELETE FROM sessions WHERE expires < ?", arguments: [now.timeIntervalSince1970])
      try db.execute(
        sql: "INSERT INTO sessions (id_sha256, principal, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
        arguments: [Self.sha256(cookie), p.id, csrf, now.timeIntervalSince1970, expires.timeIntervalSince1970])
    }
    try audit.audit(kind: "login", subject: p.actor, details: [:], actor: p.actor, time: now)
    return (cookie, Session(principal: p, csrf: csrf, expires: expires))
  }

  public func session(cookie: String) throws -> Session? {
    let row = try db.read { db in
      try Row.fetchOne(
        db,
        sql: """
          SELECT p.*, s.csrf AS s_csrf, s.expires AS s_expires FROM sessions s JOIN principals p ON p.id = s.principal
          WHERE s.id_sha256 = ?
          """, arguments: [Self.sha256(cookie)])
    }
    guard let row else { return nil }
    let p = Self.principal(row)
    let expires = Date(timeIntervalSince1970: row["s_expires"])
    guard p.revoked == nil, expires > clock.now(), (p.expires ?? .distantFuture) > clock.now() else { return nil }
    return Session(principal: p, csrf: row["s_csrf"], expires: expires)
  }

  public func endSession(cookie: String) throws {
    try db.write { db in try db.execute(sql: "DELETE FROM sessions WHERE id_sha256 = ?", arguments: [Self.sha256(cookie)]) }
  }

  // MARK: - Repositories

  public func repositoryDirectory(tenant: String, name: String) -> String { tenantDirectory(tenant) + "/repos/" + name }
  public func quarantineDirectory(tenant: String) -> String { tenantDirectory(tenant) + "/quarantine" }

  public func createRepository(tenant: String, name: String, actor: String) throws -> StoredRepository {
    guard Self.validIdentifier(name) else {
      throw ConsoleError(.invalid, "repository name '\(name)' must be 1–63 lower-case letters, digits, '-' or '_'")
    }
    guard try self.tenant(tenant) != nil else { throw ConsoleError(.notFound, "no tenant '\(tenant)'") }
    let r = StoredRepository(tenant: tenant, name: name, created: clock.now(), createdBy: actor)
    try db.write { db in
      if try Bool.fetchOne(db, sql: "SELECT 1 FROM repositories WHERE tenant = ? AND name = ?", arguments: [tenant, name]) == true {
        throw ConsoleError(.conflict, "repository '\(name)' exists for tenant '\(tenant)'")
      }
      try db.execute(sql: "INSERT INTO repositories (tenant, name, created, created_by) VALUES (?, ?, ?, ?)",
        arguments: [tenant, name, r.created.timeIntervalSince1970, actor])
    }
    try FileManager.default.createDirectory(atPath: repositoryDirectory(tenant: tenant, name: name), withIntermediateDirectories: true)
    try catalog(tenant).audit(kind: "repository-create", subject: name, details: [:], actor: actor, time: r.created)
    return r
  }

  public func repositories(tenant: String) throws -> [StoredRepository] {
    try db.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM repositories WHERE tenant = ? ORDER BY name", arguments: [tenant]).map {
        StoredRepository(tenant: $0["tenant"], name: $0["name"], created: Date(timeIntervalSince1970: $0["created"]),
          createdBy: $0["created_by"])
      }
    }
  }

  public func repository(tenant: String, name: String) throws -> StoredRepository? {
    try repositories(tenant: tenant).first { $0.name == name }
  }

  /// Registers a repository again whose directory was put back from quarantine.
  public func registerRepository(tenant: String, name: String, actor: String) throws {
    let now = clock.now()
    try db.write { db in
      try db.execute(sql: "INSERT OR IGNORE INTO repositories (tenant, name, created, created_by) VALUES (?, ?, ?, ?)",
        arguments: [tenant, name, now.timeIntervalSince1970, actor])
    }
  }

  /// Forgets a repository's registration (after its directory was moved to quarantine).
  func dropRepository(tenant: String, name: String) throws {
    try db.write { db in
      try db.execute(sql: "DELETE FROM repositories WHERE tenant = ? AND name = ?", arguments: [tenant, name])
    }
  }

  // MARK: - Approvals (four eyes)

  public func requestApproval(
    tenant: String, action: Approval.Action, repository: String, snapshots: [String], reason: String, by p: Principal
  ) throws -> Approval {
    let now = clock.now()
    let snaps = String(decoding: try JSONEncoder().encode(snapshots), as: UTF8.self)
    let id: Int64 = try db.write { db in
      try db.execute(
        sql: """
          INSERT INTO approvals (tenant, action, repository, snapshots, reason, requested_by, requested_by_id, requested, state)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
          """,
        arguments: [tenant, action.rawValue, repository, snaps, reason, p.actor, p.id, now.timeIntervalSince1970])
      return db.lastInsertedRowID
    }
    try catalog(tenant).audit(
      kind: "approval-request", subject: "\(action.rawValue) \(repository)",
      details: ["approval": String(id), "snapshots": snapshots.joined(separator: ","), "reason": reason],
      actor: p.actor, time: now)
    return try approval(id: id)!
  }

  static func approval(_ r: Row) -> Approval {
    Approval(
      id: r["id"], tenant: r["tenant"], action: Approval.Action(rawValue: r["action"]) ?? .deleteSnapshots,
      repository: r["repository"],
      snapshots: (try? JSONDecoder().decode([String].self, from: Data((r["snapshots"] as String).utf8))) ?? [],
      reason: r["reason"], requestedBy: r["requested_by"], requestedByID: r["requested_by_id"],
      requested: Date(timeIntervalSince1970: r["requested"]), state: Approval.State(rawValue: r["state"]) ?? .pending,
      decidedBy: r["decided_by"], decided: (r["decided"] as Double?).map { Date(timeIntervalSince1970: $0) },
      result: r["result"])
  }

  /// Approvals, newest first; pending ones past their lifetime are marked expired first.
  public func approvals(tenant: String? = nil) throws -> [Approval] {
    let now = clock.now()
    return try db.write { db in
      try db.execute(
        sql: "UPDATE approvals SET state = 'expired' WHERE state = 'pending' AND requested < ?",
        arguments: [now.timeIntervalSince1970 - Self.approvalLifetime])
      if let tenant {
        return try Row.fetchAll(db, sql: "SELECT * FROM approvals WHERE tenant = ? ORDER BY id DESC", arguments: [tenant])
          .map(Self.approval)
      }
      return try Row.fetchAll(db, sql: "SELECT * FROM approvals ORDER BY id DESC").map(Self.approval)
    }
  }

  public func approval(id: Int64) throws -> Approval? {
    try approvals().first { $0.id == id }
  }

  /// A second admin's decision. The requester cannot approve their own request, and only a
  /// pending request can be decided. Returns the approval in its new state.
  public func decide(id: Int64, approve: Bool, by p: Principal) throws -> Approval {
    guard let a = try approval(id: id), p.mayAccess(tenant: a.tenant) else { throw ConsoleError(.notFound, "no approval \(id)") }
    guard p.role == .admin else { throw ConsoleError(.forbidden, "only an admin may decide an approval") }
    guard a.state == .pending else { throw ConsoleError(.conflict, "approval \(id) is \(a.state.rawValue), not pending") }
    if approve, let why = try dependence(approver: p, requesterID: a.requestedByID, requested: a.requested) {
      throw ConsoleError(.forbidden, "the four-eyes rule: \(why); an admin independent of the requester of approval \(id) must approve it")
    }
    let now = clock.now()
    let state: Approval.State = approve ? .approved : .rejected
    try db.write { db in
      try db.execute(
        sql: "UPDATE approvals SET state = ?, decided_by = ?, decided = ? WHERE id = ? AND state = 'pending'",
        arguments: [state.rawValue, p.actor, now.timeIntervalSince1970, id])
    }
    try catalog(a.tenant).audit(
      kind: approve ? "approval-grant" : "approval-reject", subject: "\(a.action.rawValue) \(a.repository)",
      details: ["approval": String(id), "requested_by": a.requestedBy], actor: p.actor, time: now)
    return try approval(id: id)!
  }

  /// Records what carrying out an approved request did.
  public func finishApproval(id: Int64, succeeded: Bool, result: String, actor: String) throws {
    guard let a = try approval(id: id) else { return }
    try db.write { db in
      try db.execute(sql: "UPDATE approvals SET state = ?, result = ? WHERE id = ?",
        arguments: [succeeded ? "executed" : "failed", result, id])
    }
    try catalog(a.tenant).audit(
      kind: succeeded ? "approval-execute" : "approval-fail", subject: "\(a.action.rawValue) \(a.repository)",
      details: ["approval": String(id), "result": result], actor: actor, time: clock.now())
    if succeeded && a.action == .deleteRepository { try dropRepository(tenant: a.tenant, name: a.repository) }
  }

  // MARK: - Runs reported by agents

  /// Stores a job an agent reported. Idempotent per (source, the agent's own job id): a job
  /// reported again updates the stored one. Returns the job's id in the tenant's catalog.
  @discardableResult
  public func ingest(tenant: String, source: String, job: JobRecord, actor: String) throws -> Int64 {
    guard let sourceID = job.id else { throw ConsoleError(.invalid, "a reported job needs its id on the agent") }
    let catalog = try catalog(tenant)
    let existing = try db.read { db in
      try Int64.fetchOne(db, sql: "SELECT job_id FROM ingested WHERE tenant = ? AND source = ? AND source_id = ?",
        arguments: [tenant, source, sourceID])
    }
    var j = job
    let details = ["source": source, "agent_job": String(sourceID), "outcome": job.outcome.rawValue]
    if let existing {
      j.id = existing
      try catalog.finish(j)
      try catalog.audit(kind: "run-report", subject: "\(job.kind) \(job.system)", details: details, actor: actor, time: clock.now())
      return existing
    }
    j.id = nil
    let id = try catalog.start(j)
    j.id = id
    try catalog.finish(j)
    try db.write { db in
      try db.execute(sql: "INSERT INTO ingested (tenant, source, source_id, job_id) VALUES (?, ?, ?, ?)",
        arguments: [tenant, source, sourceID, id])
    }
    try catalog.audit(kind: "run-report", subject: "\(job.kind) \(job.system)", details: details, actor: actor, time: clock.now())
    return id
  }
}
