import Foundation
import LifeboatCatalog
import LifeboatOps
import LifeboatPlan
import LifeboatTesting
import Logging
import Testing

@Suite struct AgentTests {
  /// The agent on a manual clock: each second of a 12-second window is one pass of its loop,
  /// so every run lands exactly on its schedule and nothing sleeps.
  @Test func twoSystemsRunOnTheirSchedulesWithoutOverlap() async throws {
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
            - command: "echo dump"
              as: slow.dump
      """, repositories: ["onsite"])
    var options = AgentOptions()
    options.jitterShare = 0
    var logger = Logger(label: "test.agent")
    logger.logLevel = .critical
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let clock = ManualClock(t0)
    let agent = try Agent(
      planFile: f.dir.sub("plan.yaml"), options: options, environment: OpsFixture.environment, clock: clock, logger: logger)
    agent.begin()
    for _ in 0...12 {
      await agent.step()
      clock.advance(1)
    }
    agent.stop()
    await agent.finish()

    let plan = try #require(PlanLoader.load(file: f.dir.sub("plan.yaml")).plan)
    let catalog = try Catalog(path: plan.catalog)
    let jobs = try catalog.jobs(kind: "backup")
    #expect(jobs.allSatisfy { $0.outcome == .success }, "\(jobs.map(\.errors))")
    for (name, interval) in [("Fast", 2.0), ("Slower", 3.0)] {
      let runs = jobs.filter { $0.system == name }.map { $0.started.timeIntervalSince(t0) }.sorted()
      #expect(runs == Array(stride(from: 0.0, through: 12.0, by: interval)), "\(name) ran at \(runs)")
    }
    let events = try catalog.auditEvents().map(\.kind)
    #expect(events.first == "plan-change" && events.dropFirst().first == "agent-start" && events.last == "agent-stop")
    #expect(events.filter { $0 == "run" }.count == jobs.count)
    #expect(try catalog.jobs(kind: "drill").count == 2, "each system's first drill, once it had a good backup")
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
