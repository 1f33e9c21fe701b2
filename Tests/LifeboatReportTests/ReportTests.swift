import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatPlan
import LifeboatPosture
import LifeboatReport
import LifeboatTesting
import Testing

/// Reports are pure functions of (plan, history, audit, now): golden JSON pins the facts;
/// headless Chromium renders the HTML to PNG and PDF and checks the layout.
@Suite struct ReportTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("golden")
  static let artifacts = root.appendingPathComponent("test-artifacts/reports").path
  static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

  static func scenario() throws -> (Plan, [JobRecord], AuditVerification, [AuditEvent]) {
    let yaml = """
      organization: Riverside Unified School District
      frameworks: [hipaa, nist-800-171, erate]
      downtime_cost_per_hour: 18000
      repositories:
        onsite: { url: /srv/lifeboat/onsite, password: "env:P" }
        offsite: { url: "s3:https://s3.example.net/rusd/lb", password: "env:P2", immutable_days: 30 }
      systems:
        - name: Student Information System
          owner: Dana Whitfield
          tier: critical
          rto: 4h
          downtime_cost_per_hour: 25000
          sources: [{ path: /srv/sis }]
          copies: [onsite, offsite]
        - name: Finance
          tier: important
          sources: [{ path: /srv/finance }]
          copies: [onsite]
        - name: Archive
          tier: archival
          sources: [{ path: /srv/archive }]
      """
    let plan = try #require(PlanLoader.parse(yaml, file: "/etc/lifeboat/plan.yaml").plan)
    func job(_ kind: String, _ system: String, _ repo: String, ago: Double, _ outcome: JobRecord.Outcome, details: String? = nil) -> JobRecord {
      var j = JobRecord(kind: kind, system: system, repository: repo, started: now.addingTimeInterval(-ago), outcome: outcome)
      j.ended = j.started.addingTimeInterval(60)
      j.details = details
      return j
    }
    var drill = DrillReport(
      system: "Student Information System", repository: "offsite", actor: "agent@sis", host: "sis",
      started: now.addingTimeInterval(-5 * 86400), ended: now.addingTimeInterval(-5 * 86400 + 1800), sandbox: "/tmp/x",
      rtoSeconds: 4 * 3600)
    drill.verdict = .passed
    drill.recoverySeconds = 1620
    drill.files = 48_211
    drill.bytes = 12_400_000_000
    let drillJSON = String(decoding: try JSONEncoder.drill.encode(drill), as: UTF8.self)
    let history = [
      job("backup", "Student Information System", "onsite", ago: 1800, .success),
      job("copy", "Student Information System", "offsite", ago: 1700, .success),
      {
        var d = job("drill", "Student Information System", "offsite", ago: 5 * 86400, .success, details: drillJSON)
        d.verdict = drill.verdict
        d.recoverySeconds = drill.recoverySeconds
        return d
      }(),
      job("backup", "Finance", "onsite", ago: 20 * 3600, .success),
      job("backup", "Archive", "offsite", ago: 3 * 86400, .failed),
      job("backup", "Archive", "offsite", ago: 10 * 86400, .success),
    ]
    let events = [
      AuditEvent(seq: 1, time: now, actor: "agent@sis", kind: "run", subject: "SIS", details: "{}", previousHash: "0", hash: "a"),
    ]
    let audit = AuditVerification(events: 412, head: String(repeating: "3f", count: 32), problems: [])
    return (plan, history, audit, events)
  }

  static func drillReport(_ history: [JobRecord]) throws -> DrillReport {
    let job = try #require(history.first { $0.kind == "drill" })
    return try JSONDecoder.drill.decode(DrillReport.self, from: Data(try #require(job.details).utf8))
  }

  func checkGolden(_ name: String, _ value: some Encodable) throws {
    let enc = JSONEncoder.drill
    enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    let text = String(decoding: try enc.encode(value), as: UTF8.self) + "\n"
    let file = Self.golden.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["LIFEBOAT_UPDATE_GOLDEN"] == "1" {
      try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
      try text.write(to: file, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: file, encoding: .utf8)
    #expect(text == expected, "\(name) differs from the golden file; rerun with LIFEBOAT_UPDATE_GOLDEN=1 after checking the change")
  }

  @Test func theExecutiveReportAnswersTheThreeQuestions() throws {
    let (plan, history, audit, _) = try Self.scenario()
    let r = ExecutiveReport.make(plan: plan, history: history, audit: audit, now: Self.now)
    let sis = try #require(r.systems.first { $0.tier == "critical" })
    #expect(sis.rpo == .green && sis.rto == .green && sis.copies == .green, "\(sis)")
    let finance = try #require(r.systems.first { $0.name == "Finance" })
    #expect(finance.rto == .red && finance.copies == .red, "one onsite copy, never drilled")
    let archive = try #require(r.systems.first { $0.name == "Archive" })
    #expect(archive.rpo == .red, "a 10-day-old backup breaks a 7-day RPO")
    let expectedCosts: [Double] = [432_000, 1_296_000, 3_024_000]
    #expect(r.costs.map(\.organization) == expectedCosts)
    #expect(r.answers.count == 3)
    #expect(r.answers[0].answer.contains("January 10, 2027") && r.answers[0].answer.contains("27 minutes"), "\(r.answers[0].answer)")
    #expect(r.answers[1].answer.contains("$432,000 for a day"), "\(r.answers[1].answer)")
    #expect(r.answers[2].light != .green && r.answers[2].answer.contains("open findings"))
    try checkGolden("executive.json", r)
  }

  @Test func theCompliancePackMapsControlsToEvidence() throws {
    let (plan, history, audit, events) = try Self.scenario()
    let r = ComplianceReport.make(plan: plan, history: history, audit: audit, events: events, now: Self.now)
    func status(_ id: String) -> ComplianceReport.Status? { r.controls.first { $0.id == id }?.status }
    #expect(r.controls.count == 20)
    #expect(status("164.312(b)") == .met && status("164.308(a)(7)(ii)(E)") == .met)
    #expect(status("164.308(a)(7)(ii)(A)") == .partial, "Archive is past its RPO")
    #expect(status("164.308(a)(7)(ii)(D)") == .partial, "1 of 3 systems drilled")
    #expect(status("3.13.11") == .partial && status("pilot-immutable") == .met)
    #expect(r.controls.first { $0.id == "164.308(a)(7)(ii)(A)" }?.missing == ["Archive: no good backup within its RPO"])
    #expect(r.disclaimer.contains("does not certify"))
    try checkGolden("compliance.json", r)
  }

  /// What an auditor signs: a period, a scope, success rates, samples to test, the version and
  /// a sign-off block; no empty evidence, no gap without what is missing, nothing cited that the
  /// auditor does not receive. Checked on the scenario and on a plan with no history at all.
  @Test func theComplianceReportIsOneAnAuditorCanSign() throws {
    let (plan, history, audit, events) = try Self.scenario()
    let empty = try #require(PlanLoader.parse("""
      organization: New Clinic
      frameworks: [hipaa, nist-800-171, erate]
      repositories: { r: { url: /srv/r, password: "env:P" } }
      systems:
        - name: Files
          sources: [{ path: /srv/files }]
      """, file: "/etc/lifeboat/plan.yaml").plan)
    let reports = [
      ComplianceReport.make(plan: plan, history: history, audit: audit, events: events, now: Self.now),
      ComplianceReport.make(plan: empty, history: [], audit: AuditVerification(events: 0, head: "", problems: []), events: [], now: Self.now),
    ]
    for r in reports {
      for c in r.controls {
        #expect(!c.evidence.isEmpty && c.evidence.allSatisfy { !$0.isEmpty && !$0.hasSuffix(": ") && !$0.hasSuffix(":") }, "\(c.id): \(c.evidence)")
        #expect(c.status == .met || !c.missing.isEmpty, "\(c.id) is \(c.status) but says nothing is missing")
        #expect(!(c.evidence + c.missing).contains { $0.contains("docs/") || $0.contains(".md") }, "\(c.id) cites a file the auditor lacks")
      }
      #expect(r.periodEnd == Self.now && r.periodStart == Self.now.addingTimeInterval(-365 * 86400))
      #expect(r.lifeboatVersion == LifeboatVersion.number)
      #expect(r.signOff.contains("Reviewed by"))
      #expect(r.scope.statement.contains("Systems, data and sites outside the plan are outside its scope"))
      #expect(r.html.contains("id=\"signoff\"") && r.html.contains("id=\"scope\"") && r.html.contains("id=\"samples\""))
    }
    let r = reports[0]
    #expect(r.scope.systems.map(\.name) == plan.systems.map(\.name))
    #expect(r.scope.systems.first?.data == ["/srv/sis"])
    let backups = try #require(r.rates.first { $0.kind == "backup" && $0.system == nil })
    let inPeriod = history.filter { $0.kind == "backup" && $0.outcome != .running }
    #expect(backups.attempted == inPeriod.count && backups.succeeded == inPeriod.filter(\.succeeded).count)
    #expect(!r.samples.isEmpty)
    for sample in r.samples {
      #expect(history.contains { $0.kind == sample.kind && $0.system == sample.system && $0.snapshot == sample.snapshot }, "a real job")
    }
    let none = reports[1].controls.first { $0.id == "164.308(a)(7)(ii)(B)" }
    #expect(none?.evidence.contains("offsite repositories: none") == true, "\(String(describing: none))")
  }

  /// The board report says what to do, who does it and by when; who prepared and reviewed it;
  /// shows a system's cost column only where it differs; and says so when a measured recovery
  /// costs next to nothing.
  @Test func theExecutiveReportAssignsActions() throws {
    let (plan, history, audit, _) = try Self.scenario()
    var r = ExecutiveReport.make(plan: plan, history: history, audit: audit, now: Self.now)
    let posture = Posture.judge(plan: plan, history: history, auditIntact: audit.isIntact, now: Self.now)
    #expect(r.actions.count == posture.findings.filter { $0.severity != .green }.count)
    #expect(r.actions.first?.severity == .red, "red first")
    for a in r.actions {
      #expect(a.due == Self.now.addingTimeInterval(a.severity == .red ? 7 * 86400 : 30 * 86400))
      #expect(!a.action.isEmpty && !a.action.hasPrefix("nothing"))
      let owner = plan.systems.first { $0.name == a.system }?.owner
      #expect(a.owner == owner ?? "the IT lead (no owner named in the plan)")
    }
    #expect(r.actions.contains { $0.system == "Finance" && $0.reason == .neverDrilled && $0.action.contains("first restore drill") })
    r.preparedBy = "Dana Whitfield"
    #expect(r.html.contains("id=\"actions\"") && r.html.contains("Prepared by</td><td>Dana Whitfield"))
    #expect(r.html.contains("<th>Student Information System</th>"), "its $25,000 an hour differs from the organization's")
    #expect(!r.html.contains("T00:00:00Z") && !r.html.contains("generated 2027-"), "one date format")

    // Drills that took seconds: their cost is said to be negligible, not listed as $11.
    let quick = history.map { j -> JobRecord in
      var j = j
      if j.kind == "drill" { j.recoverySeconds = 5 }
      return j
    }
    let q = ExecutiveReport.make(plan: plan, history: quick, audit: audit, now: Self.now)
    #expect(q.answers[1].answer.contains("negligible"), "\(q.answers[1].answer)")
  }

  /// A drill's report is its own file, named after the system and the drill's start, with the
  /// system's drills of the last twelve months.
  @Test func eachDrillHasItsOwnReportWithItsHistory() throws {
    let (_, history, _, _) = try Self.scenario()
    let drillJob = try #require(history.first { $0.kind == "drill" })
    let report = try JSONDecoder.drill.decode(DrillReport.self, from: Data(try #require(drillJob.details).utf8))
    var old = drillJob
    old.started = Self.now.addingTimeInterval(-200 * 86400)
    old.verdict = .failed
    var ancient = drillJob
    ancient.started = Self.now.addingTimeInterval(-400 * 86400)
    let doc = DrillDocument(report: report, job: drillJob.id, history: history + [old, ancient], now: Self.now)
    #expect(doc.fileName.hasPrefix("drill-student-information-system-") && doc.fileName.count == "drill-student-information-system-20270105-120000".count, "\(doc.fileName)")
    #expect(doc.history.count == 2, "this drill and the one of 200 days ago, not the one of 400")
    #expect(doc.history.map(\.verdict) == ["passed", "failed"])
    #expect(doc.html.contains("id=\"history\"") && doc.html.contains("in the last 12 months"))
    var later = report
    later.started = report.started.addingTimeInterval(86400)
    #expect(DrillDocument(report: later, job: nil, history: [], now: Self.now).fileName != doc.fileName, "a new name per drill")
  }

  /// The runbook starts with what a recovery needs from outside the servers, gives each system
  /// its own restore target, flags missing owners and kit, keeps rehearsal apart from recovery,
  /// and says the same in Markdown and HTML.
  @Test func theRunbookIsReadyForTheDayTheServersAreGone() throws {
    let (plan, _, _, _) = try Self.scenario()
    let book = try Runbook.make(plan, now: Self.now)
    let md = book.markdown
    #expect(md.contains("## Before you start") && md.contains("onsite from env:P"), "passwords by reference only")
    #expect(book.missing.contains { $0.contains("Finance has no owner") })
    #expect(book.missing.contains { $0.contains("where the repository passwords is kept") || $0.contains("the repository passwords") })
    #expect(md.contains("Owner: NOT NAMED in the plan"))
    let targets = book.steps.map(\.restoreTo)
    #expect(Set(targets).count == targets.count, "a target per system: \(targets)")
    #expect(targets.contains("/srv/recovery/student-information-system"))
    for s in book.steps {
      #expect(s.commands.allSatisfy { $0.contains("restore") && $0.contains("--target '\(s.restoreTo)'") })
      #expect(s.drillCommands.allSatisfy { $0.contains("lifeboat drill") })
    }
    #expect(md.components(separatedBy: "### To recover").count - 1 == book.steps.count)
    #expect(md.components(separatedBy: "### To rehearse").count - 1 == book.steps.count)
    // The same words in both: every block's text is in the Markdown and, escaped, in the HTML.
    let html = book.html
    for block in book.blocks {
      let texts: [String]
      switch block {
      case .heading(_, let t), .paragraph(let t), .warning(let t): texts = [t]
      case .items(let items): texts = items
      case .commands(let lines): texts = lines
      }
      for t in texts {
        #expect(md.contains(t), "markdown lacks \(t)")
        #expect(html.contains(HTML.escape(t)), "html lacks \(t)")
      }
    }
    // A plan that states its kit and restore targets is not flagged for them.
    let stated = try #require(PlanLoader.parse("""
      organization: O
      recovery_kit: { plan: "printed, IT office safe", passwords: "sealed envelope, superintendent's safe", binary: "USB stick in the safe", runbook: "printed, IT office safe" }
      repositories: { r: { url: /srv/r, password: "env:P" } }
      systems:
        - name: Files
          owner: Ana
          restore_to: /mnt/recovery/files
          sources: [{ path: /srv/files }]
      """, file: "/etc/lifeboat/plan.yaml").plan)
    let ready = try Runbook.make(stated, now: Self.now)
    #expect(ready.missing.isEmpty, "\(ready.missing)")
    #expect(ready.steps.first?.restoreTo == "/mnt/recovery/files")
    #expect(ready.markdown.contains("sealed envelope, superintendent's safe"))
  }

  @Test func theAssessmentRanksGapsByRisk() throws {
    let (plan, history, _, _) = try Self.scenario()
    let a = Assessment.make(plan: plan, history: history, now: Self.now, scan: false)
    #expect(a.systems.count == 3)
    #expect(a.gaps.map(\.expectedLossPerYear) == a.gaps.map(\.expectedLossPerYear).sorted(by: >), "ranked")
    #expect(a.ranking.map(\.expectedLossPerYear) == a.ranking.map(\.expectedLossPerYear).sorted(by: >))
    for g in a.gaps {
      #expect(abs(g.expectedLossPerYear - g.costPerHour * g.hours * g.likelihood) < 0.01, "the figure is its arithmetic")
      #expect(g.reasoning.contains(" h (") && g.reasoning.contains("an hour"), "\(g.reasoning)")
    }
    #expect(a.gaps.contains { $0.system == "Archive" && $0.gap.contains("no good backup within the RPO") })
    #expect(!a.gaps.contains { $0.system == "Student Information System" && $0.gap.contains("immutable") })
    let sis = try #require(a.systems.first { $0.tier == "critical" })
    #expect(sis.throughputSource == "assumed" || sis.throughputSource == "measured")
    #expect(sis.retentionDays == 3 * 365, "critical default keeps 3 yearly snapshots")
    try checkGolden("assessment.json", a)
  }

  /// The district example before its first run: the student information system (critical,
  /// $25,000 an hour) comes before the archive, and a longer RTO alone never makes a system
  /// look riskier. The factors are named, with their source, and the plan can change them.
  @Test func theAssessmentRanksByExpectedLossAnAuditorCanFollow() throws {
    let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/examples/plan.yaml").path
    let plan = try #require(PlanLoader.load(file: example).plan)
    let a = Assessment.make(plan: plan, history: [], now: Self.now, scan: false)
    let order = a.ranking.map(\.system)
    let sis = try #require(order.firstIndex(of: "Student Information System"))
    let archive = try #require(order.firstIndex(of: "Archive"))
    #expect(sis < archive, "\(a.ranking)")
    #expect(a.factors.map(\.key) == RiskAssumptions.keys)
    #expect(a.factors.contains { $0.key == "rebuild_hours" && $0.source.contains("plan line") }, "the example states one")

    // The same system, its RTO from 4 hours to 3 days: the expected loss does not grow.
    func loss(rto: String) throws -> Double {
      let yaml = """
        organization: O
        repositories: { r: { url: /srv/r, password: "env:P" } }
        assessment: { incidents_per_year: 0.5 }
        systems:
          - name: Files
            tier: important
            rto: \(rto)
            downtime_cost_per_hour: 1000
            sources: [{ path: /srv/files }]
        """
      let p = try #require(PlanLoader.parse(yaml, file: "/tmp/plan.yaml").plan)
      let a = Assessment.make(plan: p, history: [], now: Self.now, scan: false)
      #expect(a.gaps.allSatisfy { !$0.reasoning.contains("incidents_per_year") || $0.reasoning.contains("0.5 (incidents_per_year)") })
      #expect(a.factors.first { $0.key == "incidents_per_year" }?.source == "plan line 3")
      #expect(a.factors.first { $0.key == "site_loss_per_year" }?.source.contains("assumed") == true, "unstated: said so")
      return a.ranking.first?.expectedLossPerYear ?? 0
    }
    let short = try loss(rto: "4h")
    let long = try loss(rto: "72h")
    #expect(long <= short, "a longer RTO alone never raises the expected loss: \(short) → \(long)")
    #expect(short > 0)
  }

  /// Renders in headless Chromium: PNG and PDF kept under test-artifacts/reports/, and a
  /// layout probe (a copy of the page with a script; the reports themselves have none)
  /// fails on elements wider than an A4 page or missing sections.
  @Test(.enabled(if: Chromium.shouldRun))
  func reportsRenderInChromiumWithoutOverflow() throws {
    let chromium = try #require(Chromium.path, "headless Chromium (Debian `chromium`) is needed; make test installs it")
    let (plan, history, audit, events) = try Self.scenario()
    try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
    let pages: [(String, String, [String])] = [
      ("executive", ExecutiveReport.make(plan: plan, history: history, audit: audit, now: Self.now).html,
       ["questions", "systems", "recovery", "costs", "findings"]),
      ("compliance", ComplianceReport.make(plan: plan, history: history, audit: audit, events: events, now: Self.now).html,
       ["hipaa", "nist-800-171", "erate"]),
      ("assessment", Assessment.make(plan: plan, history: history, now: Self.now, scan: false).html,
       ["gaps", "systems", "storage", "assumptions"]),
      ("drill", try Self.drillReport(history).html, ["verdict", "facts", "phases", "checks"]),
      ("runbook", try Runbook.make(plan, now: Self.now).html, ["before", "steps"]),
    ]
    for (name, html, sections) in pages {
      #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "self-contained, no JavaScript")
      let page = Self.artifacts + "/\(name).html"
      try html.write(toFile: page, atomically: true, encoding: .utf8)
      let probe = Self.artifacts + "/\(name).probe.html"
      try html.replacingOccurrences(of: "</body>", with: Chromium.probeScript + "</body>").write(toFile: probe, atomically: true, encoding: .utf8)
      let dom = try Chromium.run(chromium, ["--dump-dom", "file://" + probe])
      let result = try Chromium.probeResult(dom)
      #expect(result.overflow.isEmpty, "\(name): elements wider than the page: \(result.overflow)")
      #expect(result.scrollWidth <= result.width, "\(name): the page scrolls sideways")
      #expect(Set(sections).isSubset(of: Set(result.sections)), "\(name): sections \(result.sections)")
      _ = try Chromium.run(chromium, ["--screenshot=\(Self.artifacts)/\(name).png", "file://" + page])
      _ = try Chromium.run(chromium, ["--print-to-pdf=\(Self.artifacts)/\(name).pdf", "--no-pdf-header-footer", "file://" + page])
      let png = try Data(contentsOf: URL(fileURLWithPath: "\(Self.artifacts)/\(name).png"))
      let pdf = try Data(contentsOf: URL(fileURLWithPath: "\(Self.artifacts)/\(name).pdf"))
      let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
      let pdfMagic: [UInt8] = Array("%PDF".utf8)
      #expect(Array(png.prefix(4)) == pngMagic, "\(name).png is a PNG")
      #expect(png.count > 20_000, "\(name).png has content")
      #expect(Array(pdf.prefix(4)) == pdfMagic, "\(name).pdf is a PDF")
      #expect(pdf.count > 5_000, "\(name).pdf has content")
    }
  }
}

@Suite struct AssessmentTests {
  @Test func sizesAreScannedAndStorageFollowsTheRetention() throws {
    let dir = TemporaryDirectory("lifeboat-assess")
    defer { dir.remove() }
    let src = dir.sub("data")
    try FileManager.default.createDirectory(atPath: src + "/sub", withIntermediateDirectories: true)
    try FixtureTree.write(src + "/a.bin", [UInt8](repeating: 7, count: 1_000_000))
    try FixtureTree.write(src + "/sub/b.txt", [UInt8](repeating: 65, count: 24_000))
    let yaml = """
      organization: T
      repositories:
        r: { url: /srv/r, password: "env:P" }
      systems:
        - name: Files
          tier: important
          sources: [{ path: \(src) }]
      """
    let plan = try #require(PlanLoader.parse(yaml, file: dir.sub("plan.yaml")).plan)
    let a = Assessment.make(plan: plan, history: [], now: Date())
    let f = try #require(a.systems.first)
    #expect(f.bytes == 1_024_000 && f.files == 2 && f.sources.first?.measuredBy == "scanned")
    #expect(f.throughputSource == "assumed")
    #expect(abs(f.restoreSeconds - 1_024_000 / 150e6) < 1e-9)
    // Important tier keeps 14 daily, 8 weekly and 12 monthly snapshots; with no history the
    // change is 1 % a day, each kept snapshot adding at most the data itself.
    let size = 1_024_000.0
    let change = size * 0.01
    let expected = 0.6 * (size + 14 * change + 8 * min(size, change * 7) + 12 * min(size, change * 30))
    #expect(abs(f.storagePerCopyBytes - expected) < 1, "\(f.storagePerCopyBytes) vs \(expected)")
    #expect(a.gaps.contains { $0.gap.contains("never tested") } && a.gaps.contains { $0.gap.contains("no offsite copy") })
  }
}
