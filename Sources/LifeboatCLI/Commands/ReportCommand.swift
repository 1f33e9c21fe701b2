import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatPlan
import LifeboatReport

struct ReportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write a report people act on: executive, compliance, drill or runbook.",
    discussion: """
      Self-contained HTML (inline CSS and SVG, no JavaScript, no network; prints to PDF from any browser) and JSON with the same facts.

        executive   one page for a board: per system a traffic light for backups (RPO), recovery (RTO, from the last drill) and copies (3-2-1-1-0), the cost of 24 h, 72 h and a week of downtime against the measured recovery, and the three leadership questions answered in plain words
        compliance  HIPAA 164.308(a)(7)(ii)(A)-(E), 164.312(a)(2)(iv), (b), (c); NIST SP 800-171 r2 3.8.9, 3.6.1-3.6.3, 3.3.1-3.3.2, 3.13.11, 3.13.16; E-Rate pilot: status, evidence, what is missing
        drill       the last drill (of --system) as a document
        runbook     the recovery runbook as a document
        assessment  the data-protection assessment (see `lifeboat assess`)

        lifeboat report executive --plan plan.yaml --out /srv/reports
      """)

  @Argument(help: "executive, compliance, drill, runbook or assessment.") var kind: String
  @OptionGroup var options: PlanOptions
  @Option(help: "Directory to write into.") var out: String = "."
  @Option(help: "html, json, or both (default).") var format: String = "both"
  @Option(help: "For the drill report: the system.") var system: String?
  @Option(help: "For the executive report's sign-off: who prepared it.") var preparedBy: String?
  @Option(help: "For the executive report's sign-off: who reviewed it.") var reviewedBy: String?

  func validate() throws {
    guard ReportKind(rawValue: kind) != nil else {
      throw ValidationError("unknown report \(kind): use executive, compliance, drill, runbook or assessment")
    }
    guard ["html", "json", "both"].contains(format) else { throw ValidationError("--format takes html, json or both") }
  }

  func run() async throws {
    let plan = try options.load()
    let formats: [ReportFormat] = format == "both" ? [.html, .json] : [ReportFormat(rawValue: format)!]
    do {
      let files = try ReportWriter.write(
        ReportKind(rawValue: kind)!, formats: formats, plan: plan, catalog: try options.catalog(plan), system: system,
        directory: out, now: try CommandClock.reporting().now(),
        signatures: ReportWriter.Signatures(preparedBy: preparedBy, reviewedBy: reviewedBy))
      for f in files { options.output.line("wrote \(f)") }
      try options.output.emit(["files": files])
    } catch let e as PlanError {
      throw LifeboatError(.notFound, e.message, hint: e.hint)
    }
  }
}

struct AssessCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "assess",
    abstract: "The data-protection assessment: sizes, change rates, backup windows, restore times, storage, gaps by risk.",
    discussion: """
      For each system and source: size and file count (scanned now), change rate (from the backup history), the backup window and the restore time at the throughput measured by this catalog's backups and drills (or stated assumptions) against the schedule, RPO and RTO, the storage each copy needs for the retention, and the gaps ranked by risk (downtime cost per hour × hours at stake × a likelihood proxy). `lifeboat report assessment` writes it as HTML and JSON.
      """)

  @OptionGroup var options: PlanOptions

  func run() async throws {
    let plan = try options.load()
    let a = Assessment.make(plan: plan, history: try options.catalog(plan).jobs(limit: 100_000), now: try CommandClock.reporting().now())
    let out = options.output
    for f in a.systems {
      out.line(
        "\(f.system) (\(f.tier)): \(Format.bytes(f.bytes)) in \(f.files) files; restore ~\(Int(f.restoreSeconds.rounded())) s "
          + "against RTO \(Int(f.rtoSeconds)) s; \(Format.bytes(UInt64(f.storagePerCopyBytes))) per copy (\(f.throughputSource) throughput)")
    }
    out.line("gaps by expected loss a year (cost an hour × hours × how often a year; factors below):")
    for g in a.gaps {
      out.line(String(format: "  %12.0f  %@: %@", g.expectedLossPerYear, g.system, g.gap))
      out.line("                " + g.reasoning)
    }
    out.line("systems in the order to fix them:")
    for r in a.ranking { out.line(String(format: "  %12.0f  %@ (%@)", r.expectedLossPerYear, r.system, Plural.count(r.gaps, "gap"))) }
    out.line("factors (the plan's assessment: section changes them):")
    for f in a.factors { out.line("  \(f.key) = \(String(format: "%g", f.value)) — \(f.source)") }
    try out.emit(a)
  }
}
