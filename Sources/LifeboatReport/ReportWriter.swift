// Writing reports: each kind as self-contained HTML and as JSON with the same facts.

public import Foundation
public import LifeboatCatalog
import LifeboatCore
public import LifeboatPosture
public import LifeboatPlan
import LifeboatPolicy

public enum ReportKind: String, Sendable, CaseIterable {
  case executive, compliance, drill, runbook, assessment
}

public enum ReportFormat: String, Sendable, CaseIterable {
  case html, json
}

public enum ReportWriter {
  static var encoder: JSONEncoder {
    let e = JSONEncoder.drill
    e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return e
  }

  /// Who prepared and who reviewed a report, for its sign-off block (blank lines when nil).
  public struct Signatures: Sendable {
    public var preparedBy: String?
    public var reviewedBy: String?
    public init(preparedBy: String? = nil, reviewedBy: String? = nil) {
      self.preparedBy = preparedBy
      self.reviewedBy = reviewedBy
    }
  }

  /// Writes `kind` for the plan into `directory`; returns the files written. A drill report
  /// is named after its system and the drill's start (`drill-student-information-system-
  /// 20261207-0930.html`), so each drill keeps its own document and none is overwritten.
  public static func write(
    _ kind: ReportKind, formats: [ReportFormat], plan: Plan, catalog: Catalog, system: String? = nil,
    directory: String, now: Date, signatures: Signatures = Signatures()
  ) throws -> [String] {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let (html, json, name) = try render(kind, plan: plan, catalog: catalog, system: system, now: now, signatures: signatures)
    let base = directory + "/" + name
    var written: [String] = []
    for f in formats {
      let path = base + "." + f.rawValue
      try (f == .html ? Data(html.utf8) : json).write(to: URL(fileURLWithPath: path), options: .atomic)
      written.append(path)
    }
    return written
  }

  /// Renders `kind` for the plan: the HTML document and the JSON with the same facts, and the
  /// document's file name (without extension).
  public static func render(
    _ kind: ReportKind, plan: Plan, catalog: Catalog, system: String? = nil, now: Date,
    signatures: Signatures = Signatures()
  ) throws -> (html: String, json: Data, name: String) {
    let history = try catalog.jobs(limit: 100_000)
    let audit = try catalog.verifyAudit()
    var html = ""
    var json = Data()
    var name = kind.rawValue
    switch kind {
    case .executive:
      var r = ExecutiveReport.make(plan: plan, history: history, audit: audit, now: now)
      r.preparedBy = signatures.preparedBy
      r.reviewedBy = signatures.reviewedBy
      html = r.html
      json = try encoder.encode(r)
    case .compliance:
      let r = ComplianceReport.make(plan: plan, history: history, audit: audit, events: try catalog.auditEvents(), now: now)
      html = r.html
      json = try encoder.encode(r)
    case .drill:
      let drills = history.filter { $0.kind == "drill" && (system == nil || $0.system == system) && $0.details != nil }
      guard let job = drills.max(by: { $0.started < $1.started }),
        let r = try? JSONDecoder.drill.decode(DrillReport.self, from: Data(job.details!.utf8))
      else {
        throw PlanError("no drill is recorded" + (system.map { " for \($0)" } ?? ""), hint: "run `lifeboat drill --plan … --system …`")
      }
      let document = DrillDocument(report: r, job: job.id, history: history, now: now)
      html = document.html
      json = try encoder.encode(document)
      name = document.fileName
    case .runbook:
      let book = try Runbook.make(plan, now: now)
      html = book.html
      json = try encoder.encode(book)
    case .assessment:
      let a = Assessment.make(plan: plan, history: history, now: now)
      html = a.html
      json = try encoder.encode(a)
    }
    return (html, json, name)
  }

}

extension DrillReport {
  /// The drill as a document (without its system's history; `DrillDocument` adds it).
  public var html: String { ReportWriter.drillHTML(self, history: []) }
}

/// One drill's report: the drill, and the system's drills of the twelve months before it.
public struct DrillDocument: Sendable, Codable {
  public struct PastDrill: Sendable, Codable, Equatable {
    public var job: Int64?
    public var time: Date
    public var verdict: String
    public var recoverySeconds: Double?
    public var repository: String?
  }

  public var report: DrillReport
  public var job: Int64?
  /// The system's drills in the twelve months up to the report, newest first (this one included).
  public var history: [PastDrill]

  public init(report: DrillReport, job: Int64?, history: [JobRecord], now: Date) {
    self.report = report
    self.job = job
    let since = now.addingTimeInterval(-365 * 86400)
    self.history = history.filter { $0.kind == "drill" && $0.system == report.system && $0.outcome != .running && $0.started >= since }
      .sorted { $0.started > $1.started }
      .map {
        PastDrill(
          job: $0.id, time: $0.started, verdict: $0.verdict?.rawValue ?? ($0.outcome == .success ? "passed" : "failed"),
          recoverySeconds: $0.recoverySeconds, repository: $0.repository)
      }
  }

  /// `drill-<system>-<yyyyMMdd-HHmmss>`: one file per drill.
  public var fileName: String {
    let slug = ProtectedSystem.slug(report.system)
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    return "drill-\(slug)-\(f.string(from: report.started))"
  }

  public var html: String { ReportWriter.drillHTML(report, history: history) }
}

extension Runbook {
  /// The runbook as a document.
  public var html: String { ReportWriter.runbookHTML(self) }
}

extension ReportWriter {
  static func drillHTML(_ r: DrillReport, history: [DrillDocument.PastDrill]) -> String {
    let light = r.verdict.light
    var b = "<header><h1>Restore drill — \(HTML.escape(r.system))</h1><p class=\"sub\">\(HTML.dateTime(r.started)) by \(HTML.escape(r.actor)) on \(HTML.escape(r.host)), from repository \(HTML.escape(r.repository)).</p></header>"
    b += "<section id=\"verdict\"><div class=\"q \(light.rawValue)\"><b>Verdict: \(r.verdict.rawValue)</b>\(r.reasons.map(HTML.escape).joined(separator: "<br>"))</div></section>"
    b += "<section id=\"facts\"><h2>What was restored</h2><table>"
    b += "<tr><td>Snapshot</td><td>\(HTML.escape(r.snapshot ?? "—")) (\(r.snapshotTime.map { HTML.dateTime($0) } ?? "—")): \(HTML.escape(r.selection))</td></tr>"
    b += "<tr><td>Files and bytes</td><td>\(Plural.count(r.files, "file")), \(ByteCount.format(r.bytes)) (\(r.bytes) bytes); \(Plural.count(r.verifiedFiles, "file")) read back, the metadata of \(Plural.count(r.verifiedNodes, "entry", "entries")) (files, folders, links) verified</td></tr>"
    b += "<tr><td>Recovery time</td><td>\(String(format: "%.2f s", r.recoverySeconds)) against an RTO of \(DurationText.format(r.rtoSeconds))"
      + (r.projectedSeconds.map { String(format: "; projected for the newest full snapshot %.2f s", $0) } ?? "") + "</td></tr></table>"
    b += HTML.bars([("recovery", r.recoverySeconds, r.rtoSeconds, String(format: "%.1f s of %@", r.recoverySeconds, DurationText.format(r.rtoSeconds)))])
    b += "</section><section id=\"phases\"><h2>Phases</h2><table><tr><th>Phase</th><th>Seconds</th></tr>"
    for p in ["open", "restore", "verify", "checks", "cleanup"] {
      if let t = r.phases[p] { b += "<tr><td>\(p)</td><td>\(String(format: "%.3f", t))</td></tr>" }
    }
    b += "</table></section><section id=\"checks\"><h2>Application checks</h2><table><colgroup><col style=\"width:40%\"><col style=\"width:12%\"><col style=\"width:10%\"><col style=\"width:38%\"></colgroup><tr><th>Check</th><th>Result</th><th>Seconds</th><th>Output</th></tr>"
    for c in r.checks {
      b += "<tr><td>\(HTML.escape(c.check))</td><td>\(HTML.light(c.passed ? .green : .red))\(c.passed ? "passed" : "failed")</td><td>\(String(format: "%.2f", c.seconds))</td><td class=\"small\">\(HTML.escape(String(c.detail.suffix(400))))</td></tr>"
    }
    if r.checks.isEmpty { b += "<tr><td colspan=\"4\">No application checks are defined for this system.</td></tr>" }
    b += "</table></section>"
    if !history.isEmpty {
      b += "<section id=\"history\"><h2>Drills of \(HTML.escape(r.system)) in the last 12 months</h2><table><tr><th>When</th><th>Verdict</th><th>Recovery time</th><th>From</th><th>Job</th></tr>"
      for d in history {
        b += "<tr><td>\(HTML.dateTime(d.time))</td><td>\(HTML.escape(d.verdict))</td><td>\(d.recoverySeconds.map { Wording.age($0) } ?? "—") of \(DurationText.format(r.rtoSeconds))</td><td>\(HTML.escape(d.repository ?? "—"))</td><td>\(d.job.map(String.init) ?? "—")</td></tr>"
      }
      b += "</table></section>"
    }
    b += "<footer>Evidence kept in the catalog as a drill job and an audit event.</footer>"
    return HTML.page(title: "Restore drill — \(r.system)", body: b)
  }

  /// The runbook's blocks as HTML: the same words as its Markdown.
  static func runbookHTML(_ book: Runbook) -> String {
    var b = ""
    var open = false
    for block in book.blocks {
      switch block {
      case .heading(1, let text):
        b += "<header><h1>\(HTML.escape(text))</h1>"
      case .heading(let level, let text):
        // "Before you start" is one section; every system's step goes in the next one.
        if level == 2 && (text == "Before you start" || !b.contains("<section id=\"steps\">")) {
          if open { b += "</section>" }
          b += "<section id=\"\(text == "Before you start" ? "before" : "steps")\">"
          open = true
        }
        b += "<h\(level)>\(HTML.escape(text))</h\(level)>"
      case .paragraph(let text):
        b += open ? "<p>\(HTML.escape(text))</p>" : "<p class=\"sub\">\(HTML.escape(text))</p></header>"
      case .items(let items):
        b += "<ul>" + items.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
      case .commands(let lines):
        b += "<pre style=\"white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f5f8;padding:6px;font-size:10px\">"
          + lines.map(HTML.escape).joined(separator: "\n") + "</pre>"
      case .warning(let text):
        b += "<div class=\"q amber\"><b>Missing</b>\(HTML.escape(text))</div>"
      }
    }
    if open { b += "</section>" }
    return HTML.page(title: "Recovery runbook — \(book.organization)", body: b)
  }

}
