import Foundation
import LifeboatCatalog
import LifeboatOps
import LifeboatPlan
import LifeboatTesting
import Logging
import Testing

@Suite struct AgentTests {
  @Test func twoSystemsOnShortSchedulesRunWithoutOverlapUntilStopped() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let a = f.dir.sub("a")
    let b = f.dir.sub("b")
    for d in [a, b] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
    try FixtureTree.write(a + "/1.txt", Array("one".utf8))
    try FixtureTree.write(b + "/2.txt", Array("two".utf8))
    _ = try f.writePlan(
      """
        - name: Fast
          schedule: every 2s
          rpo: 1h
          sources: [{ path: \(a) }]
        - name: Slower
          schedule: every 3s
          rpo: 1h
          sources:
            - path: \(b)
            - command: "sleep 1; echo dump"
              as: slow.dump
      """, repositories: ["onsite"])
    var options = AgentOptions()
    options.tick = .milliseconds(500)
    options.jitterShare = 0.1
    var logger = Logger(label: "test.agent")
    logger.logLevel = .critical
    let agent = try Agent(planFile: f.dir.sub("plan.yaml"), options: options, environment: OpsFixture.environment, logger: logger)
    let run = Task { await agent.run() }
    // Run until each system has completed a few backups (bounded: no timing assertion, a
    // loaded machine only makes it take longer).
    let plan = try #require(PlanLoader.load(file: f.dir.sub("plan.yaml")).plan)
    let catalog = try Catalog(path: plan.catalog)
    func finished(_ name: String) throws -> Int {
      try catalog.jobs(system: name, kind: "backup").filter { $0.outcome == .success }.count
    }
    let deadline = Date().addingTimeInterval(600)
    while (try finished("Fast") < 3 || finished("Slower") < 2), Date() < deadline {
      try await Task.sleep(for: .milliseconds(200))
    }
    agent.stop()
    await run.value

    let jobs = try catalog.jobs(kind: "backup")
    let fast = jobs.filter { $0.system == "Fast" }.sorted { $0.started < $1.started }
    let slower = jobs.filter { $0.system == "Slower" }.sorted { $0.started < $1.started }
    #expect(fast.filter { $0.outcome == .success }.count >= 3)
    #expect(slower.filter { $0.outcome == .success }.count >= 2)
    #expect(jobs.allSatisfy { $0.outcome == .success || $0.outcome == .interrupted }, "\(jobs.map(\.errors))")
    #expect(!jobs.contains { $0.outcome == .running }, "every job recorded its end")
    for (runs, interval) in [(fast, 2.0), (slower, 3.0)] {
      for (x, y) in zip(runs, runs.dropFirst()) {
        #expect(y.started >= x.ended ?? y.started, "two jobs of one system overlapped")
        #expect(y.started.timeIntervalSince(x.started) >= interval - 0.05, "a run came before its schedule")
      }
    }
    let events = try catalog.auditEvents().map(\.kind)
    #expect(events.first == "plan-change" && events.dropFirst().first == "agent-start" && events.last == "agent-stop")
    #expect(events.filter { $0 == "run" }.count == fast.count + slower.count)
  }

  @Test func reloadKeepsTheOldPlanWhenTheNewOneIsInvalid() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    _ = try f.writePlan("  - name: One\n    sources: [{ path: /etc/hostname }]\n", repositories: ["onsite"])
    let agent = try Agent(planFile: f.dir.sub("plan.yaml"), environment: OpsFixture.environment)
    try FixtureTree.write(f.dir.sub("plan.yaml"), Array("organization: [broken\n".utf8))
    #expect(agent.reload() == false)
    _ = try f.writePlan(
      "  - name: One\n    sources: [{ path: /etc/hostname }]\n  - name: Two\n    sources: [{ path: /etc/hostname }]\n",
      repositories: ["onsite"])
    #expect(agent.reload())
    let plan = try #require(PlanLoader.load(file: f.dir.sub("plan.yaml")).plan)
    let events = try Catalog(path: plan.catalog).auditEvents()
    let changes = events.filter { $0.kind == "plan-change" }
    #expect(changes.count == 1, "the valid new plan is recorded once, by its hash")
    #expect(changes.first?.details.contains("sha256") == true)
  }
}
