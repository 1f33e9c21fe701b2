import Foundation
import GRDB
@testable import LifeboatCatalog
import LifeboatCore
import LifeboatEngine
import LifeboatOps
import LifeboatPlan
import LifeboatPosture
import LifeboatRepository
import LifeboatTesting
import Testing

@Suite struct SystemRunnerTests {
  @Test func aRunWhoseCatalogCannotBeWrittenStillBacksUpButFailsAndSaysWhatIsMissing() async throws {
    let f = try await OpsFixture()
    defer { f.remove() }
    let src = f.dir.sub("files")
    try FixtureTree.build(at: src, seed: 5, options: { var o = FixtureTree.Options(); o.files = 5; return o }())
    let plan = try f.writePlan(
      """
        - name: Payroll
          tier: important
          sources:
            - path: \(src)
          retention: { last: 2 }
          copies: [onsite]
      """)
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    let system = try #require(plan.systems.first)
    try await context.catalog.refuseJobAndAuditWrites()
    let report = await SystemRunner(context: context, system: system).run()

    // Protection comes first: the backup is made.
    let snapshots = try await f.open("onsite").listSnapshots().snapshots
    #expect(snapshots.count == 1)
    #expect(report.snapshot != nil && report.snapshot == snapshots.first?.id.hex)
    // But without its evidence the run is no success, and it says what was not recorded.
    #expect(report.outcome == .failed)
    for what in ["the backup's start", "the start of retention in onsite", "the run in the audit log"] {
      #expect(report.errors.contains { $0.hasPrefix("catalog: cannot record \(what):") }, "\(what): \(report.errors)")
    }
    #expect(try context.catalog.jobs(system: system.name).isEmpty)
  }

  @Test func aRunBacksUpPathsAndCommandsCopiesAppliesRetentionAndRecordsEverything() async throws {
    let f = try await OpsFixture()
    defer { f.remove() }
    let src = f.dir.sub("files")
    try FixtureTree.build(at: src, seed: 3, options: { var o = FixtureTree.Options(); o.files = 20; return o }())
    let plan = try f.writePlan(
      """
        - name: Student Information System
          tier: critical
          sources:
            - path: \(src)
            - command: "printf 'COPY students FROM stdin;\\\\n1\\\\tAda\\\\n'"
              as: sis.sql
          retention: { last: 2 }
          copies: [onsite, offsite]
          hooks:
            before: "echo before > \(f.dir.sub("hook-before"))"
            after: "echo \\"$LIFEBOAT_SYSTEM\\" > \(f.dir.sub("hook-after"))"
      """)
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    let system = try #require(plan.systems.first)
    var snapshots: [String] = []
    for run in 0..<3 {
      if run > 0 { clock.advance(3600) }
      let report = await SystemRunner(context: context, system: system).run()
      #expect(report.outcome == .success, "\(report.errors)")
      snapshots.append(try #require(report.snapshot))
      #expect(report.jobs.map(\.kind) == ["backup", "copy", "forget", "forget"])
    }
    #expect(FileManager.default.fileExists(atPath: f.dir.sub("hook-before")))
    #expect((try? String(contentsOfFile: f.dir.sub("hook-after"), encoding: .utf8)) == "Student Information System\n")

    // Both repositories hold the system's snapshots, pruned to the last two by retention.
    let onsite = try await f.open("onsite")
    let offsite = try await f.open("offsite")
    let on = try await onsite.listSnapshots().snapshots
    let off = try await offsite.listSnapshots().snapshots
    #expect(on.count == 2 && off.count == 2)
    #expect(Set(on.map(\.id.hex)) == Set(snapshots.suffix(2)))
    #expect(on.allSatisfy {
      $0.snapshot.system == "student-information-system" && $0.snapshot.hostname == ProcessInfo.processInfo.hostName
        && $0.snapshot.paths.contains("/sis.sql")
    })

    // The command's output restores byte for byte from the offsite copy.
    let target = f.dir.sub("restore")
    let newest = try #require(off.max { $0.snapshot.time < $1.snapshot.time })
    _ = try await Restorer(repository: offsite, options: RestoreOptions(target: target)).run(snapshot: newest.snapshot)
    #expect(try String(contentsOfFile: target + "/sis.sql", encoding: .utf8) == "COPY students FROM stdin;\n1\tAda\n")
    #expect(TreeComparison.differences(src, target + src) == [])

    // The catalog has every job and the audit log every run and every removal.
    let jobs = try context.catalog.jobs(system: system.name)
    #expect(jobs.filter { $0.kind == "backup" }.count == 3)
    #expect(jobs.allSatisfy { $0.outcome == .success && $0.ended != nil })
    #expect(jobs.first { $0.kind == "backup" }?.files ?? 0 > 20)
    let events = try context.catalog.auditEvents()
    #expect(events.filter { $0.kind == "run" }.count == 3)
    #expect(events.contains { $0.kind == "forget" })
    #expect(try context.catalog.verifyAudit().isIntact)

    let status = PlanStatus.status(system, history: jobs, now: clock.now())
    #expect(status.rpoState == .ok && status.copiesMissing.isEmpty && status.lastError == nil)
    #expect(status.lastGoodSnapshot == snapshots.last)
  }

  @Test func aFailingOrHangingCommandStoresNothingAndRunsTheFailureHook() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let plan = try f.writePlan(
      """
        - name: Mail
          sources:
            - command: "echo partial; exit 3"
              as: mail.dump
          hooks:
            on_failure: "echo \\"$LIFEBOAT_ERROR\\" > \(f.dir.sub("failed"))"
        - name: Hanging
          sources:
            - command: "sleep 900"
              as: hang.dump
              timeout: 1s
      """, repositories: ["onsite"])
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    let mail = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(mail.outcome == .failed && mail.snapshot == nil)
    #expect(mail.errors.first?.contains("exit status 3") == true, "\(mail.errors)")
    #expect((try? String(contentsOfFile: f.dir.sub("failed"), encoding: .utf8))?.contains("exit status 3") == true)

    // `sleep 900` ends only by the watchdog: the timeout error is its proof (no timed assertion).
    let hang = await SystemRunner(context: context, system: plan.systems[1]).run()
    #expect(hang.outcome == .failed)
    #expect(hang.errors.first?.contains("timeout") == true, "\(hang.errors)")

    #expect(try await f.open("onsite").listSnapshots().snapshots.isEmpty, "no snapshot was stored")
    let status = PlanStatus.status(plan.systems[0], history: try context.catalog.jobs(), now: clock.now())
    #expect(status.rpoState == .breached && status.lastError?.contains("exit status 3") == true)
  }

  @Test func dueSystemsFollowTheirSchedulesAndHistory() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let src = f.dir.sub("s")
    try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
    try FixtureTree.write(src + "/a.txt", Array("a".utf8))
    let plan = try f.writePlan(
      """
        - name: Hourly
          schedule: every 1h
          rpo: 2h
          sources: [{ path: \(src) }]
        - name: Nightly
          schedule: daily at 01:00
          sources: [{ path: \(src) }]
      """, repositories: ["onsite"])
    let clock = ManualClock()
    let context = try f.context(plan, clock: clock)
    #expect(PlanStatus.due(plan, history: [], now: clock.now()).count == 2, "never ran: everything is due")
    for s in plan.systems { _ = await SystemRunner(context: context, system: s).run() }
    var history = try context.catalog.jobs()
    #expect(PlanStatus.due(plan, history: history, now: clock.now()).isEmpty)
    clock.advance(3601)
    #expect(PlanStatus.due(plan, history: history, now: clock.now()).map(\.name) == ["Hourly"])
    clock.advance(86400)
    #expect(PlanStatus.due(plan, history: history, now: clock.now()).count == 2)
    history = try context.catalog.jobs()
    let hourly = PlanStatus.status(plan.systems[0], history: history, now: clock.now())
    #expect(hourly.rpoState == .breached, "a day without backups breaks a 2h RPO")
  }
}

extension Catalog {
  /// From now on SQLite refuses every write of a job or an audit event, as on a full disk:
  /// triggers that abort the statement, in the real database.
  func refuseJobAndAuditWrites() async throws {
    try await db.write { db in
      for (table, op) in [("jobs", "INSERT"), ("jobs", "UPDATE"), ("audit", "INSERT")] {
        try db.execute(
          sql: "CREATE TRIGGER refuse_\(table)_\(op) BEFORE \(op) ON \(table) BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
      }
    }
  }
}
