import ArgumentParser
import Foundation
import LifeboatPosture
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatPolicy

struct DrillCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drill",
    abstract: "Prove a system can be recovered: restore, verify, check, time it against the RTO.",
    discussion: """
      Restores the system's snapshot (the newest, --snapshot ID, or with --clean the newest before the first suspicious one) from the copy the plan names for drills (by default the last copy: the offsite one) into a sandbox directory. Then it verifies every byte (every blob ID) and every file's metadata against the snapshot, runs the system's checks with {restored} replaced by the sandbox, times each phase, compares restore + verify + checks with the RTO, removes the sandbox and records the evidence in the catalog.

      Verdicts: passed; passed-over-rto (restored but slower than the RTO, with the measured and projected times); failed (with the first failing step). Exit code 0 for passed, 3 for passed-over-rto, 1 for failed.

        lifeboat drill --plan plan.yaml --system "Student Information System"
        lifeboat drill --plan plan.yaml --system Finance --repository onsite --keep-sandbox
      """)

  @OptionGroup var options: PlanOptions
  @Option(help: "The system to drill.") var system: String
  @Option(help: "A snapshot ID or prefix (default: the newest of the system).") var snapshot: String?
  @Option(help: "The plan's repository to restore from (default: the drill repository).") var repository: String?
  @Flag(help: "Drill the clean restore point: the newest snapshot before the first suspicious one.") var clean = false
  @Flag(help: "Leave the sandbox in place for inspection.") var keepSandbox = false
  @Option(help: "Where to make the sandbox (default $LIFEBOAT_DRILL_DIR, else /var/tmp).") var sandbox: String?

  func run() async throws {
    let plan = try options.load()
    guard let s = plan.system(named: system) else {
      throw LifeboatError(.notFound, "the plan has no system \(system)",
        hint: "systems: \(plan.systems.map(\.name).joined(separator: ", "))")
    }
    let context = RunContext(plan: plan, catalog: try options.catalog(plan), clock: options.clock, actor: PlanOptions.actor)
    var drill = DrillRunner(context: context, system: s)
    drill.snapshot = snapshot
    drill.repository = repository
    drill.clean = clean
    drill.keepSandbox = keepSandbox
    drill.sandboxRoot = sandbox
    let out = options.output
    out.line("drill of \(s.name) from repository \(repository ?? s.drill.value.repository ?? s.copies.value.last ?? "?")")
    let r = await drill.run()
    Self.print(r, output: out)
    if let problem = await ServerReporting.push(plan: plan, catalog: context.catalog) { out.warn(problem) }
    AlertsCommand.print(await Alerting.evaluate(context), output: out)
    try out.emit(r)
    for e in r.notRecorded ?? [] { out.line("error: \(e)") }
    // A drill whose evidence could not be kept did not prove anything on record.
    if r.notRecorded != nil { throw PartialSuccess(code: ExitStatus.fatal) }
    switch r.verdict {
    case .passed: return
    case .passedOverRTO: throw PartialSuccess(code: ExitStatus.partial)
    case .failed: throw PartialSuccess(code: ExitStatus.fatal)
    }
  }

  static func print(_ r: DrillReport, output out: Output) {
    if let snap = r.snapshot { out.line("snapshot \(snap.prefix(8)): \(r.selection)") }
    for phase in ["open", "restore", "verify", "databases", "checks", "cleanup"] {
      if let t = r.phases[phase] { out.line("  \(phase.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%8.2f s", t))") }
    }
    for c in r.checks {
      out.line("  check \(c.passed ? "passed" : "FAILED"): \(c.check)" + (c.passed ? "" : " — \(c.detail)"))
    }
    out.line(
      "\(r.files) files, \(Format.bytes(r.bytes)); recovery \(String(format: "%.1f s", r.recoverySeconds)) against an RTO of \(DurationText.format(r.rtoSeconds))"
        + (r.projectedSeconds.map { String(format: "; projected for the newest full snapshot: %.1f s", $0) } ?? ""))
    out.line("verdict: \(r.verdict.rawValue.uppercased()) — \(r.reasons.joined(separator: "; "))")
  }
}

struct RunbookCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "runbook",
    abstract: "The recovery runbook: systems in recovery order, what to restore, from where, how to check it.",
    discussion: """
      Orders the systems by dependencies first, then tier (critical first) and RTO. Prints Markdown (or JSON with --json). `lifeboat runbook run --drill` executes it.
      """,
    subcommands: [RunbookShow.self, RunbookRun.self], defaultSubcommand: RunbookShow.self)
}

struct RunbookShow: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the runbook (Markdown, or JSON with --json).")
  @OptionGroup var options: PlanOptions

  func run() async throws {
    let plan = try options.load()
    let book: Runbook
    do { book = try Runbook.make(plan, now: try CommandClock.reporting().now()) } catch let e as PlanError {
      throw LifeboatError(.usage, e.message, hint: e.hint)
    }
    if options.json { try options.output.emit(book) } else { Swift.print(book.markdown, terminator: "") }
  }
}

struct RunbookRun: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Execute the runbook as a drill: every system restored into a sandbox, in order, timed.",
    discussion: """
      Every system is drilled in runbook order (restore, verify, checks) into sandboxes: nothing touches production paths. Each step is timed and recorded; the running total since the start is set against each system's RTO; a failed system stops the systems that depend on it. Exit code 1 when any system failed or was skipped.
      """)

  @OptionGroup var options: PlanOptions
  @Flag(help: "Drill mode (the only mode): restore into sandboxes, never over production paths.") var drill = false
  @Option(help: "Where to make the sandboxes.") var sandbox: String?

  func run() async throws {
    let plan = try options.load()
    let book: Runbook
    do { book = try Runbook.make(plan, now: options.clock.now()) } catch let e as PlanError {
      throw LifeboatError(.usage, e.message, hint: e.hint)
    }
    let out = options.output
    let context = RunContext(plan: plan, catalog: try options.catalog(plan), clock: options.clock, actor: PlanOptions.actor)
    let result = await RunbookExecution.run(book, context: context, sandboxRoot: sandbox)
    for r in result.results {
      out.line(
        "\(r.verdict.uppercased().padding(toLength: 15, withPad: " ", startingAt: 0)) \(r.system): "
          + String(format: "%.1f s, %.1f s since start", r.seconds, r.elapsedSeconds)
          + " (RTO \(DurationText.format(r.rtoSeconds)), \(r.withinRTO ? "within" : "OVER")) \(r.verdict == "passed" ? "" : r.reason)")
    }
    out.line(String(format: "runbook finished in %.1f s", result.totalSeconds))
    try out.emit(result)
    for e in result.notRecorded ?? [] { out.line("error: \(e)") }
    if result.failed || result.notRecorded != nil { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}
