import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LifeboatCatalog
import LifeboatConsole
import LifeboatEngine
import LifeboatServer
import LifeboatTesting
import Testing

@Suite struct DashboardTests {
  static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("test-artifacts/dashboard").path

  static func form(_ pairs: [(String, String)]) -> ByteBuffer {
    ByteBuffer(string: pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
  }

  static let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

  /// Fills acme with a plan, backups, a failure and a drill, and zenith with nothing.
  static func seed(_ f: ServerFixture) throws {
    try f.console.storePlan(tenant: "acme", text: acmePlan, actor: "test")
    var jobs: [JobRecord] = []
    for i in 0..<6 {
      jobs.append(TenantStateTests.job(Int64(i + 1), "backup", "EHR", .success, ago: Double(6 - i) * 3600))
    }
    jobs.append(TenantStateTests.job(7, "backup", "Scans", .failed, ago: 1800))
    jobs[6].errors = ["source /srv/scans is unreadable: permission denied"]
    var drill = TenantStateTests.job(8, "drill", "EHR", .success, ago: 900)
    drill.files = 1200
    jobs.append(drill)
    for j in jobs { try f.console.ingest(tenant: "acme", source: "fs1", job: j, actor: "agent") }
  }

  @Test func loginSessionsAndForms() async throws {
    let f = try ServerFixture()
    defer { f.remove() }
    try Self.seed(f)
    try await f.app().test(.router) { client in
      // A wrong token and a backup token cannot sign in.
      try await client.execute(uri: "/login", method: .post, headers: Self.formType, body: Self.form([("token", "lb_wrong")])) { r in
        #expect(r.status == .unauthorized)
        #expect(r.text.contains("not valid"))
      }
      try await client.execute(uri: "/login", method: .post, headers: Self.formType, body: Self.form([("token", f.tokens["acme-backup"]!)])) { r in
        #expect(r.status == .forbidden)
      }
      // A good one gets a session cookie: HttpOnly, SameSite=Strict; `next` may not leave the site.
      let cookie = try await client.execute(uri: "/login", method: .post, headers: Self.formType,
        body: Self.form([("token", f.tokens["acme-admin"]!), ("next", "//evil.example/")])) { r -> String in
        #expect(r.status == .seeOther)
        #expect(r.headers[.location] == "/")
        let set = r.headers[.setCookie] ?? ""
        #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "\(set)")
        return String(set.prefix { $0 != ";" })
      }
      let session: HTTPFields = [.cookie: cookie]
      try await client.execute(uri: "/", method: .get, headers: session) { r in
        #expect(r.status == .ok)
        #expect(r.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
        #expect(r.text.contains("Acme Family Clinic"))
        #expect(!r.text.contains("Zenith"), "a tenant's admin sees only its tenant")
        #expect(!r.text.contains("<script"), "no JavaScript")
      }
      try await client.execute(uri: "/ui/tenants/zenith", method: .get, headers: session) { r in
        #expect(r.status == .forbidden)
      }
      try await client.execute(uri: "/ui/tenants/acme", method: .get, headers: session) { r in
        #expect(r.text.contains("EHR") && r.text.contains("permission denied"), "systems and the failure")
      }
      // Forms need the session's CSRF token.
      let requester = try #require(try f.console.principal(id: f.ids["acme-operator"]!))
      let a = try f.console.requestApproval(tenant: "acme", action: .deleteRepository, repository: "files", snapshots: [],
        reason: "test", by: requester)
      try await client.execute(uri: "/ui/approvals/\(a.id)/reject", method: .post, headers: session.merging(Self.formType),
        body: Self.form([("csrf", "forged")])) { r in
        #expect(r.status == .forbidden)
        #expect(r.message.contains("CSRF"))
      }
      #expect(try f.console.approval(id: a.id)?.state == .pending)
      let page = try await client.execute(uri: "/ui/approvals", method: .get, headers: session) { $0.text }
      let csrf = try #require(page.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) })
      try await client.execute(uri: "/ui/approvals/\(a.id)/reject", method: .post, headers: session.merging(Self.formType),
        body: Self.form([("csrf", csrf)])) { r in
        #expect(r.status == .seeOther)
      }
      #expect(try f.console.approval(id: a.id)?.state == .rejected)
      // Logging out ends the session.
      try await client.execute(uri: "/logout", method: .post, headers: session.merging(Self.formType), body: Self.form([("csrf", csrf)])) { r in
        #expect(r.status == .seeOther)
      }
      try await client.execute(uri: "/", method: .get, headers: session) { r in
        #expect(r.status == .seeOther, "the old cookie no longer works")
      }
    }
  }

  /// The dashboard in headless Chromium: the login page from the running server, and each
  /// signed-in page as served (they are self-contained), rendered without JavaScript.
  /// Screenshots go to test-artifacts/dashboard/ (kept by CI).
  @Test(.enabled(if: Chromium.shouldRun))
  func dashboardRendersInChromium() async throws {
    let chromium = try #require(Chromium.path, "headless Chromium (Debian `chromium`) is needed; make test installs it")
    let f = try ServerFixture()
    defer { f.remove() }
    try Self.seed(f)
    try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
    // The live server answers on threads of its own: the test client gives up after 20 s, and
    // on two cores the tests beside this one can hold the cooperative pool longer than that.
    try await withTaskExecutorPreference(Self.serverThreads) { try await f.app().test(.live) { client in
      let port = try #require(client.port)
      // The real server, in Chromium: a visitor without a session lands on the sign-in form.
      // Chromium asks this process's server: wait for it off the cooperative pool, which serves.
      let dom = try await offThePool { try Chromium.run(chromium, ["--dump-dom", "http://127.0.0.1:\(port)/"], width: 1280, height: 900) }
      #expect(dom.contains("name=\"token\"") && dom.contains("Sign in"), "\(dom.prefix(400))")
      _ = try await offThePool {
        try Chromium.run(chromium, ["--screenshot=\(Self.artifacts)/login.png", "http://127.0.0.1:\(port)/login"], width: 1280, height: 700)
      }

      let cookie = try await client.execute(uri: "/login", method: .post, headers: Self.formType,
        body: Self.form([("token", f.tokens["admin"]!)])) { r in String((r.headers[.setCookie] ?? "").prefix { $0 != ";" }) }
      let pages: [(String, String, [String])] = [
        ("overview", "/", ["tenants"]),
        ("tenant", "/ui/tenants/acme", ["systems", "drills", "runs"]),
        ("run", "/ui/tenants/acme/runs/7", ["run"]),
        ("approvals", "/ui/approvals", ["approvals"]),
      ]
      for (name, path, ids) in pages {
        let html = try await client.execute(uri: path, method: .get, headers: [.cookie: cookie]) { r -> String in
          #expect(r.status == .ok, "\(path): \(r.status)")
          return r.text
        }
        #expect(!html.contains("<script"), "\(name): works without JavaScript")
        let file = Self.artifacts + "/\(name).html"
        try html.write(toFile: file, atomically: true, encoding: .utf8)
        let probe = Self.artifacts + "/\(name).probe.html"
        try html.replacingOccurrences(of: "</body>", with: Chromium.probeScript + "</body>").write(toFile: probe, atomically: true, encoding: .utf8)
        // Every browser run waits off the cooperative pool: the live server needs its threads.
        let result = try Chromium.probeResult(
          try await offThePool { try Chromium.run(chromium, ["--dump-dom", "file://" + probe], width: 1280, height: 900) })
        #expect(result.overflow.isEmpty, "\(name): elements wider than the window: \(result.overflow)")
        #expect(result.scrollWidth <= result.width, "\(name): scrolls sideways")
        let rendered = try await offThePool {
          try Chromium.run(chromium, ["--disable-javascript", "--dump-dom", "file://" + file], width: 1280, height: 900)
        }
        for id in ids { #expect(rendered.contains("id=\"\(id)\""), "\(name): #\(id) rendered") }
        _ = try await offThePool {
          try Chromium.run(chromium, ["--disable-javascript", "--screenshot=\(Self.artifacts)/\(name).png", "file://" + file],
            width: 1280, height: 900)
        }
        let png = try Data(contentsOf: URL(fileURLWithPath: "\(Self.artifacts)/\(name).png"))
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "\(name).png is a PNG")
        #expect(png.count > 15_000, "\(name).png has content (\(png.count) bytes)")
      }
    } }
  }
  static let serverThreads = BlockingExecutor(threads: 2)
}

extension HTTPFields {
  func merging(_ other: HTTPFields) -> HTTPFields {
    var h = self
    h.append(contentsOf: other)
    return h
  }
}
