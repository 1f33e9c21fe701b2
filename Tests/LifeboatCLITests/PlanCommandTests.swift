import Foundation
import LifeboatCLI
import LifeboatTesting
import Testing

/// The plan commands through the real binary: plan check, run, status, audit and the agent
/// stopped by SIGTERM in the middle of a job.
@Suite(.serialized) struct PlanCommandTests {
  struct Org {
    let dir = TemporaryDirectory("lifeboat-plan-cli")
    var repo: String { dir.sub("repo") }
    var plan: String { dir.sub("plan.yaml") }
    var catalog: String { dir.sub("plan.catalog.sqlite") }

    func lifeboat(_ args: [String], wait: Bool = true) async throws -> (code: Int32, output: String, process: Process) {
      try await CLIFixture.launch(
        args,
        environment: ["LB_PW": "plan-cli-password", "LIFEBOAT_PASSWORD": "plan-cli-password", "LIFEBOAT_PLAN": plan],
        dir: dir, wait: wait)
    }

    func sqlite(_ sql: String) throws -> String {
      try Subprocess.run(["sqlite3", catalog, sql]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func writePlan(_ systems: String) throws {
      try FixtureTree.write(
        plan,
        Array(
          """
          organization: CLI Test
          repositories:
            local: { url: \(repo), password: "env:LB_PW" }
          systems:
          \(systems)
          """.utf8))
    }
  }

  @Test func runStatusAuditAndTamperDetection() async throws {
    let org = Org()
    defer { org.dir.remove() }
    let src = org.dir.sub("src")
    try FixtureTree.build(at: src, seed: 8, options: { var o = FixtureTree.Options(); o.files = 10; return o }())
    try org.writePlan(
      """
        - name: Mail
          schedule: every 1h
          rpo: 2h
          sources: [{ path: \(src) }]
      """)
    #expect(try await org.lifeboat(["init", "-r", org.repo]).code == 0)
    let check = try await org.lifeboat(["plan", "check"])
    #expect(check.code == 0, "\(check.output)")
    let breached = try await org.lifeboat(["status"])
    #expect(breached.code == 1 && breached.output.contains("backups   RED       no good backup yet"), "never backed up: \(breached.output)")
    let run = try await org.lifeboat(["run"])
    #expect(run.code == 0 && run.output.contains("backup local success"), "\(run.output)")
    #expect(try await org.lifeboat(["run"]).output.contains("nothing is due"))
    let status = try await org.lifeboat(["status", "--json"])
    #expect(status.code == 0 && status.output.contains("\"rpoState\" : \"ok\""), "\(status.output)")

    // Drill, status, runbook and the clean restore through the command line.
    let drill = try await org.lifeboat(["drill", "--system", "Mail"])
    #expect(drill.code == 0 && drill.output.contains("verdict: PASSED"), "\(drill.output)")
    let drilled = try await org.lifeboat(["status"]).output
    #expect(drilled.contains("recovery  GREEN     drill of") && drilled.contains(": passed, recovered in"), "\(drilled)")
    let book = try await org.lifeboat(["runbook"])
    #expect(book.code == 0 && book.output.contains("## 1. Mail (important)"), "\(book.output)")
    let clean = try await org.lifeboat(["restore", "--system", "Mail", "--clean", "--target", org.dir.sub("r"), "--verify"])
    #expect(clean.code == 0 && clean.output.contains("clean restore point"), "\(clean.output)")
    #expect(TreeComparison.differences(src, org.dir.sub("r") + src) == [])

    // Destructive repository commands given --plan (here via LIFEBOAT_PLAN) are audited.
    #expect(try await org.lifeboat(["run", "--system", "Mail"]).code == 0)
    #expect(try await org.lifeboat(["forget", "-r", org.repo, "--keep-last", "1"]).code == 0)
    try FixtureTree.write(org.dir.sub("newpw"), Array("another-password\n".utf8))
    #expect(try await org.lifeboat(["key", "add", "-r", org.repo, "--new-password-file", org.dir.sub("newpw")]).code == 0)
    let list = try await org.lifeboat(["audit", "list"])
    for kind in ["plan-change", "run", "forget", "key-change"] {
      #expect(list.output.contains(" \(kind) "), "\(kind) missing from: \(list.output)")
    }
    let verified = try await org.lifeboat(["audit", "verify"])
    #expect(verified.code == 0 && verified.output.contains("intact"), "\(verified.output)")

    // Someone edits history: verify fails with exit code 1 and names the event.
    _ = try org.sqlite("DROP TRIGGER audit_no_update; UPDATE audit SET details = '{}' WHERE kind = 'forget'")
    let broken = try await org.lifeboat(["audit", "verify"])
    #expect(broken.code == 1 && broken.output.contains("was edited"), "\(broken.output)")

    // A plan with errors: exit code 1, with the line.
    try FixtureTree.write(org.plan, Array("organization: X\nrepositories: {}\nsystems:\n  - name: A\n    tier: urgent\n".utf8))
    let bad = try await org.lifeboat(["plan", "check"])
    #expect(bad.code == 1 && bad.output.contains("plan.yaml:5:11: error: tier must be"), "\(bad.output)")
  }

  @Test func sigtermStopsTheAgentAndRecordsTheInterruptedJob() async throws {
    let org = Org()
    defer { org.dir.remove() }
    try org.writePlan(
      """
        - name: Slow
          schedule: every 1h
          sources:
            - command: "echo start; sleep 900; echo never"
              as: slow.dump
      """)
    #expect(try await org.lifeboat(["init", "-r", org.repo]).code == 0)
    let agent = try await org.lifeboat(["agent", "--max-jitter", "0s"], wait: false)
    let running = try await offThePool {
      for _ in 0..<200 {
        Thread.sleep(forTimeInterval: 0.2)
        if (try? org.sqlite("SELECT count(*) FROM jobs WHERE outcome = 'running'")) == "1" { return true }
      }
      return false
    }
    #expect(running, "the agent started the due job")
    let stopAsked = Date()
    kill(agent.process.processIdentifier, SIGTERM)
    try await offThePool { agent.process.waitUntilExit() }
    #expect(agent.process.terminationStatus == 0)
    #expect(Date().timeIntervalSince(stopAsked) < 300, "the running command was stopped, not waited for (it sleeps 900 s)")
    #expect(try org.sqlite("SELECT outcome FROM jobs") == "interrupted")
    #expect(try org.sqlite("SELECT kind FROM audit ORDER BY seq DESC LIMIT 1") == "agent-stop")
    // The repository is valid, unlocked and holds no half snapshot.
    #expect(try FileManager.default.contentsOfDirectory(atPath: org.repo + "/locks").isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: org.repo + "/snapshots").isEmpty)
    #expect(try await org.lifeboat(["check", "-r", org.repo]).code == 0)
  }
}
