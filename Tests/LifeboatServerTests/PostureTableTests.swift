import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LifeboatCatalog
import LifeboatCore
import LifeboatPlan
import LifeboatPosture
import LifeboatReport
import LifeboatTesting
import Testing

/// The posture table (docs/posture.md), walked end to end: one system per rule, its history in
/// a tenant's catalog, and the same light and reason required from `Posture.judge`, from
/// `lifeboat status --json`, from the executive report's JSON, from the compliance report,
/// from the API and from `/metrics`.
@Suite struct PostureTableTests {
  /// 2027-01-15T08:00:00Z: every surface is asked at this instant.
  static let now = Date(timeIntervalSince1970: 1_800_000_000)

  struct Job {
    var kind: String
    var repository: String
    var hoursAgo: Double
    var outcome: JobRecord.Outcome = .success
    var verdict: DrillVerdict?
    var recovery: Double?
    var suspicious = false
  }

  struct Case {
    var name: String
    var copies: [String]
    var jobs: [Job]
    var area: Area
    var reason: Reason
  }

  static func backup(_ h: Double, into r: String = "local", _ o: JobRecord.Outcome = .success, suspicious: Bool = false) -> Job {
    Job(kind: "backup", repository: r, hoursAgo: h, outcome: o, suspicious: suspicious)
  }
  static func copy(_ h: Double, into r: String, _ o: JobRecord.Outcome = .success) -> Job {
    Job(kind: "copy", repository: r, hoursAgo: h, outcome: o)
  }
  static func drill(_ h: Double, _ v: DrillVerdict, recovery: Double? = 600) -> Job {
    Job(kind: "drill", repository: "vault", hoursAgo: h, outcome: v == .failed ? .failed : .success, verdict: v, recovery: recovery)
  }

  /// A complete, healthy history the cases vary: a backup an hour ago, copied to the vault,
  /// drilled two days ago.
  static let healthy: [Job] = [backup(1), copy(0.9, into: "vault"), drill(48, .passed)]
  static let both = ["local", "vault"]

  static let cases: [Case] = [
    Case(name: "within-rpo", copies: both, jobs: healthy, area: .backups, reason: .withinRPO),
    Case(name: "near-rpo", copies: both, jobs: [backup(20), copy(19.9, into: "vault"), drill(48, .passed)], area: .backups, reason: .nearRPO),
    Case(name: "last-attempt-failed", copies: both, jobs: healthy + [backup(0.5, .failed)], area: .backups, reason: .lastAttemptFailed),
    Case(name: "rpo-breached", copies: both, jobs: [backup(30), copy(29.9, into: "vault"), drill(48, .passed)], area: .backups, reason: .rpoBreached),
    Case(name: "no-good-backup", copies: both, jobs: [backup(1, .failed)], area: .backups, reason: .noGoodBackup),
    Case(name: "drill-passed", copies: both, jobs: healthy, area: .recovery, reason: .drillPassed),
    Case(name: "drill-overdue", copies: both, jobs: [backup(1), copy(0.9, into: "vault"), drill(40 * 24, .passed)], area: .recovery, reason: .drillOverdue),
    Case(name: "drill-untimed", copies: both, jobs: [backup(1), copy(0.9, into: "vault"), drill(48, .passed, recovery: nil)], area: .recovery, reason: .drillUntimed),
    Case(name: "never-drilled", copies: both, jobs: [backup(1), copy(0.9, into: "vault")], area: .recovery, reason: .neverDrilled),
    Case(name: "drill-failed", copies: both, jobs: [backup(1), copy(0.9, into: "vault"), drill(48, .failed, recovery: nil)], area: .recovery, reason: .drillFailed),
    Case(name: "drill-over-rto", copies: both, jobs: [backup(1), copy(0.9, into: "vault"), drill(48, .passedOverRTO, recovery: 5 * 3600)], area: .recovery, reason: .drillOverRTO),
    Case(name: "copies-complete", copies: both, jobs: healthy, area: .copies, reason: .copiesComplete),
    Case(name: "single-copy", copies: ["vault"], jobs: [backup(1, into: "vault"), drill(48, .passed)], area: .copies, reason: .singleCopy),
    Case(name: "copy-behind", copies: ["local", "vault", "remote"], jobs: healthy, area: .copies, reason: .copyBehind),
    Case(name: "copy-failing", copies: both, jobs: healthy + [copy(0.5, into: "vault", .failed)], area: .copies, reason: .copyFailing),
    Case(name: "retention-failing", copies: both, jobs: healthy + [Job(kind: "forget", repository: "local", hoursAgo: 0.8, outcome: .failed)], area: .copies, reason: .retentionFailing),
    Case(name: "no-offsite", copies: ["local", "locked"], jobs: [backup(1), copy(0.9, into: "locked"), drill(48, .passed)], area: .copies, reason: .noOffsite),
    Case(name: "no-immutable", copies: ["local", "remote"], jobs: [backup(1), copy(0.9, into: "remote"), drill(48, .passed)], area: .copies, reason: .noImmutable),
    Case(name: "no-offsite-nor-immutable", copies: ["local"], jobs: [backup(1), drill(48, .passed)], area: .copies, reason: .noOffsiteNorImmutable),
    Case(name: "no-copy", copies: both, jobs: [backup(1, .failed)], area: .copies, reason: .noCopy),
    Case(name: "no-signals", copies: both, jobs: healthy, area: .integrity, reason: .noSignals),
    Case(name: "recent-suspicious", copies: both, jobs: [backup(72, suspicious: true)] + healthy, area: .integrity, reason: .recentSuspicious),
    Case(name: "newest-suspicious", copies: both, jobs: [backup(1, suspicious: true), copy(0.9, into: "vault"), drill(48, .passed)], area: .integrity, reason: .newestSuspicious),
    Case(name: "old-suspicious", copies: both, jobs: [backup(40 * 24, suspicious: true)] + healthy, area: .integrity, reason: .noSignals),
  ]

  static var planYAML: String {
    var y = """
      organization: Posture Table
      catalog: catalog.sqlite
      repositories:
        local: { url: /srv/lb/local, password: "env:P", offsite: false }
        vault: { url: /srv/lb/vault, password: "env:P", offsite: true, immutable_days: 30 }
        remote: { url: /srv/lb/remote, password: "env:P", offsite: true }
        locked: { url: /srv/lb/locked, password: "env:P", offsite: false, immutable_days: 30 }
      systems:

      """
    for c in cases {
      y += """
          - name: \(c.name)
            tier: critical
            rpo: 1d
            rto: 4h
            drill: { every: 30d }
            sources: [{ path: /srv/\(c.name) }]
            copies: [\(c.copies.joined(separator: ", "))]

        """
    }
    return y
  }

  @Test func everyRuleGivesTheSameLightAndReasonEverywhere() async throws {
    let f = try ServerFixture(clock: FixedClock(Self.now))
    defer { f.remove() }
    let tenant = "acme"
    try Self.planYAML.write(toFile: f.console.planPath(tenant), atomically: true, encoding: .utf8)
    let catalog = try f.console.catalog(tenant)
    for c in Self.cases {
      for j in c.jobs.sorted(by: { $0.hoursAgo > $1.hoursAgo }) {
        var r = JobRecord(kind: j.kind, system: c.name, repository: j.repository, started: Self.now.addingTimeInterval(-j.hoursAgo * 3600))
        r.id = try catalog.start(r)
        r.outcome = j.outcome
        r.ended = r.started.addingTimeInterval(60)
        r.verdict = j.verdict
        r.recoverySeconds = j.recovery
        r.suspicious = j.suspicious
        if j.outcome == .failed { r.errors = ["\(j.kind) failed: permission denied"] }
        try catalog.finish(r)
      }
    }
    let plan = try #require(PlanLoader.load(file: f.console.planPath(tenant)).plan)
    let history = try catalog.jobs(limit: 100_000)

    // 1. The judge itself.
    let posture = Posture.judge(plan: plan, history: history, auditIntact: true, now: Self.now)
    var expected: [String: (Light, Reason)] = [:]
    for c in Self.cases {
      let p = try #require(posture.systems.first { $0.status.system == c.name })
      let j = try #require(p.judgements.first { $0.area == c.area })
      #expect(j.causes.map(\.reason).contains(c.reason), "\(c.name): \(j.causes.map(\.reason))")
      #expect(j.light == c.reason.light, "\(c.name): \(j.light) for \(c.reason)")
      expected[c.name] = (j.light, c.reason)
    }
    let uncovered = Set(Reason.allCases.filter { $0.area != .organization }).subtracting(Self.cases.map(\.reason))
    #expect(uncovered.isEmpty, "every system-level rule has a case: \(uncovered)")

    // 2. `lifeboat status --json` at the same instant.
    let status = try Self.lifeboat(["status", "--json", "--plan", f.console.planPath(tenant)], now: Self.now)
    let cli = try #require(try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [[String: Any]], "\(status.output)")
    #expect(status.code == 1, "rpo-breached and no-good-backup are red backups: exit 1")

    // 3. The executive report's JSON, 4. the compliance report, 5. the API, 6. /metrics.
    let executive = ExecutiveReport.make(plan: plan, history: history, audit: try catalog.verifyAudit(), now: Self.now)
    let compliance = ComplianceReport.make(
      plan: plan, history: history, audit: try catalog.verifyAudit(), events: [], now: Self.now)
    let (api, metrics) = try await f.app().test(.router) { client -> ([[String: Any]], String) in
      let api = try await client.execute(uri: "/api/v1/tenants/\(tenant)/systems", method: .get, headers: f.headers("auditor")) {
        try #require($0.json as? [[String: Any]])
      }
      let metrics = try await client.execute(uri: "/metrics", method: .get, headers: f.headers("auditor")) { $0.text }
      return (api, metrics)
    }

    func judged(_ rows: [[String: Any]], _ name: String, _ area: Area) -> (String?, [String]) {
      let row = rows.first { $0["system"] as? String == name }
      let j = row?[area.rawValue] as? [String: Any]
      return (j?["light"] as? String, (j?["causes"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String })
    }
    for c in Self.cases {
      let (light, reason) = expected[c.name]!
      for (surface, rows) in [("status --json", cli), ("API", api)] {
        let (l, reasons) = judged(rows, c.name, c.area)
        #expect(l == light.rawValue && reasons.contains(reason.rawValue), "\(surface), \(c.name): \(l ?? "-") \(reasons)")
      }
      let row = try #require(executive.systems.first { $0.name == c.name })
      let board: Light = [Area.backups: row.rpo, .recovery: row.rto, .copies: row.copies, .integrity: row.integrity][c.area]!
      #expect(board == light, "executive report, \(c.name): \(board)")
      if light != .green {
        let message = posture.findings.first { $0.system == c.name && $0.reason == reason }?.message
        #expect(message != nil && row.findings.contains(message!), "the board lists the finding of \(c.name)")
      }
      let series = "lifeboat_system_area_state{tenant=\"\(tenant)\",system=\"\(c.name)\",tier=\"critical\",area=\"\(c.area.rawValue)\"} \(light.rank)"
      #expect(metrics.contains(series), "/metrics: \(series)")
    }
    // The compliance report names the same systems: backups red ⇔ missing from the backup-plan
    // control; recovery not green ⇔ missing from the testing control.
    let backupPlan = try #require(compliance.controls.first { $0.id == "164.308(a)(7)(ii)(A)" })
    let testing = try #require(compliance.controls.first { $0.id == "164.308(a)(7)(ii)(D)" })
    for p in posture.systems {
      let name = p.status.system
      #expect(backupPlan.missing.contains { $0.hasPrefix(name + ":") } == (p.backups.light == .red), "compliance (A), \(name)")
      #expect(testing.missing.contains { $0.hasPrefix(name + ":") } == (p.recovery.light != .green), "compliance (D), \(name)")
    }
  }

  /// The suspicious newest backup: `lifeboat status` used to say OK while the board report
  /// listed it; now both say red, with the same finding.
  @Test func aSuspiciousNewestBackupIsRedInStatusAndOnTheBoard() throws {
    let f = try ServerFixture(clock: FixedClock(Self.now))
    defer { f.remove() }
    let c = try #require(Self.cases.first { $0.reason == .newestSuspicious })
    let yaml = Self.planYAML
    try yaml.write(toFile: f.console.planPath("acme"), atomically: true, encoding: .utf8)
    let catalog = try f.console.catalog("acme")
    for j in c.jobs {
      var r = JobRecord(kind: j.kind, system: c.name, repository: j.repository, started: Self.now.addingTimeInterval(-j.hoursAgo * 3600))
      r.id = try catalog.start(r)
      r.outcome = j.outcome
      r.suspicious = j.suspicious
      r.verdict = j.verdict
      r.recoverySeconds = j.recovery
      try catalog.finish(r)
    }
    let text = try Self.lifeboat(["status", "--plan", f.console.planPath("acme")], now: Self.now).output
    let line = text.split(separator: "\n").first { $0.contains(c.name + " (critical)") }.map(String.init) ?? text
    #expect(line.hasPrefix("RED"), "\(text)")
    #expect(text.contains("integrity RED       "), "\(text)")
  }

  /// Runs the built `lifeboat` with `LIFEBOAT_NOW`.
  static func lifeboat(_ args: [String], now: Date) throws -> (code: Int32, output: String) {
    let p = Process()
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lifeboat").path
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let binary = ProcessInfo.processInfo.environment["LIFEBOAT_BIN"]
      ?? (FileManager.default.isExecutableFile(atPath: beside) ? beside : root.appendingPathComponent(".build/debug/lifeboat").path)
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    let f = ISO8601DateFormatter()
    env["LIFEBOAT_NOW"] = f.string(from: now)
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
