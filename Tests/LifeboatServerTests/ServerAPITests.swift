import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LifeboatCatalog
import LifeboatConsole
import LifeboatRemote
import LifeboatServer
import LifeboatStorage
import LifeboatTesting
import Testing
import Yams

let acmePlan = """
  organization: Acme Family Clinic
  frameworks: [hipaa]
  repositories:
    server:
      url: rest:https://backup.example.net/acme/files
      password: "env:ACME_PASSWORD"
  systems:
    - name: EHR
      tier: critical
      sources:
        - path: /srv/ehr
    - name: Scans
      tier: archival
      sources:
        - path: /srv/scans

  """

@Suite struct ServerAuthorizationTests {
  /// Fills a route's path parameters with values that exist (or are harmless).
  static func concrete(_ spec: RouteSpec, tenant: String = "acme") -> String {
    spec.path.replacingOccurrences(of: "{tenant}", with: tenant).replacingOccurrences(of: "{repository}", with: "files")
      .replacingOccurrences(of: "{type}", with: spec.method == "DELETE" ? "locks" : "snapshots")
      .replacingOccurrences(of: "{name}", with: String(repeating: "ab", count: 32))
      .replacingOccurrences(of: "{id}", with: "999").replacingOccurrences(of: "{system}", with: "EHR")
      .replacingOccurrences(of: "{kind}", with: "executive")
  }

  static func method(_ s: String) -> HTTPRequest.Method { HTTPRequest.Method(rawValue: s)! }

  /// Every route, every way in: no token, an expired, revoked or unknown token, a token of
  /// another tenant, and each role. Refused requests change nothing.
  @Test func everyRouteChecksTokenRoleAndTenant() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    let routes = f.routes
    #expect(routes.count >= 45, "the route table lists every route (\(routes.count))")
    #expect(Set(routes.map { "\($0.method) \($0.path)" }).count == routes.count, "no route registered twice")
    let before = f.state()
    let refused = try await f.app().test(.router) { client -> Int in
      var refused = 0
      for spec in routes where spec.access != .open {
        let uri = Self.concrete(spec)
        let m = Self.method(spec.method)
        // No credentials: 401 for the API, the login page for dashboard pages.
        try await client.execute(uri: uri, method: m) { r in
          if spec.isPage {
            #expect(r.status == .seeOther, "\(spec.method) \(spec.path) without a session: \(r.status)")
            #expect(r.headers[.location]?.hasPrefix("/login") == true)
          } else {
            #expect(r.status == .unauthorized, "\(spec.method) \(spec.path) without a token: \(r.status)")
            #expect(r.message.contains("token"), "\(spec.path): \(r.message)")
          }
        }
        for (label, word) in [("expired", "expired"), ("revoked", "revoked")] {
          try await client.execute(uri: uri, method: m, headers: f.headers(label)) { r in
            #expect(r.status == (spec.isPage ? .seeOther : .unauthorized), "\(spec.path) with a \(label) token: \(r.status)")
            if !spec.isPage { #expect(r.message.contains(word), "\(spec.path): \(r.message)") }
          }
        }
        try await client.execute(uri: uri, method: m, headers: [.authorization: "Bearer lb_not-a-real-token"]) { r in
          #expect(r.status == (spec.isPage ? .seeOther : .unauthorized), "\(spec.path) with an unknown token: \(r.status)")
        }
        refused += 4
        // Another tenant's admin: refused on every tenant route.
        if spec.path.contains("{tenant}") {
          try await client.execute(uri: uri, method: m, headers: f.headers("zenith-admin")) { r in
            #expect(r.status == .forbidden, "\(spec.method) \(spec.path) by zenith's admin: \(r.status)")
            if spec.access != .provider {
              #expect(r.message.contains("limited to tenant 'zenith'"), "\(spec.path): \(r.message)")
            }
          }
          refused += 1
        }
        // Each role of the tenant: refused exactly when the rule says so.
        for label in ["acme-admin", "acme-operator", "acme-auditor", "acme-backup"] {
          let role = ServerFixture.labels.first { $0.0 == label }!.1
          let allowed = spec.access.allows(role) && spec.access != .provider
          guard !allowed else { continue }
          try await client.execute(uri: uri, method: m, headers: f.headers(label)) { r in
            #expect(r.status == .forbidden, "\(spec.method) \(spec.path) as \(label): \(r.status) \(r.message)")
          }
          refused += 1
        }
      }
      return refused
    }
    #expect(refused > 200)
    #expect(f.state() == before, "refused requests changed nothing")

    // The same routes with an allowed token get past the checks (whatever they answer next).
    try await f.app().test(.router) { client in
      for spec in routes where spec.access != .open {
        let label =
          switch spec.access {
          case .provider: "admin"
          case .read: "acme-auditor"
          case .report, .repositoryWrite: "acme-backup"
          case .repositoryRead: "acme-backup"
          case .operate: "acme-operator"
          default: "acme-admin"
          }
        try await client.execute(uri: Self.concrete(spec), method: Self.method(spec.method), headers: f.headers(label)) { r in
          #expect(r.status != .unauthorized && r.status != .forbidden,
            "\(spec.method) \(spec.path) as \(label) is allowed, got \(r.status) \(r.message)")
        }
      }
    }
  }

  @Test func badInputGetsAClearErrorAndChangesNothing() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    let before = f.state()
    try await f.app().test(.router) { client in
      let json: HTTPFields = [.contentType: "application/json"]
      try await client.execute(uri: "/api/v1/tenants", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"id\": \"new\",")) { r in
        #expect(r.status == .badRequest)
        #expect(r.message.contains("malformed JSON"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"name\": \"no id\"}")) { r in
        #expect(r.status == .badRequest)
        #expect(r.message.contains("\"id\" is missing"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tokens", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"name\": 7, \"role\": \"admin\"}")) { r in
        #expect(r.status == .badRequest)
        #expect(r.message.contains("wrong type"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tokens", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"name\": \"x\", \"role\": \"root\"}")) { r in
        #expect(r.status == .badRequest, "an unknown role: \(r.status)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"id\": \"" + String(repeating: "x", count: 70_000) + "\"}")) { r in
        #expect(r.status == .contentTooLarge)
        #expect(r.message.contains("limit"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"id\": \"Bad Name!\"}")) { r in
        #expect(r.status == .unprocessableContent)
        #expect(r.message.contains("lower-case"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"id\": \"api\"}")) { r in
        #expect(r.status == .unprocessableContent, "a reserved name")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"id\": \"acme\"}")) { r in
        #expect(r.status == .conflict)
        #expect(r.message.contains("exists"))
      }
      try await client.execute(uri: "/api/v1/no/such/route", method: .get, headers: f.headers("admin")) { r in
        #expect(r.status == .notFound)
        #expect(r.message.contains("no such route") && r.message.contains("openapi"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .delete, headers: f.headers("admin")) { r in
        #expect(r.status == .methodNotAllowed)
        #expect(r.headers[.allow] == "GET, POST", "\(r.headers)")
      }
      try await client.execute(uri: "/acme/files/data/" + String(repeating: "ab", count: 32), method: .put, headers: f.headers("admin")) { r in
        #expect(r.status == .methodNotAllowed, "PUT on an object: \(r.status)")
      }
      try await client.execute(uri: "/api/v1/tenants/nobody", method: .get, headers: f.headers("admin")) { r in
        #expect(r.status == .notFound)
        #expect(r.message.contains("no tenant 'nobody'"))
      }
      // A plan with a mistake: 422 with its line, and the stored plan is untouched.
      let broken = acmePlan.replacingOccurrences(of: "tier: archival", with: "tier: archivel")
      try await client.execute(uri: "/api/v1/tenants/acme/plan", method: .put, headers: f.headers("acme-operator"),
        body: ByteBuffer(string: broken)) { r in
        #expect(r.status == .unprocessableContent)
        let problems = (r.json as? [String: Any])?["problems"] as? [[String: Any]] ?? []
        #expect(problems.contains { ($0["line"] as? Int) == 13 && ($0["message"] as? String)?.contains("tier must be") == true },
          "\(r.text)")
      }
      try await client.execute(uri: "/api/v1/tenants/acme/runs?limit=0", method: .get, headers: f.headers("acme-auditor")) { r in
        #expect(r.status == .badRequest)
      }
      try await client.execute(uri: "/api/v1/tenants/acme/runs", method: .post, headers: f.headers("acme-backup", json),
        body: ByteBuffer(string: "{\"source\": \"fs1\", \"jobs\": [{\"kind\": \"backup\"}]}")) { r in
        #expect(r.status == .badRequest, "a job without its fields: \(r.status) \(r.message)")
      }
    }
    #expect(f.state() == before, "bad requests changed nothing")
  }

  @Test func theOpenAPIDocumentDescribesEveryRoute() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    try await f.app().test(.router) { client in
      try await client.execute(uri: "/api/v1/openapi.yaml", method: .get) { r in
        #expect(r.status == .ok)
        let doc = try #require(try Yams.load(yaml: r.text) as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, ops) in paths {
          for m in ops.keys { documented.insert("\(m.uppercased()) \(path)") }
        }
        let api = Set(f.routes.filter { !$0.isPage && $0.path != "/login" && $0.path != "/logout" }.map { "\($0.method) \($0.path)" })
        #expect(api.isSubset(of: documented), "undocumented: \(api.subtracting(documented).sorted())")
        #expect(documented.isSubset(of: api), "documented but not served: \(documented.subtracting(api).sorted())")
        let schemas = try #require((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
        // Every $ref points at a schema that exists.
        let refs = r.text.components(separatedBy: "#/components/schemas/").dropFirst().map { String($0.prefix { $0 != "'" }) }
        #expect(!refs.isEmpty)
        for ref in refs { #expect(schemas[ref] != nil, "missing schema \(ref)") }
      }
    }
  }
}

@Suite struct AppendOnlyRepositoryTests {
  @Test func clientsCreateAndReadButNeverDeleteOrOverwrite() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    var rng = SeededRandom(seed: 9)
    let data = rng.bytes(100_000)
    let name = ServerFixture.name(data)
    let big = rng.bytes(5 << 20)
    let repo = f.console.repositoryDirectory(tenant: "acme", name: "files")
    try await f.app().test(.router) { client in
      let base = "/acme/files"
      try await client.execute(uri: "\(base)/data/\(name)", method: .post, headers: f.headers("acme-backup"),
        body: ByteBuffer(bytes: data)) { r in #expect(r.status == .created) }
      try await client.execute(uri: "\(base)/data/\(name)", method: .get, headers: f.headers("acme-backup")) { r in
        #expect(Array(r.body.readableBytesView) == data)
      }
      try await client.execute(uri: "\(base)/data/\(name)", method: .get, headers: f.headers("acme-backup", [.range: "bytes=10-19"])) { r in
        #expect(r.status == .partialContent)
        #expect(Array(r.body.readableBytesView) == Array(data[10..<20]))
      }
      try await client.execute(uri: "\(base)/data/\(name)", method: .head, headers: f.headers("acme-backup")) { r in
        #expect(r.headers[.contentLength] == "100000")
      }
      // The same bytes again (a retried upload): accepted, nothing written.
      try await client.execute(uri: "\(base)/data/\(name)", method: .post, headers: f.headers("acme-backup"),
        body: ByteBuffer(bytes: data)) { r in
        #expect(r.status == .ok)
        #expect(r.text.contains("already stored"))
      }
      // Other bytes under that name: refused by the hash check, the stored object untouched.
      var other = data
      other[0] ^= 0xff
      try await client.execute(uri: "\(base)/data/\(name)", method: .post, headers: f.headers("acme-backup"),
        body: ByteBuffer(bytes: other)) { r in
        #expect(r.status == .badRequest)
        #expect(r.headers[HTTPField.Name("X-Lifeboat-Error")!] == "hash-mismatch")
      }
      let onDisk = try #require(FileManager.default.contents(atPath: "\(repo)/data/\(name.prefix(2))/\(name)"))
      #expect(Array(onDisk) == data)
      // A new object whose body does not match its name: nothing stored.
      let fake = String(repeating: "cd", count: 32)
      try await client.execute(uri: "\(base)/snapshots/\(fake)", method: .post, headers: f.headers("acme-backup"),
        body: ByteBuffer(string: "{}")) { r in #expect(r.status == .badRequest) }
      #expect(!FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(fake)"))
      // The config: once.
      try await client.execute(uri: "\(base)/config", method: .post, headers: f.headers("acme-backup"), body: ByteBuffer(string: "first")) { r in
        #expect(r.status == .created)
      }
      try await client.execute(uri: "\(base)/config", method: .post, headers: f.headers("acme-backup"), body: ByteBuffer(string: "second")) { r in
        #expect(r.status == .conflict)
        #expect(r.headers[HTTPField.Name("X-Lifeboat-Error")!] == "append-only")
      }
      #expect(FileManager.default.contents(atPath: "\(repo)/config") == Data("first".utf8))
      // Deletes: refused for every kind of data, whoever asks; allowed for lock files.
      let snap = Array("{\"snapshot\":1}".utf8)
      let snapName = ServerFixture.name(snap)
      try await client.execute(uri: "\(base)/snapshots/\(snapName)", method: .post, headers: f.headers("acme-backup"),
        body: ByteBuffer(bytes: snap)) { r in #expect(r.status == .created) }
      for label in ["acme-backup", "acme-operator", "acme-admin", "admin"] {
        for (type, n) in [("data", name), ("snapshots", snapName)] {
          try await client.execute(uri: "\(base)/\(type)/\(n)", method: .delete, headers: f.headers(label)) { r in
            #expect(r.status == .forbidden, "\(label) deleting \(type): \(r.status)")
            #expect(r.headers[HTTPField.Name("X-Lifeboat-Error")!] == "append-only")
            #expect(r.message.contains("append-only"))
          }
        }
      }
      #expect(FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snapName)"))
      #expect(FileManager.default.fileExists(atPath: "\(repo)/data/\(name.prefix(2))/\(name)"))
      let lock = Array("lock".utf8)
      let lockName = ServerFixture.name(lock)
      try await client.execute(uri: "\(base)/locks/\(lockName)", method: .post, headers: f.headers("acme-backup"), body: ByteBuffer(bytes: lock)) { r in
        #expect(r.status == .created)
      }
      try await client.execute(uri: "\(base)/locks/\(lockName)", method: .delete, headers: f.headers("acme-backup")) { r in
        #expect(r.status == .noContent)
      }
      try await client.execute(uri: "\(base)/snapshots/", method: .get, headers: f.headers("acme-backup")) { r in
        let list = r.json as? [[String: Any]] ?? []
        #expect(list.count == 1 && list.first?["name"] as? String == snapName)
      }
      // Another tenant's backup token cannot read or write here; the auditor may read, not write.
      try await client.execute(uri: "\(base)/data/\(name)", method: .get, headers: f.headers("zenith-backup")) { r in
        #expect(r.status == .forbidden)
      }
      try await client.execute(uri: "\(base)/data/\(name)", method: .get, headers: f.headers("acme-auditor")) { r in
        #expect(r.status == .ok)
      }
      try await client.execute(uri: "\(base)/locks/\(lockName)", method: .post, headers: f.headers("acme-auditor"), body: ByteBuffer(bytes: lock)) { r in
        #expect(r.status == .forbidden)
      }
      // A repository that does not exist says so, distinctly from a missing object.
      try await client.execute(uri: "/acme/nothing/config", method: .head, headers: f.headers("acme-backup")) { r in
        #expect(r.status == .notFound)
        #expect(r.headers[HTTPField.Name("X-Lifeboat-Error")!] == "no-repository")
      }
      // Objects over the size limit are refused before they are stored.
      try await client.execute(uri: "\(base)/data/\(ServerFixture.name(big))", method: .post, headers: f.headers("acme-backup"),
        body: ByteBuffer(bytes: big)) { r in #expect(r.status == .contentTooLarge) }
    }
  }
}

@Suite struct FourEyesTests {
  @Test func deletionsNeedASecondAdminAndGoToQuarantine() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    let repo = f.console.repositoryDirectory(tenant: "acme", name: "files")
    let snaps = (0..<3).map { i -> String in
      let bytes = Array("snapshot \(i)".utf8)
      let n = ServerFixture.name(bytes)
      #expect(FileManager.default.createFile(atPath: "\(repo)/snapshots/\(n)", contents: Data(bytes)))
      return n
    }
    try await f.app().test(.router) { client in
      let json: HTTPFields = [.contentType: "application/json"]
      var id: Int64 = 0
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/forget", method: .post, headers: f.headers("admin", json),
        body: ByteBuffer(string: "{\"snapshots\": [\"\(snaps[0])\", \"\(snaps[1])\"], \"reason\": \"patient asked\"}")) { r in
        #expect(r.status == .accepted)
        let a = (r.json as? [String: Any])?["approval"] as? [String: Any]
        #expect(a?["state"] as? String == "pending")
        id = Int64(a?["id"] as? Int ?? 0)
      }
      #expect(FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snaps[0])"), "nothing happens before approval")
      try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: f.headers("admin")) { r in
        #expect(r.status == .forbidden)
        #expect(r.message.contains("four-eyes"), "\(r.message)")
      }
      for label in ["operator", "auditor", "acme-operator", "zenith-admin"] {
        try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: f.headers(label)) { r in
          #expect(r.status == .forbidden || r.status == .notFound, "\(label) approving: \(r.status)")
        }
      }
      #expect(FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snaps[0])"))
      try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: f.headers("acme-admin")) { r in
        #expect(r.status == .ok)
        let a = r.json as? [String: Any]
        #expect(a?["state"] as? String == "executed", "\(r.text)")
        #expect((a?["result"] as? String)?.contains("2 of 2") == true, "\(r.text)")
      }
      try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: f.headers("admin2")) { r in
        #expect(r.status == .conflict, "an executed request cannot be approved again")
      }
      #expect(!FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snaps[0])"))
      #expect(!FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snaps[1])"))
      #expect(FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snaps[2])"), "only what was approved")
      let quarantine = f.console.quarantineDirectory(tenant: "acme") + "/files"
      let days = Quarantine.days(root: quarantine)
      #expect(days.count == 1)
      let day = try #require(days.first)
      #expect(FileManager.default.fileExists(atPath: "\(quarantine)/\(day.name)/snapshots/\(snaps[0])"))
      // Within the window everything can be put back.
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/quarantine/restore", method: .post, headers: f.headers("admin")) { r in
        #expect(r.status == .ok)
        #expect((r.json as? [String: Any])?["restored"] as? Int == 2)
      }
      #expect(FileManager.default.fileExists(atPath: "\(repo)/snapshots/\(snaps[0])"))

      // A rejected request removes nothing.
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/files", method: .delete, headers: f.headers("acme-operator")) { r in
        #expect(r.status == .accepted)
        id = Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
      }
      try await client.execute(uri: "/api/v1/approvals/\(id)/reject", method: .post, headers: f.headers("admin2")) { r in
        #expect((r.json as? [String: Any])?["state"] as? String == "rejected")
      }
      #expect(FileManager.default.fileExists(atPath: repo + "/config") || FileManager.default.fileExists(atPath: repo + "/data"))
      // An approved repository deletion moves the whole repository to quarantine.
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/files", method: .delete, headers: f.headers("acme-operator")) { r in
        id = Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
      }
      try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: f.headers("acme-admin")) { r in
        #expect((r.json as? [String: Any])?["state"] as? String == "executed", "\(r.text)")
      }
      #expect(!FileManager.default.fileExists(atPath: repo))
      let moved = try FileManager.default.contentsOfDirectory(atPath: f.console.quarantineDirectory(tenant: "acme") + "/_repositories")
      #expect(moved.count == 1 && moved[0].hasPrefix("files-"))
      try await client.execute(uri: "/acme/files/config", method: .head, headers: f.headers("acme-backup")) { r in
        #expect(r.headers[HTTPField.Name("X-Lifeboat-Error")!] == "no-repository")
      }
    }
    // Every step is in the tenant's audit chain, and the chain verifies.
    let events = try f.console.catalog("acme").auditEvents().map(\.kind)
    for kind in ["approval-request", "approval-grant", "approval-execute", "approval-reject", "quarantine-restore"] {
      #expect(events.contains(kind), "audited: \(kind)")
    }
    #expect(try f.console.catalog("acme").verifyAudit().isIntact)
    #expect(try f.console.audit.verifyAudit().isIntact)
  }

  /// One admin cannot be both pairs of eyes by making another token for itself.
  @Test func anAdminCannotApproveThroughATokenItMade() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    try await f.app().test(.router) { client in
      let json: HTTPFields = [.contentType: "application/json"]
      func makeToken(_ by: String, _ name: String) async throws -> String {
        try await client.execute(uri: "/api/v1/tokens", method: .post, headers: f.headers(by, json),
          body: ByteBuffer(string: "{\"name\": \"\(name)\", \"role\": \"admin\"}")) { r in
          ((r.json as? [String: Any])?["token"] as? String) ?? ""
        }
      }
      // Made before the request, by the requester, and one more level down.
      let puppet = try await makeToken("admin", "puppet")
      let grandPuppet = try await client.execute(uri: "/api/v1/tokens", method: .post,
        headers: [.authorization: "Bearer \(puppet)", .contentType: "application/json"],
        body: ByteBuffer(string: "{\"name\": \"grand\", \"role\": \"admin\"}")) { r in ((r.json as? [String: Any])?["token"] as? String) ?? "" }
      let id = try await client.execute(uri: "/api/v1/tenants/acme/repositories/files", method: .delete, headers: f.headers("admin")) { r in
        Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
      }
      // Made after the request, by someone else entirely.
      let late = try await makeToken("admin2", "late")
      for (token, why) in [(puppet, "created by the requester"), (grandPuppet, "created by the requester"), (late, "created after")] {
        try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: [.authorization: "Bearer \(token)"]) { r in
          #expect(r.status == .forbidden)
          #expect(r.message.contains(why), "\(r.message)")
        }
      }
      #expect(FileManager.default.fileExists(atPath: f.console.repositoryDirectory(tenant: "acme", name: "files")))
      try await client.execute(uri: "/api/v1/approvals/\(id)/approve", method: .post, headers: f.headers("admin2")) { r in
        #expect((r.json as? [String: Any])?["state"] as? String == "executed", "an independent admin may")
      }
    }
  }

  @Test func quarantineIsPurgedOnlyAfterTheWindow() throws {
    let dir = TemporaryDirectory("lifeboat-quarantine")
    defer { dir.remove() }
    for day in ["2026-11-01", "2026-11-20", "2026-11-28"] {
      try FileManager.default.createDirectory(atPath: dir.sub(day) + "/snapshots", withIntermediateDirectories: true)
    }
    let f = ISO8601DateFormatter()
    let now = f.date(from: "2026-11-29T12:00:00Z")!
    let purged = try Quarantine.purge(root: dir.path, olderThanDays: 7, now: now)
    #expect(purged == ["2026-11-01", "2026-11-20"], "a day goes once the whole window has passed after it")
    #expect(purged.contains("2026-11-01") && purged.contains("2026-11-20"))
    #expect(Quarantine.days(root: dir.path).map(\.name) == ["2026-11-28"], "the last week stays")
  }
}

@Suite struct TenantStateTests {
  static func job(_ id: Int64, _ kind: String, _ system: String, _ outcome: JobRecord.Outcome, ago: TimeInterval) -> JobRecord {
    var j = JobRecord(kind: kind, system: system, repository: "server", started: Date().addingTimeInterval(-ago), outcome: outcome)
    j.id = id
    j.ended = j.started.addingTimeInterval(30)
    j.bytes = 1000
    j.files = 10
    return j
  }

  @Test func agentsReportRunsAndTheConsoleShowsState() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    try await f.app().test(.router) { client in
      try await client.execute(uri: "/api/v1/tenants/acme/plan", method: .put, headers: f.headers("acme-operator"),
        body: ByteBuffer(string: acmePlan)) { r in
        #expect(r.status == .ok, "\(r.text)")
      }
      let batch = RunBatchJSON.encode(source: "fs1", jobs: [
        Self.job(1, "backup", "EHR", .success, ago: 600), Self.job(2, "backup", "Scans", .failed, ago: 500),
      ])
      for _ in 0..<2 {
        try await client.execute(uri: "/api/v1/tenants/acme/runs", method: .post,
          headers: f.headers("acme-backup", [.contentType: "application/json"]), body: ByteBuffer(string: batch)) { r in
          #expect(r.status == .ok, "\(r.text)")
        }
      }
      #expect(try f.console.catalog("acme").jobs().count == 2, "reporting twice stores each job once")
      try await client.execute(uri: "/api/v1/tenants/acme/runs", method: .post,
        headers: f.headers("acme-auditor", [.contentType: "application/json"]), body: ByteBuffer(string: batch)) { r in
        #expect(r.status == .forbidden, "auditors only read")
      }
      try await client.execute(uri: "/api/v1/tenants/acme/systems", method: .get, headers: f.headers("acme-auditor")) { r in
        let systems = r.json as? [[String: Any]] ?? []
        let ehr = systems.first { $0["system"] as? String == "EHR" }
        let scans = systems.first { $0["system"] as? String == "Scans" }
        func area(_ s: [String: Any]?, _ a: String) -> [String: Any]? { s?[a] as? [String: Any] }
        #expect(area(ehr, "backups")?["light"] as? String == "green", "\(r.text)")
        let recovery = (area(ehr, "recovery")?["causes"] as? [[String: Any]])?.first
        #expect(recovery?["reason"] as? String == "never-drilled" && area(ehr, "recovery")?["light"] as? String == "red")
        #expect(area(scans, "backups")?["light"] as? String == "red", "no good backup")
      }
      try await client.execute(uri: "/api/v1/tenants/acme/findings", method: .get, headers: f.headers("acme-auditor")) { r in
        let findings = r.json as? [[String: Any]] ?? []
        #expect(findings.first?["severity"] as? String == "red", "worst first")
        #expect(findings.contains { $0["system"] as? String == "Scans" && $0["reason"] as? String == "no-good-backup" })
        #expect(findings.contains { $0["system"] as? String == "EHR" && $0["reason"] as? String == "never-drilled" })
      }
      try await client.execute(uri: "/api/v1/tenants", method: .get, headers: f.headers("auditor")) { r in
        let list = (r.json as? [[String: Any]] ?? []).map { $0["id"] as? String ?? "" }
        #expect(list == ["acme", "zenith"], "acme (red) before zenith (amber: no plan)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .get, headers: f.headers("zenith-auditor")) { r in
        let list = (r.json as? [[String: Any]] ?? []).map { $0["id"] as? String ?? "" }
        #expect(list == ["zenith"], "a tenant's auditor sees only its tenant")
      }
      // Metrics: per tenant and system, only what the token may see.
      try await client.execute(uri: "/metrics", method: .get, headers: f.headers("auditor")) { r in
        #expect(r.status == .ok)
        #expect(r.text.contains("lifeboat_last_good_backup_age_seconds{tenant=\"acme\",system=\"EHR\",tier=\"critical\"}"), "\(r.text.prefix(2000))")
        #expect(r.text.contains("lifeboat_rpo_state{tenant=\"acme\",system=\"Scans\",tier=\"archival\"} 2"))
        #expect(r.text.contains("lifeboat_jobs_total{tenant=\"acme\",system=\"Scans\",kind=\"backup\",outcome=\"failed\"} 1"))
        #expect(r.text.contains("lifeboat_repository_bytes{tenant=\"zenith\",repository=\"files\"}"))
        #expect(r.text.contains("lifeboat_rto_state{tenant=\"acme\",system=\"EHR\",tier=\"critical\"} 2"), "never drilled is red")
        #expect(r.text.contains("lifeboat_system_area_state{tenant=\"acme\",system=\"EHR\",tier=\"critical\",area=\"recovery\"} 2"))
        #expect(r.text.contains("# HELP lifeboat_http_requests_total "))
        #expect(r.text.contains("lifeboat_http_request_duration_seconds_bucket{"))
        // Prometheus's own linter (from Debian's prometheus package): HELP on every metric,
        // names, units and counters as it wants them. A missing promtool fails the test.
        let exposition = f.dir.sub("metrics.txt")
        try FixtureTree.write(exposition, Array(r.text.utf8))
        let lint = try Subprocess.run(["sh", "-c", "promtool check metrics < '\(exposition)'"])
        #expect(lint.status == 0, "promtool check metrics: \(lint.output)")
      }
      try await client.execute(uri: "/metrics", method: .get, headers: f.headers("zenith-auditor")) { r in
        #expect(!r.text.contains("tenant=\"acme\""), "no other tenant's series")
        #expect(r.text.contains("tenant=\"zenith\""))
      }
      // Reports: HTML and JSON, each download audited.
      try await client.execute(uri: "/api/v1/tenants/acme/reports/executive?format=json", method: .get, headers: f.headers("acme-auditor")) { r in
        #expect(r.status == .ok)
        #expect((r.json as? [String: Any])?["organization"] as? String == "Acme Family Clinic")
      }
      try await client.execute(uri: "/api/v1/tenants/acme/reports/compliance", method: .get, headers: f.headers("acme-auditor")) { r in
        #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
        #expect(r.text.contains("HIPAA") || r.text.contains("hipaa"))
      }
      try await client.execute(uri: "/api/v1/tenants/acme/reports/drill", method: .get, headers: f.headers("acme-auditor")) { r in
        #expect(r.status == .notFound, "no drill yet: \(r.message)")
      }
      try await client.execute(uri: "/api/v1/tenants/acme/audit/verify", method: .get, headers: f.headers("acme-auditor")) { r in
        #expect((r.json as? [String: Any])?["problems"] as? [String] == [])
      }
    }
    let kinds = try f.console.catalog("acme").auditEvents().map(\.kind)
    #expect(kinds.contains("plan-change") && kinds.contains("run-report") && kinds.contains("evidence-download"))
  }
}

/// Encodes a run report the way agents do.
enum RunBatchJSON {
  static func encode(source: String, jobs: [JobRecord]) -> String {
    String(decoding: (try? JSONEncoder.drill.encode(RunBatch(source: source, jobs: jobs))) ?? Data(), as: UTF8.self)
  }
}

@Suite struct ServerConfigurationTests {
  static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("docs/examples/server.yaml").path

  @Test func theExampleConfigurationLoads() throws {
    let c = try ServerConfiguration.load(file: Self.example)
    #expect(c.host == "0.0.0.0" && c.port == 8443)
    #expect(c.usesTLS)
    #expect(c.quarantineDays == 14 && c.maintenanceEvery == 86400)
    #expect(c.retention.count == 2)
    #expect(c.retention[0].policy.keepDaily == 14 && c.retention[1].policy.keepYearly == 7)
  }

  @Test func mistakesNameTheirLine() throws {
    let cases: [(String, String)] = [
      ("listen: 127.0.0.1:8443\nquarantine_dayz: 3\n", ":2: unknown key 'quarantine_dayz'"),
      ("listen: localhost\n", ":1: listen must be HOST:PORT"),
      ("retention:\n  - tenant: a\n    repository: b\n    password: hunter2\n    keep: { last: 3 }\n", "never the password itself"),
      ("quarantine_days: 0\n", "at least 1"),
      ("maintenance_every: soon\n", "duration"),
    ]
    for (text, expected) in cases {
      #expect(throws: (any Error).self) { try ServerConfiguration.parse(text, file: "server.yaml") }
      do {
        _ = try ServerConfiguration.parse(text, file: "server.yaml")
      } catch {
        #expect("\(error)".contains(expected), "\(error)")
      }
    }
  }
}
