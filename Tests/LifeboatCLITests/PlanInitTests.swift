import Foundation
import LifeboatCLI
import LifeboatTesting
import Testing

/// `plan check` probes the plan's repositories, `plan init` creates them, a plan's `rest:`
/// repository signs in with the plan's token, errors name the plan's repository, and `status`
/// shows the present (issue #21).
@Suite(.serialized) struct PlanInitTests {
  struct Setup {
    let dir: TemporaryDirectory
    let plan: String

    /// A plan written as a new user writes it from the example: two local repositories, one
    /// of them "offsite" on the same disk, one system.
    init(extraRepository: String = "", copies: String = "[onsite, offsite]") throws {
      dir = TemporaryDirectory("lifeboat-plan-init")
      try FixtureTree.build(at: dir.sub("data"), seed: 213, options: { var o = FixtureTree.Options(); o.files = 30; o.specialFiles = false; return o }())
      try FixtureTree.write(dir.sub("onsite.pass"), Array("onsite password\n".utf8))
      try FixtureTree.write(dir.sub("offsite.pass"), Array("offsite password\n".utf8))
      plan = dir.sub("plan.yaml")
      try FixtureTree.write(plan, Array("""
        organization: Riverside Unified School District
        frameworks: [hipaa]
        catalog: catalog.sqlite
        repositories:
          onsite:
            url: \(dir.sub("repos/deep/onsite"))
            password: "file:\(dir.sub("onsite.pass"))"
          offsite:
            url: \(dir.sub("repos/offsite"))
            password: "file:\(dir.sub("offsite.pass"))"
            offsite: true
        \(extraRepository)
        systems:
          - name: Student Information System
            owner: Dana Whitfield <dwhitfield@rusd.example>
            tier: critical
            sources:
              - path: \(dir.sub("data"))
            copies: \(copies)

        """.utf8))
    }

    func lifeboat(_ args: [String], env: [String: String] = [:]) async throws -> (code: Int32, output: String) {
      let r = try await CLIFixture.launch(args + ["--plan", plan], environment: env.merging(["LIFEBOAT_CACHE_DIR": "off"]) { $1 }, dir: dir)
      return (r.code, r.output)
    }
  }

  @Test func initCreatesWhatIsMissingAndChecksWhatExists() async throws {
    let s = try Setup()
    defer { s.dir.remove() }
    // Before init: check warns (exit 0), a run fails naming the plan's repository and plan init.
    var r = try await s.lifeboat(["plan", "check"])
    #expect(r.code == 0, "\(r.output)")
    #expect(r.output.contains("warning: repository onsite (\(s.dir.sub("repos/deep/onsite"))): does not exist yet"), "\(r.output)")
    #expect(r.output.contains("`lifeboat plan init --plan \(s.plan)` creates it"))
    #expect(r.output.contains("repository offsite is marked offsite but is on the same storage as onsite"), "\(r.output)")
    #expect(r.output.contains("0 of 2 repositories exist"))
    r = try await s.lifeboat(["plan", "check", "--offline"])
    #expect(!r.output.contains("does not exist yet"), "--offline probes nothing")
    r = try await s.lifeboat(["run", "--all"])
    #expect(r.code == ExitStatus.fatal)
    #expect(r.output.contains("the plan's repository onsite (\(s.dir.sub("repos/deep/onsite"))) does not exist yet"), "\(r.output)")
    #expect(r.output.contains("lifeboat plan init --plan"))
    #expect(!r.output.contains("LIFEBOAT_REPOSITORY") && !r.output.contains("--repo"), "no advice about --repo in a plan run")

    // init creates both (the missing parent folders too), then finds them ready.
    r = try await s.lifeboat(["plan", "init", "--kdf", "pbkdf2"])
    #expect(r.code == 0, "\(r.output)")
    #expect(r.output.contains("2 of 2 repositories ready (2 created)"), "\(r.output)")
    #expect(FileManager.default.fileExists(atPath: s.dir.sub("repos/deep/onsite/config")))
    r = try await s.lifeboat(["plan", "init"])
    #expect(r.code == 0 && r.output.contains("exists and its password opens it") && r.output.contains("2 of 2 repositories ready\n"), "\(r.output)")
    let audit = try await s.lifeboat(["audit", "list"])
    #expect(audit.output.components(separatedBy: "repository-init").count - 1 == 2, "each creation audited once: \(audit.output)")

    // The first run, then status: the errors from before init are history, not the present.
    r = try await s.lifeboat(["run", "--all"])
    #expect(r.code == 0, "\(r.output)")
    r = try await s.lifeboat(["status"])
    #expect(!r.output.contains("last error"), "\(r.output)")
    #expect(!r.output.contains("does not exist yet"))

    // A wrong password is said in the plan's words.
    try FixtureTree.write(s.dir.sub("offsite.pass"), Array("not the password\n".utf8))
    r = try await s.lifeboat(["plan", "init"])
    #expect(r.code == ExitStatus.fatal)
    #expect(r.output.contains("FAILED: the password file:\(s.dir.sub("offsite.pass")) does not open"), "\(r.output)")
    #expect(r.output.contains("1 of 2 repositories ready; 1 failed"))
    r = try await s.lifeboat(["run", "--all"])
    #expect(r.output.contains("the password file:\(s.dir.sub("offsite.pass")) does not open the plan's repository offsite"), "\(r.output)")
    r = try await s.lifeboat(["status"])
    #expect(r.output.contains("last error") && r.output.contains("does not open"), "a current error is shown: \(r.output)")
    // Its hint is indented under it.
    let lines = r.output.split(separator: "\n")
    if let i = lines.firstIndex(where: { $0.contains("last error") }), i + 1 < lines.count {
      #expect(lines[i + 1].hasPrefix("            hint: "), "\(lines[i + 1])")
    }
  }

  /// A plan's backup says which machine made it and which system it is; a copy says its own ID
  /// in the target and the source's beside it.
  @Test func snapshotsTraceToTheirHostSystemAndSource() async throws {
    let s = try Setup()
    defer { s.dir.remove() }
    #expect(try await s.lifeboat(["plan", "init", "--kdf", "pbkdf2"]).code == 0)
    let run = try await s.lifeboat(["run", "--all"])
    #expect(run.code == 0, "\(run.output)")
    func snapshots(_ repo: String, _ pass: String) async throws -> [[String: Any]] {
      let r = try await CLIFixture.launch(
        ["snapshots", "--json", "-r", s.dir.sub(repo), "--password-file", s.dir.sub(pass)],
        environment: ["LIFEBOAT_CACHE_DIR": "off"], dir: s.dir)
      let start = r.output.firstIndex(of: "[") ?? r.output.startIndex
      return try #require(try JSONSerialization.jsonObject(with: Data(r.output[start...].utf8)) as? [[String: Any]])
    }
    let onsite = try #require(try await snapshots("repos/deep/onsite", "onsite.pass").first)
    let offsite = try #require(try await snapshots("repos/offsite", "offsite.pass").first)
    #expect(onsite["hostname"] as? String == ProcessInfo.processInfo.hostName, "the real host")
    #expect(onsite["system"] as? String == "student-information-system")
    #expect(offsite["system"] as? String == "student-information-system")
    let source = try #require(onsite["id"] as? String)
    let copy = try #require(offsite["id"] as? String)
    #expect(source != copy)
    #expect(run.output.contains("backup onsite success snapshot \(source.prefix(8))"), "\(run.output)")
    #expect(run.output.contains("copy offsite success snapshot \(copy.prefix(8)) (copy of \(source.prefix(8)))"), "\(run.output)")
    let listed = try await CLIFixture.launch(
      ["snapshots", "-r", s.dir.sub("repos/offsite"), "--password-file", s.dir.sub("offsite.pass")],
      environment: ["LIFEBOAT_CACHE_DIR": "off"], dir: s.dir)
    #expect(listed.output.contains("System") && listed.output.contains("student-information-system"), "\(listed.output)")
    // A drill finds the system's snapshot by the same rule.
    let drill = try await s.lifeboat(["drill", "--system", "Student Information System"])
    #expect(drill.code == 0, "\(drill.output)")
    #expect(drill.output.contains("no application checks defined"), "not \"0 checks passed\": \(drill.output)")
  }

  @Test func aServerRepositorySignsInWithThePlansToken() async throws {
    let server = try await RunningServer()
    defer { _ = server.stop() }
    #expect(try server.api("POST", "/api/v1/tenants", json: "{\"id\":\"rusd\"}").0 == 201)
    #expect(try server.api("POST", "/api/v1/tenants/rusd/repositories", json: "{\"name\":\"vault\"}").0 == 201)
    let s = try Setup(
      extraRepository: """
        vault:
          url: rest:\(server.base)/rusd/vault
          password: "file:\(TemporaryDirectory.placeholder)"
          token: "file:\(TemporaryDirectory.placeholder)token"
      """, copies: "[onsite, vault]")
    defer { s.dir.remove() }
    // The placeholders become this setup's own files (the plan is written before we know dir).
    let text = try String(contentsOfFile: s.plan, encoding: .utf8)
      .replacingOccurrences(of: "file:\(TemporaryDirectory.placeholder)token", with: "file:\(s.dir.sub("server-token"))")
      .replacingOccurrences(of: "file:\(TemporaryDirectory.placeholder)", with: "file:\(s.dir.sub("vault.pass"))")
    try FixtureTree.write(s.plan, Array(text.utf8))
    try FixtureTree.write(s.dir.sub("vault.pass"), Array("vault password\n".utf8))
    try FixtureTree.write(s.dir.sub("server-token"), Array(try server.token("rusd-agent", role: "backup", tenant: "rusd").utf8))

    // No LIFEBOAT_SERVER_TOKEN anywhere: the plan's reference is enough.
    let clean = ["LIFEBOAT_SERVER_TOKEN": "", "LIFEBOAT_SERVER_TOKEN_FILE": ""]
    var r = try await s.lifeboat(["plan", "init", "--kdf", "pbkdf2"], env: clean)
    #expect(r.code == 0, "\(r.output)")
    #expect(r.output.contains("3 of 3 repositories ready (3 created)"), "\(r.output)")
    r = try await s.lifeboat(["run", "--all"], env: clean)
    #expect(r.code == 0, "\(r.output)")
    #expect(r.output.contains("copy vault success"), "\(r.output)")
    // A token reference that cannot be read is named, with the repository.
    try FileManager.default.removeItem(atPath: s.dir.sub("server-token"))
    r = try await s.lifeboat(["plan", "init"], env: clean)
    #expect(r.code == ExitStatus.fatal && r.output.contains("the server token of repository vault"), "\(r.output)")
  }
}

extension TemporaryDirectory {
  static let placeholder = "/PLACEHOLDER/"
}
