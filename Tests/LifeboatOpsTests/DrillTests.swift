import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatPosture
import LifeboatTesting
import Testing

@Suite struct DrillTests {
  @Test func aDrillOrRunbookWhoseEvidenceCannotBeRecordedSaysSo() async throws {
    let f = try await OpsFixture()
    defer { f.remove() }
    let src = f.dir.sub("sis")
    try FixtureTree.build(at: src, seed: 14, options: { var o = FixtureTree.Options(); o.files = 5; return o }())
    let plan = try f.writePlan(
      """
        - name: SIS
          rto: 1h
          sources: [{ path: \(src) }]
          copies: [onsite]
          drill: { checks: ["test -d {restored}\(src)"] }
      """)
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    let sis = try #require(plan.systems.first)
    #expect(await SystemRunner(context: context, system: sis).run().outcome == .success)
    try await context.catalog.refuseJobAndAuditWrites()

    // The drill itself still runs and passes; what the catalog could not keep is named.
    let report = await DrillRunner(context: context, system: sis).run()
    #expect(report.verdict == .passed, "\(report.reasons)")
    let missing = report.notRecorded ?? []
    #expect(missing.count == 2, "\(missing)")
    #expect(missing.contains { $0.hasPrefix("catalog: cannot record the drill's start:") }, "\(missing)")
    #expect(missing.contains { $0.hasPrefix("catalog: cannot record the drill in the audit log:") }, "\(missing)")
    #expect(try context.catalog.jobs(system: sis.name).filter { $0.kind == "drill" }.isEmpty)

    // A runbook collects its own and its drills'.
    let result = await RunbookExecution.run(try Runbook.make(plan, now: clock.now()), context: context, sandboxRoot: f.dir.path)
    let all = result.notRecorded ?? []
    #expect(!result.failed)
    #expect(all.contains { $0.hasPrefix("catalog: cannot record the runbook's start in the audit log:") }, "\(all)")
    #expect(all.contains { $0.hasPrefix("catalog: cannot record the runbook's end in the audit log:") }, "\(all)")
    #expect(all.contains { $0.hasPrefix("SIS: catalog: cannot record the drill's start:") }, "\(all)")

    // A report with everything recorded has no such field in its JSON (the evidence files
    // and the golden reports stay as they were).
    let json = String(decoding: try JSONEncoder().encode(DrillReport(
      system: "x", repository: "r", actor: "a", host: "h", started: Date(), ended: Date(), sandbox: "/s", rtoSeconds: 1)), as: UTF8.self)
    #expect(!json.contains("notRecorded"))
  }

  @Test func aDrillRestoresVerifiesChecksTimesAndKeepsTheEvidence() async throws {
    let f = try await OpsFixture()
    defer { f.remove() }
    let src = f.dir.sub("sis")
    try FixtureTree.build(at: src, seed: 12, options: { var o = FixtureTree.Options(); o.files = 30; return o }())
    let plan = try f.writePlan(
      """
        - name: SIS
          rto: 1h
          sources: [{ path: \(src) }]
          copies: [onsite, offsite]
          drill:
            every: 30d
            checks:
              - "test -d {restored}\(src)"
              - { script: "test \\"$LIFEBOAT_RESTORED\\" = {restored} && ls {restored}\(src) | wc -l", timeout: 1m }
        - name: Broken check
          rto: 1h
          sources: [{ path: \(src) }]
          copies: [onsite]
          drill: { checks: ["true", "echo the database is empty >&2; exit 4", "touch \(f.dir.sub("never"))"] }
        - name: Slow
          rto: 1s
          sources: [{ path: \(src) }]
          copies: [onsite]
          drill: { checks: ["sleep 1.5"] }
      """)
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    for s in plan.systems { #expect(await SystemRunner(context: context, system: s).run().outcome == .success) }

    let sis = plan.systems[0]
    #expect(PlanStatus.status(sis, history: try context.catalog.jobs(), now: clock.now()).drillOverdue, "never drilled")
    let report = await DrillRunner(context: context, system: sis).run()
    #expect(report.verdict == .passed, "\(report.reasons)")
    #expect(report.repository == "offsite", "drills restore from the last copy by default")
    #expect(report.files > 30 && report.verifiedFiles > 30 && report.verifiedNodes > report.files,
      "\(report.files) files, \(report.verifiedFiles) verified, \(report.verifiedNodes) nodes")
    #expect(report.checks.count == 2 && report.checks.allSatisfy(\.passed))
    #expect(["open", "restore", "verify", "checks", "cleanup"].allSatisfy { report.phases[$0] != nil })
    #expect(report.recoverySeconds > 0 && report.projectedSeconds != nil)
    #expect(!FileManager.default.fileExists(atPath: report.sandbox), "the sandbox is removed")

    // The evidence: a drill job with the full report, an audit event, and the status.
    let job = try #require(try context.catalog.jobs(system: "SIS", kind: "drill").first)
    let stored = try JSONDecoder.drill.decode(DrillReport.self, from: Data(try #require(job.details).utf8))
    #expect(stored.verdict == .passed && stored.snapshot == report.snapshot && stored.actor == "test")
    #expect(try context.catalog.auditEvents().contains { $0.kind == "drill" && $0.details.contains("passed") })
    let status = PlanStatus.status(sis, history: try context.catalog.jobs(), now: clock.now())
    #expect(status.lastDrillVerdict == .passed && job.verdict == .passed && status.lastDrillRecoverySeconds == report.recoverySeconds)
    #expect(!status.drillOverdue)

    let broken = await DrillRunner(context: context, system: plan.systems[1]).run()
    #expect(broken.verdict == .failed)
    #expect(broken.reasons.first?.contains("exit status 4: the database is empty") == true, "\(broken.reasons)")
    #expect(!FileManager.default.fileExists(atPath: f.dir.sub("never")), "checks stop at the first failure")

    let slow = await DrillRunner(context: context, system: plan.systems[2]).run()
    #expect(slow.verdict == .passedOverRTO, "\(slow.reasons)")
    #expect(slow.reasons.first?.contains("over the RTO") == true)

    // An unreachable copy fails with that reason.
    try FileManager.default.moveItem(atPath: f.dir.sub("offsite"), toPath: f.dir.sub("offsite-gone"))
    let unreachable = await DrillRunner(context: context, system: sis).run()
    #expect(unreachable.verdict == .failed && unreachable.reasons.first?.contains("cannot reach repository offsite") == true)
  }

  @Test func httpChecks() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let src = f.dir.sub("www")
    try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
    try FixtureTree.write(src + "/health", Array("ok".utf8))
    // Port 0: the server picks a free port and says which once it listens — no fixed wait.
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    server.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", src]
    let said = Pipe()
    server.standardOutput = said
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer {
      // SIGKILL: the test runner's children can inherit an ignored SIGTERM, and a terminated-
      // looking server would outlive the test.
      kill(server.processIdentifier, SIGKILL)
      server.waitUntilExit()
    }
    let port = try await offThePool { () -> Int in
      var text = ""
      while !text.contains("\n") {
        let chunk = said.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        text += String(decoding: chunk, as: UTF8.self)
      }
      // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
      return text.split(separator: " ").drop { $0 != "port" }.dropFirst().first.flatMap { Int($0) } ?? 0
    }
    try #require(port > 0, "the test HTTP server did not say its port")
    let plan = try f.writePlan(
      """
        - name: Web
          sources: [{ path: \(src) }]
          drill: { checks: [{ http: "http://127.0.0.1:\(port)/health" }] }
        - name: Web missing page
          sources: [{ path: \(src) }]
          drill: { checks: [{ http: "http://127.0.0.1:\(port)/nope", expect: 200 }] }
      """, repositories: ["onsite"])
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    for s in plan.systems { _ = await SystemRunner(context: context, system: s).run() }
    let ok = await DrillRunner(context: context, system: plan.systems[0]).run()
    #expect(ok.verdict == .passed, "\(ok.reasons)")
    let missing = await DrillRunner(context: context, system: plan.systems[1]).run()
    #expect(missing.verdict == .failed && missing.reasons.first?.contains("HTTP 404") == true, "\(missing.reasons)")
  }

  @Test func theRunbookOrdersByDependencyTierAndRTOAndRunsAsADrill() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let src = f.dir.sub("d")
    try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
    try FixtureTree.write(src + "/a", Array("a".utf8))
    let plan = try f.writePlan(
      """
        - name: Archive
          tier: archival
          sources: [{ path: \(src) }]
        - name: Finance
          tier: important
          owner: Omar
          sources: [{ path: \(src) }]
          depends_on: [Directory]
        - name: Directory
          tier: important
          rto: 2h
          sources: [{ path: \(src) }]
          drill: { checks: ["exit 1"] }
        - name: SIS
          tier: critical
          sources: [{ path: \(src) }]
          depends_on: [Directory]
        - name: Email
          tier: critical
          rto: 1h
          sources: [{ path: \(src) }]
      """, repositories: ["onsite"])
    let clock = ManualClock()
    let book = try Runbook.make(plan, now: clock.now())
    #expect(book.steps.map(\.system) == ["Email", "Directory", "SIS", "Finance", "Archive"])
    #expect(book.markdown.contains("## 4. Finance (important)") && book.markdown.contains("- Owner: Omar"))
    #expect(book.steps[0].commands.first?.contains("--clean") == true)

    let context = try f.context(plan, clock: clock)
    for s in plan.systems { _ = await SystemRunner(context: context, system: s).run() }
    let run = await RunbookExecution.run(book, context: context)
    #expect(run.results.map(\.verdict) == ["passed", "failed", "skipped", "skipped", "passed"])
    #expect(run.results[2].reason.contains("Directory failed"))
    #expect(run.results.allSatisfy { $0.elapsedSeconds >= 0 } && run.failed)
    #expect(try context.catalog.jobs(kind: "drill").count == 3, "every attempted system left its evidence")
  }
}
