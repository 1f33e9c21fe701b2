import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import LifeboatConsole
import LifeboatCore
import LifeboatServer
import LifeboatStorage
import LifeboatTesting

/// A server with two tenants (acme, zenith), a repository each, and a token for every kind
/// of principal, tested in-process through Hummingbird's router.
struct ServerFixture {
  let dir: TemporaryDirectory
  let console: Console
  let server: LifeboatServer
  let configuration: ServerConfiguration
  /// label → token
  let tokens: [String: String]
  let ids: [String: Int64]

  static let labels: [(String, Role, String?)] = [
    ("admin", .admin, nil), ("admin2", .admin, nil), ("operator", .operator, nil), ("auditor", .auditor, nil),
    ("acme-admin", .admin, "acme"), ("acme-operator", .operator, "acme"), ("acme-auditor", .auditor, "acme"),
    ("acme-backup", .backup, "acme"), ("zenith-admin", .admin, "zenith"), ("zenith-auditor", .auditor, "zenith"),
    ("zenith-backup", .backup, "zenith"),
  ]

  init(retention: [ServerRetention] = [], environment: [String: String] = [:], clock: any WallClock = SystemClock()) throws {
    dir = TemporaryDirectory("lifeboat-server")
    var c = ServerConfiguration()
    c.dataDirectory = dir.sub("data")
    c.maxRequestSize = 64 << 10
    c.maxObjectSize = 4 << 20
    c.maintenanceEvery = 0
    c.quarantineDays = 7
    c.retention = retention
    configuration = c
    console = try Console(dataDirectory: c.dataDirectory, clock: clock)
    server = LifeboatServer(configuration: c, console: console, environment: environment)
    for t in ["acme", "zenith"] {
      _ = try console.createTenant(id: t, name: t.capitalized + " Clinic", actor: "test")
      _ = try console.createRepository(tenant: t, name: "files", actor: "test")
      try LocalBackend(path: console.repositoryDirectory(tenant: t, name: "files")).createLayout()
    }
    var tokens: [String: String] = [:]
    var ids: [String: Int64] = [:]
    for (label, role, tenant) in Self.labels {
      let (p, token) = try console.createPrincipal(name: label, role: role, tenant: tenant, actor: "test")
      tokens[label] = token
      ids[label] = p.id
    }
    let (revoked, rt) = try console.createPrincipal(name: "revoked", role: .admin, tenant: nil, actor: "test")
    try console.revoke(id: revoked.id, actor: "test")
    tokens["revoked"] = rt
    tokens["expired"] = try console.createPrincipal(
      name: "expired", role: .admin, tenant: nil, expires: Date().addingTimeInterval(-60), actor: "test"
    ).token
    self.tokens = tokens
    self.ids = ids
  }

  func app() -> some ApplicationProtocol {
    Application(router: server.router().0)
  }

  var routes: [RouteSpec] { server.router().1 }

  func headers(_ label: String?, _ extra: HTTPFields = [:]) -> HTTPFields {
    var h = extra
    if let label { h[.authorization] = "Bearer " + tokens[label]! }
    return h
  }

  /// Every file under the data directory with its size and content hash: what "nothing
  /// changed" is checked against.
  func state() -> [String: String] {
    var out: [String: String] = [:]
    let root = configuration.dataDirectory
    guard let e = FileManager.default.enumerator(atPath: root) else { return out }
    while let f = e.nextObject() as? String {
      // SQLite's WAL and shared-memory files change on reads; the databases are compared by content.
      if f.hasSuffix("-wal") || f.hasSuffix("-shm") || f.hasSuffix(".sqlite") { continue }
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: root + "/" + f, isDirectory: &isDir), !isDir.boolValue,
        let d = FileManager.default.contents(atPath: root + "/" + f)
      {
        out[f] = SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined()
      }
    }
    out["audit events"] = String((try? console.audit.auditEvents().count) ?? -1)
    for t in ["acme", "zenith"] {
      out["\(t) audit events"] = String((try? console.catalog(t).auditEvents().count) ?? -1)
      out["\(t) jobs"] = String((try? console.catalog(t).jobs(limit: 100_000).count) ?? -1)
    }
    out["principals"] = String((try? console.principals().filter { $0.revoked == nil }.count) ?? -1)
    out["approvals"] = String((try? console.approvals().count) ?? -1)
    out["tenants"] = String((try? console.tenants().count) ?? -1)
    return out
  }

  func remove() { dir.remove() }

  static func name(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
  }
}

extension TestResponse {
  var text: String { String(buffer: body) }
  var json: Any? { try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) }
  var message: String {
    ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? text
  }
}
