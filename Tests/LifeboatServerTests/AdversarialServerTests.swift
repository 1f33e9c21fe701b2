import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LifeboatConsole
import LifeboatServer
import LifeboatStorage
import LifeboatTesting
import Testing

/// The attacks of the adversarial review (issue #19), each reproduced against the server.
@Suite struct AdversarialServerTests {
  static let json: HTTPFields = [.contentType: "application/json"]

  static func id(_ r: TestResponse) -> Int64 {
    Int64(((r.json as? [String: Any])?["approval"] as? [String: Any])?["id"] as? Int ?? 0)
  }

  /// "Independent" means: neither created the other, directly or down a chain, in either
  /// direction; not the same person under another token; not created after the request.
  @Test func fourEyesRefusesEveryPrincipalTiedToTheRequester() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    let repo = f.console.repositoryDirectory(tenant: "acme", name: "files")
    try await f.app().test(.router) { client in
      func makeAdmin(by token: String, _ name: String) async throws -> String {
        try await client.execute(uri: "/api/v1/tokens", method: .post,
          headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
          body: ByteBuffer(string: "{\"name\": \"\(name)\", \"role\": \"admin\"}")) { r in
          #expect(r.status == .created, "\(r.text)")
          return ((r.json as? [String: Any])?["token"] as? String) ?? ""
        }
      }
      // admin → deputy → deputy2. The review's attack: deputy requests, admin approves.
      let deputy = try await makeAdmin(by: f.tokens["admin"]!, "deputy")
      let deputy2 = try await makeAdmin(by: deputy, "deputy2")
      // The same person (by name) holding a second token that nobody in the chain made.
      let (_, sameName) = try f.console.createPrincipal(name: "Deputy2", role: .admin, tenant: nil, actor: "test")
      let request = try await client.execute(uri: "/api/v1/tenants/acme/repositories/files", method: .delete,
        headers: [.authorization: "Bearer \(deputy2)"]) { r in
        #expect(r.status == .accepted)
        return Self.id(r)
      }
      for (token, why) in [
        (deputy2, "made with this token"), (deputy, "created the requester"), (f.tokens["admin"]!, "created the requester"),
        (sameName, "both named"),
      ] {
        try await client.execute(uri: "/api/v1/approvals/\(request)/approve", method: .post, headers: [.authorization: "Bearer \(token)"]) { r in
          #expect(r.status == .forbidden, "\(why): \(r.status)")
          #expect(r.message.contains("four-eyes") && r.message.contains(why), "\(r.message)")
        }
      }
      #expect(FileManager.default.fileExists(atPath: repo), "nothing was deleted")
      // Someone outside the chain may: the repository goes to quarantine.
      try await client.execute(uri: "/api/v1/approvals/\(request)/approve", method: .post, headers: f.headers("admin2")) { r in
        #expect((r.json as? [String: Any])?["state"] as? String == "executed", "\(r.text)")
      }
      #expect(!FileManager.default.fileExists(atPath: repo))
      try await client.execute(uri: "/acme/files/config", method: .head, headers: f.headers("acme-backup")) { r in
        #expect(r.status == .notFound)
      }
      // …and an admin can put it back within the window: registered again, readable again.
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/files/quarantine/restore", method: .post, headers: f.headers("admin")) { r in
        #expect(r.status == .ok, "\(r.text)")
      }
      #expect(FileManager.default.fileExists(atPath: repo + "/data"))
      try await client.execute(uri: "/api/v1/tenants/acme/repositories", method: .get, headers: f.headers("acme-admin")) { r in
        #expect(r.text.contains("\"name\":\"files\""), "\(r.text)")
      }
      try await client.execute(uri: "/acme/files/snapshots/", method: .get, headers: f.headers("acme-backup")) { r in
        #expect(r.status == .ok)
      }
      try await client.execute(uri: "/api/v1/tenants/acme/repositories/nothing/quarantine/restore", method: .post, headers: f.headers("admin")) { r in
        #expect(r.status == .notFound)
      }
    }
    #expect(try f.console.catalog("acme").auditEvents().contains { $0.kind == "quarantine-restore" })
  }

  /// A key file with the KDF parameters an attacker picks (they are not authenticated).
  static func keyFile(logN: Int, r: Int = 8, p: Int = 1, seed: UInt8 = 1) -> [UInt8] {
    Array("""
      {"version":1,"kdf":"scrypt","logN":\(logN),"r":\(r),"p":\(p),"salt":"\(Data(repeating: seed, count: 32).base64EncodedString())",\
      "created":"2026-12-01T00:00:00Z","hostname":"h","username":"u","data":"\(Data(repeating: seed, count: 120).base64EncodedString())"}
      """.utf8)
  }

  /// Backup tokens may write the first key file of an empty repository (its init) and never
  /// another; operators and admins may, audited; nobody can store a key file clients would
  /// refuse to try.
  @Test func backupTokensCannotPlantKeyFiles() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    try await f.app().test(.router) { client in
      func post(_ bytes: [UInt8], as label: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/acme/files/keys/\(ServerFixture.name(bytes))", method: .post, headers: f.headers(label),
          body: ByteBuffer(bytes: bytes)) { ($0.status, $0.text) }
      }
      var r = try await post(Self.keyFile(logN: 15, seed: 1), as: "acme-backup")
      #expect(r.0 == .created, "the first key file (init): \(r.1)")
      r = try await post(Self.keyFile(logN: 15, seed: 2), as: "acme-backup")
      #expect(r.0 == .forbidden && r.1.contains("backup tokens cannot add key files"), "\(r.1)")
      r = try await post(Self.keyFile(logN: 15, seed: 3), as: "acme-operator")
      #expect(r.0 == .created, "an operator adds a key: \(r.1)")
      r = try await post(Self.keyFile(logN: 20, r: 8, p: 4, seed: 4), as: "acme-admin")
      #expect(r.0 == .unprocessableContent && r.1.contains("above what Lifeboat attempts"), "\(r.1)")
      r = try await post(Array("garbage".utf8), as: "acme-admin")
      #expect(r.0 == .unprocessableContent, "\(r.1)")
    }
    let keys = try await LocalBackend(path: f.console.repositoryDirectory(tenant: "acme", name: "files")).list(.key)
    #expect(keys.count == 2)
    #expect(try f.console.catalog("acme").auditEvents().filter { $0.kind == "key-add" }.count == 2)
  }

  static func signIn(_ client: some TestClientProtocol, _ token: String) async throws -> String {
    try await client.execute(uri: "/login", method: .post, headers: DashboardTests.formType,
      body: DashboardTests.form([("token", token)])) { r in String((r.headers[.setCookie] ?? "").prefix { $0 != ";" }) }
  }

  /// The review's CSRF: a text/plain POST with a foreign Origin and the session cookie created
  /// an admin token. The API now takes bearer tokens only; dashboard forms refuse foreign origins.
  @Test func theSessionCookieCannotDriveTheAPIFromAnotherSite() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    let before = try f.console.principals().count
    try await f.app().test(.router) { client in
      let cookie = try await Self.signIn(client, f.tokens["admin"]!)
      #expect(cookie.hasPrefix("lifeboat_session="))
      let forged: HTTPFields = [.cookie: cookie, .contentType: "text/plain", .origin: "https://evil.example"]
      try await client.execute(uri: "/api/v1/tokens", method: .post, headers: forged,
        body: ByteBuffer(string: "{\"name\": \"evil\", \"role\": \"admin\"}")) { r in
        #expect(r.status == .unauthorized, "\(r.text)")
        #expect(r.message.contains("bearer tokens only"), "\(r.message)")
      }
      try await client.execute(uri: "/api/v1/tenants", method: .get, headers: [.cookie: cookie]) { r in
        #expect(r.status == .unauthorized, "no API call rides on the cookie")
      }
      // A dashboard form posted from another origin is refused before its handler runs.
      let requester = try #require(try f.console.principal(id: f.ids["acme-operator"]!))
      let a = try f.console.requestApproval(tenant: "acme", action: .deleteRepository, repository: "files", snapshots: [],
        reason: "test", by: requester)
      let page = try await client.execute(uri: "/ui/approvals", method: .get, headers: [.cookie: cookie]) { $0.text }
      let csrf = try #require(page.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) })
      var crossSite: HTTPFields = [.cookie: cookie, .origin: "https://evil.example"]
      crossSite.append(contentsOf: DashboardTests.formType)
      try await client.execute(uri: "/ui/approvals/\(a.id)/reject", method: .post, headers: crossSite,
        body: DashboardTests.form([("csrf", csrf)])) { r in
        #expect(r.status == .forbidden, "\(r.text)")
      }
      #expect(try f.console.approval(id: a.id)?.state == .pending)
    }
    #expect(try f.console.principals().count == before, "no token was created")
  }

  /// `next` after sign-in: only a path on this server, after the browser's own normalisation.
  @Test func signInNeverRedirectsToAnotherHost() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    let attacks = [
      "/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example",
      "/%5Cevil.example", "/%2F/evil.example", "/\n/evil.example", " /evil", "javascript:alert(1)",
    ]
    try await f.app().test(.router) { client in
      for next in attacks + ["/ui/tenants/acme", "/ui/approvals?x=1"] {
        try await client.execute(uri: "/login", method: .post, headers: DashboardTests.formType,
          body: DashboardTests.form([("token", f.tokens["admin"]!), ("next", next)])) { r in
          let location = r.headers[.location] ?? ""
          if attacks.contains(next) {
            #expect(location == "/", "\(next.debugDescription) → \(location)")
          } else {
            #expect(location == next, "a path on this server is kept: \(location)")
          }
        }
      }
    }
  }

  /// Under umask 022 (and 077) the server's state is private (0700 directories, 0600 files).
  @Test func theServerStateIsPrivateWhateverTheUmask() throws {
    for mask: mode_t in [0o022, 0o077] { try Self.checkModes(umask: mask) }
  }

  static func checkModes(umask mask: mode_t) throws {
    let old = umask(mask)
    defer { umask(old) }
    let dir = TemporaryDirectory("lifeboat-modes")
    defer { dir.remove() }
    let console = try Console(dataDirectory: dir.sub("data"))
    _ = try console.createTenant(id: "acme", name: "Acme", actor: "test")
    try console.storePlan(tenant: "acme", text: acmePlan, actor: "test")
    _ = try console.createRepository(tenant: "acme", name: "files", actor: "test")
    func mode(_ p: String) -> Int {
      ((try? FileManager.default.attributesOfItem(atPath: p)[.posixPermissions]) as? Int ?? -1) & 0o777
    }
    let data = dir.sub("data")
    for d in [data, data + "/tenants", data + "/tenants/acme", data + "/tenants/acme/repos"] {
      #expect(mode(d) == 0o700, "\(d): \(String(mode(d), radix: 8))")
    }
    for file in [data + "/console.sqlite", data + "/audit.sqlite", data + "/tenants/acme/catalog.sqlite", data + "/tenants/acme/plan.yaml"] {
      #expect(mode(file) == 0o600, "\(file): \(String(mode(file), radix: 8))")
    }
    // A data directory left world-readable by an older version is tightened at start.
    chmod(data, 0o755)
    chmod(data + "/console.sqlite", 0o644)
    _ = try Console(dataDirectory: data)
    #expect(mode(data) == 0o700 && mode(data + "/console.sqlite") == 0o600)
  }
}
