import Foundation
import LifeboatTesting
import Testing

/// `lifeboat serve` as a real process on loopback, and the `lifeboat` CLI backing up into it.
final class RunningServer {
  let dir: TemporaryDirectory
  let process: Process
  let output: String
  let base: String
  let adminToken: String

  /// Starts the server; `config` is written to a file when given. The first admin token goes
  /// to `adminTokenFile` (a path inside the server's temporary directory); when the server
  /// could not write it there, it is read from what the server printed.
  init(
    config: String? = nil, environment: [String: String] = [:], scheme: String = "http",
    adminTokenFile: String = "admin-token", prepare: (TemporaryDirectory) throws -> Void = { _ in }
  ) async throws {
    dir = TemporaryDirectory("lifeboat-serve")
    try prepare(dir)
    var args = ["serve", "--data", dir.sub("data"), "--port", "0", "--admin-token-file", dir.sub(adminTokenFile)]
    if let config {
      try FixtureTree.write(dir.sub("server.yaml"), Array(config.utf8))
      args += ["--config", dir.sub("server.yaml")]
    }
    let launched = try await CLIFixture.launch(args, environment: environment, dir: dir, wait: false)
    process = launched.process
    output = launched.output
    // Waits for the server's "listening on" line off the cooperative pool.
    let (watched, printedTo) = (process, output)
    let port = try await offThePool { () -> Int in
      for _ in 0..<300 {
        let text = (try? String(contentsOfFile: printedTo, encoding: .utf8)) ?? ""
        if let r = text.range(of: "listening on \(scheme)://127.0.0.1:"), let port = Int(text[r.upperBound...].prefix { $0.isNumber }), port > 0 {
          return port
        }
        guard watched.isRunning else { break }
        Thread.sleep(forTimeInterval: 0.1)
      }
      return 0
    }
    guard port > 0 else {
      process.terminate()
      throw CLIServerFailure(message: "the server did not start: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
    }
    base = "\(scheme)://127.0.0.1:\(port)"
    let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    let fromFile = (try? String(contentsOfFile: dir.sub(adminTokenFile), encoding: .utf8)) ?? ""
    let fromOutput = printed.range(of: "the admin token is\n\n    ").map {
      String(printed[$0.upperBound...].prefix { !$0.isWhitespace })
    }
    adminToken = fromFile.isEmpty ? (fromOutput ?? "") : fromFile.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Everything the server printed so far.
  var printed: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

  /// An API call with curl; returns the status and the body.
  @discardableResult
  func api(_ method: String, _ path: String, token: String? = nil, json: String? = nil, extra: [String] = []) throws -> (Int, String) {
    var args = ["curl", "-s", "-S", "-X", method, "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(token ?? adminToken)"] + extra
    if let json { args += ["-H", "Content-Type: application/json", "--data-binary", json] }
    let (_, out) = try Subprocess.run(args + [base + path])
    let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
  }

  /// Creates a backup token for `tenant`; returns it.
  func token(_ name: String, role: String, tenant: String?) throws -> String {
    let body = tenant.map { "{\"name\":\"\(name)\",\"role\":\"\(role)\",\"tenant\":\"\($0)\"}" } ?? "{\"name\":\"\(name)\",\"role\":\"\(role)\"}"
    let (_, out) = try api("POST", "/api/v1/tokens", json: body, extra: [])
    let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
    guard let t = obj?["token"] as? String else { throw CLIServerFailure(message: "no token in \(out)") }
    return t
  }

  func stop() -> Int32 {
    process.terminate()
    process.waitUntilExit()
    return process.terminationStatus
  }

  deinit {
    if process.isRunning { process.terminate() }
    dir.remove()
  }
}

struct CLIServerFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

@Suite(.serialized) struct ServerCLITests {
  static func writeToken(_ dir: TemporaryDirectory, _ name: String, _ token: String) throws -> String {
    let path = dir.sub(name)
    try FixtureTree.write(path, Array(token.utf8))
    return path
  }

  @Test func theAdminTokenFileIsReadableOnlyByItsOwner() async throws {
    // A file left from an earlier installation, readable by everyone, with an old token.
    let server = try await RunningServer { dir in
      try FixtureTree.write(dir.sub("admin-token"), Array("lb_old-token\n".utf8))
      #expect(chmod(dir.sub("admin-token"), 0o644) == 0)
    }
    let mode = try FileManager.default.attributesOfItem(atPath: server.dir.sub("admin-token"))[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(server.adminToken.hasPrefix("lb_") && server.adminToken != "lb_old-token")
    #expect(try server.api("GET", "/api/v1/tenants").0 == 200)
    #expect(!server.printed.contains(server.adminToken), "the token went to the file, not the output")
  }

  @Test func anAdminTokenThatCannotBeWrittenIsPrintedInsteadOfLost() async throws {
    let server = try await RunningServer(adminTokenFile: "no-such-directory/admin-token")
    #expect(server.printed.contains("error: cannot write the admin token to"), "\(server.printed)")
    #expect(server.printed.contains("No such file or directory"), "\(server.printed)")
    #expect(server.adminToken.hasPrefix("lb_"), "\(server.printed)")
    #expect(try server.api("GET", "/api/v1/tenants").0 == 200)
    #expect(try server.api("GET", "/api/v1/tenants", token: "lb_wrong").0 == 401)
  }

  @Test func backupRestoreThroughTheAppendOnlyEndpointAndServerSideRetention() async throws {
    let config = """
      quarantine_days: 3
      maintenance_every: "0"
      retention:
        - tenant: clinic
          repository: files
          password: env:CLINIC_REPO_PASSWORD
          keep: { last: 1 }

      """
    let password = "clinic repository password"
    let server = try await RunningServer(config: config, environment: ["CLINIC_REPO_PASSWORD": password])
    let dir = TemporaryDirectory("lifeboat-serve-client")
    defer { dir.remove() }
    #expect(server.adminToken.hasPrefix("lb_"))
    #expect(try server.api("POST", "/api/v1/tenants", json: "{\"id\":\"clinic\",\"name\":\"Northside Clinic\"}").0 == 201)
    #expect(try server.api("POST", "/api/v1/tenants/clinic/repositories", json: "{\"name\":\"files\"}").0 == 201)
    let backupToken = try Self.writeToken(dir, "backup-token", try server.token("fs1", role: "backup", tenant: "clinic"))
    try FixtureTree.write(dir.sub("password"), Array(password.utf8))
    let src = dir.sub("src")
    try FixtureTree.build(at: src, seed: 41, options: { var o = FixtureTree.Options(); o.files = 40; o.largeFiles = 1; o.specialFiles = false; return o }())
    let repo = "rest:\(server.base)/clinic/files"
    let env = ["LIFEBOAT_SERVER_TOKEN_FILE": backupToken]
    func lifeboat(_ args: [String], env extra: [String: String] = [:]) async throws -> (Int32, String) {
      let r = try await CLIFixture.launch(args + ["--password-file", dir.sub("password")], environment: env.merging(extra) { $1 }, dir: dir)
      return (r.code, r.output)
    }
    var r = try await lifeboat(["init", "-r", repo])
    #expect(r.0 == 0, "init: \(r.1)")
    r = try await lifeboat(["backup", "-r", repo, src])
    #expect(r.0 == 0, "backup: \(r.1)")
    r = try await lifeboat(["backup", "-r", repo, src])
    #expect(r.0 == 0, "second backup: \(r.1)")
    r = try await lifeboat(["restore", "-r", repo, "latest", "--target", dir.sub("restored"), "--verify"])
    #expect(r.0 == 0 && r.1.contains("all identical"), "restore: \(r.1)")
    #expect(TreeComparison.differences(src, dir.sub("restored") + src).isEmpty)
    r = try await lifeboat(["check", "-r", repo, "--read-data"])
    #expect(r.0 == 0, "check: \(r.1)")
    // The client cannot remove anything: forget and a second init are refused with a clear message.
    r = try await lifeboat(["forget", "-r", repo, "--keep-last", "1"])
    #expect(r.0 == 1 && r.1.contains("append-only"), "forget: \(r.1)")
    r = try await lifeboat(["init", "-r", repo])
    #expect(r.0 != 0, "a second init: \(r.1)")
    r = try await lifeboat(["snapshots", "-r", repo, "--json"])
    let snapshots = try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as? [[String: Any]] ?? []
    #expect(snapshots.count == 2, "both snapshots are still there")
    // Clear errors: no such repository (exit 10), a revoked token.
    r = try await lifeboat(["snapshots", "-r", "rest:\(server.base)/clinic/nothing"])
    #expect(r.0 == 10, "missing repository: \(r.1)")
    r = try await lifeboat(["snapshots", "-r", repo], env: ["LIFEBOAT_SERVER_TOKEN_FILE": try Self.writeToken(dir, "bad", "lb_wrong")])
    #expect(r.0 == 1 && r.1.contains("refused the token"), "wrong token: \(r.1)")

    // A client may protect a snapshot on the append-only server, but not lift the protection.
    let first = try #require(snapshots.first?["id"] as? String)
    r = try await lifeboat(["backup", "-r", repo, src])
    #expect(r.0 == 0, "third backup: \(r.1)")
    r = try await lifeboat(["protect", first, "--reason", "legal hold", "-r", repo])
    #expect(r.0 == 0, "protect: \(r.1)")
    r = try await lifeboat(["unprotect", first, "-r", repo])
    #expect(r.0 == 1 && r.1.contains("not lift a protection"), "unprotect: \(r.1)")

    // Retention runs on the server, with the provider's password: keep the last snapshot, and
    // the protected one.
    let (status, body) = try server.api("POST", "/api/v1/tenants/clinic/repositories/files/maintenance")
    #expect(status == 200, "\(body)")
    let result = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    #expect((result?["snapshotsRemoved"] as? [String])?.count == 1, "\(body)")
    #expect(body.contains("protected (legal hold)"), "\(body)")
    r = try await lifeboat(["snapshots", "-r", repo, "--json"])
    let left = try JSONSerialization.jsonObject(with: Data(r.1.utf8)) as? [[String: Any]] ?? []
    #expect(left.count == 2 && left.first?["id"] as? String == first && left.first?["protected"] is [String: Any], "\(r.1)")
    r = try await lifeboat(["restore", "-r", repo, "latest", "--target", dir.sub("restored2"), "--verify"])
    #expect(r.0 == 0, "restore after server retention: \(r.1)")
    r = try await lifeboat(["check", "-r", repo])
    #expect(r.0 == 0, "check after server retention: \(r.1)")
    let (_, repos) = try server.api("GET", "/api/v1/tenants/clinic/repositories")
    #expect(repos.contains("quarantineDays\":[\""), "the removed snapshot is in quarantine: \(repos)")
    // SIGTERM stops the server gracefully.
    #expect(server.stop() == 0 && server.process.terminationReason == .exit, "SIGTERM: a graceful exit")
  }

  @Test func agentsReportRunsThroughThePlan() async throws {
    let server = try await RunningServer()
    let dir = TemporaryDirectory("lifeboat-serve-plan")
    defer { dir.remove() }
    #expect(try server.api("POST", "/api/v1/tenants", json: "{\"id\":\"school\"}").0 == 201)
    #expect(try server.api("POST", "/api/v1/tenants/school/repositories", json: "{\"name\":\"main\"}").0 == 201)
    let token = try Self.writeToken(dir, "token", try server.token("agent", role: "backup", tenant: "school"))
    try FixtureTree.write(dir.sub("repo-password"), Array("school password".utf8))
    let src = dir.sub("data")
    try FixtureTree.build(at: src, seed: 5, options: { var o = FixtureTree.Options(); o.files = 20; o.largeFiles = 0; o.specialFiles = false; return o }())
    let plan = """
      organization: Lincoln Elementary
      repositories:
        provider:
          url: rest:\(server.base)/school/main
          password: "file:\(dir.sub("repo-password"))"
      server:
        url: \(server.base)
        tenant: school
        token: "file:\(token)"
      systems:
        - name: Files
          tier: important
          sources:
            - path: \(src)

      """
    try FixtureTree.write(dir.sub("plan.yaml"), Array(plan.utf8))
    let env = ["LIFEBOAT_SERVER_TOKEN_FILE": token]
    let initResult = try await CLIFixture.launch(["init", "-r", "rest:\(server.base)/school/main", "--password-file", dir.sub("repo-password")],
      environment: env, dir: dir)
    #expect(initResult.code == 0, "\(initResult.output)")
    let run = try await CLIFixture.launch(["run", "--plan", dir.sub("plan.yaml"), "--all"], environment: env, dir: dir)
    #expect(run.code == 0, "\(run.output)")
    let (_, runs) = try server.api("GET", "/api/v1/tenants/school/runs")
    let jobs = try JSONSerialization.jsonObject(with: Data(runs.utf8)) as? [[String: Any]] ?? []
    #expect(jobs.contains { $0["kind"] as? String == "backup" && $0["outcome"] as? String == "success" && $0["system"] as? String == "Files" },
      "\(runs)")
    // Without the plan uploaded the console still lists the runs; with it, the system's RPO state.
    let (put, _) = try server.api("PUT", "/api/v1/tenants/school/plan", extra: ["--data-binary", "@" + dir.sub("plan.yaml")])
    #expect(put == 200)
    let (_, systems) = try server.api("GET", "/api/v1/tenants/school/systems")
    #expect(systems.contains("\"backups\":{\"area\":\"backups\",\"causes\":[{\"message\":") && systems.contains("\"reason\":\"within-rpo\""), "\(systems)")
    // A second run reports only what is new.
    let again = try await CLIFixture.launch(["run", "--plan", dir.sub("plan.yaml"), "--all"], environment: env, dir: dir)
    #expect(again.code == 0)
    let (_, runs2) = try server.api("GET", "/api/v1/tenants/school/runs")
    let jobs2 = try JSONSerialization.jsonObject(with: Data(runs2.utf8)) as? [[String: Any]] ?? []
    #expect(jobs2.filter { $0["kind"] as? String == "backup" }.count == 2, "\(runs2)")
  }

  /// A lost admin token: the server's operator makes a new one from the data directory.
  @Test func breakGlassMakesANewAdminToken() async throws {
    let server = try await RunningServer()
    let data = server.dir.sub("data")
    let made = try await CLIFixture.launch(["serve", "--data", data, "--new-admin-token", "rescue"], environment: [:], dir: server.dir)
    #expect(made.code == 0, "\(made.output)")
    let token = try #require(made.output.components(separatedBy: .whitespacesAndNewlines).first { $0.hasPrefix("lb_") })
    let (status, body) = try server.api("GET", "/api/v1/whoami", token: token)
    #expect(status == 200 && body.contains("\"rescue\"") && body.contains("\"admin\""), "\(body)")
    let (_, audit) = try server.api("GET", "/api/v1/audit/verify", token: token)
    #expect(audit.contains("\"problems\":[]"), "\(audit)")
  }

  @Test func httpsWithAPrivateCertificate() async throws {
    let dir = TemporaryDirectory("lifeboat-serve-tls")
    defer { dir.remove() }
    let (status, out) = try Subprocess.run([
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir.sub("key.pem"), "-out", dir.sub("cert.pem"),
    ])
    try #require(status == 0, "openssl: \(out)")
    let server = try await RunningServer(
      config: "tls: { certificate: \(dir.sub("cert.pem")), key: \(dir.sub("key.pem")) }\n", scheme: "https")
    #expect(server.base.hasPrefix("https://"))
    #expect(try server.api("POST", "/api/v1/tenants", json: "{\"id\":\"firm\"}", extra: ["--cacert", dir.sub("cert.pem")]).0 == 201)
    #expect(try server.api("POST", "/api/v1/tenants/firm/repositories", json: "{\"name\":\"docs\"}", extra: ["--cacert", dir.sub("cert.pem")]).0 == 201)
    let (_, created) = try server.api("POST", "/api/v1/tokens", json: "{\"name\":\"pc\",\"role\":\"backup\",\"tenant\":\"firm\"}",
      extra: ["--cacert", dir.sub("cert.pem")])
    let token = try #require((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["token"] as? String)
    try FixtureTree.write(dir.sub("password"), Array("firm password".utf8))
    try FixtureTree.write(dir.sub("file.txt"), Array("privileged and confidential".utf8))
    let repo = "rest:\(server.base)/firm/docs"
    // Without the CA the client refuses the certificate and says what to set.
    let refused = try await CLIFixture.launch(["init", "-r", repo, "--password-file", dir.sub("password")],
      environment: ["LIFEBOAT_SERVER_TOKEN": token], dir: dir)
    #expect(refused.code != 0 && refused.output.contains("LIFEBOAT_SERVER_CA"), "\(refused.output)")
    let env = ["LIFEBOAT_SERVER_TOKEN": token, "LIFEBOAT_SERVER_CA": dir.sub("cert.pem")]
    let ok = try await CLIFixture.launch(["init", "-r", repo, "--password-file", dir.sub("password")], environment: env, dir: dir)
    #expect(ok.code == 0, "\(ok.output)")
    let backup = try await CLIFixture.launch(["backup", "-r", repo, "--password-file", dir.sub("password"), dir.sub("file.txt")],
      environment: env, dir: dir)
    #expect(backup.code == 0, "\(backup.output)")
  }
}
