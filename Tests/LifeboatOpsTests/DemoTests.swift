import Foundation
import LifeboatCatalog
import LifeboatOps
import LifeboatDemo
import LifeboatPlan
import LifeboatReport
import LifeboatTesting
import Synchronization
import Testing

/// The district demo (`make demo`) end to end without servers (SQLite, local offsite), so it
/// cannot rot: the story's facts are checked, not printed.
@Suite struct DemoTests {
  @Test func theDistrictWeekCatchesTheAttackAndRestoresTheCleanPoint() async throws {
    let dir = TemporaryDirectory("lifeboat-demo")
    defer { dir.remove() }
    let lines = Mutex<[String]>([])
    // A fixed end of the week, not the hour the test runs: the story's last backups depend on
    // the hour it ends (at 00:30 the attacked backup is the newest; at 15:30 a clean one follows).
    let end = SteppingClock(Date(timeIntervalSince1970: 1_796_657_400))  // 2026-12-07 15:30 UTC
    let demo = DistrictDemo(directory: dir.path, environment: ProcessInfo.processInfo.environment, clock: end) { line in
      lines.withLock { $0.append(line) }
    }
    let plan = try await demo.run()
    let log = lines.withLock { $0 }.joined(separator: "\n")
    #expect(plan.systems.map(\.tier.value) == [.critical, .important, .important, .archival])
    let catalog = try Catalog(path: plan.catalog)
    let backups = try catalog.jobs(kind: "backup")
    #expect(backups.count >= 40 && backups.allSatisfy { $0.outcome == .success }, "\(backups.filter { $0.outcome != .success }.map(\.errors))")
    #expect(try catalog.jobs(kind: "copy").count >= 30)
    let drills = try catalog.jobs(kind: "drill")
    #expect(drills.count == 5 && drills.allSatisfy { $0.outcome == .success }, "four drills and the clean-point restore")
    #expect(log.contains("was flagged SUSPICIOUS"), "\(log)")
    // 150 documents plus one memo per simulated day before the clean point (fewer when the
    // week starts after that day's 09:00), none of them encrypted.
    let readable = log.firstMatch(of: /(\d+) readable documents, 0 encrypted files or ransom notes/).flatMap { Int($0.1) }
    #expect((154...156).contains(readable ?? 0), "\(log)")
    #expect(try catalog.auditEvents().filter { $0.kind == "suspicious" }.count == 1, "only the attack is flagged")
    #expect(try catalog.verifyAudit().isIntact)

    let reports = dir.sub("reports")
    for kind in ReportKind.allCases {
      let files = try ReportWriter.write(
        kind, formats: [.html, .json], plan: plan, catalog: catalog,
        system: kind == .drill ? "Student Information System" : nil, directory: reports, now: try catalog.jobs(limit: 1).first?.ended ?? .distantPast)
      #expect(files.count == 2 && files.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }
    let executive = try String(contentsOfFile: reports + "/executive.html", encoding: .utf8)
    #expect(executive.contains("a backup looked like a ransomware attack"))
  }
}
