import ArgumentParser
import Foundation
import LifeboatPosture
import LifeboatCatalog
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatPolicy
import Logging

/// Options of every command that acts on an organization through its plan.
struct PlanOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The protection plan (YAML).", discussion: "Defaults to $LIFEBOAT_PLAN. The catalog is found from it."))
  var plan: String?

  @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
  var json = false

  @Flag(name: [.short, .long], help: "Print only errors and warnings.")
  var quiet = false

  var output: Output { Output(json: json, quiet: quiet) }

  func file() throws -> String {
    guard let f = plan ?? ProcessInfo.processInfo.environment["LIFEBOAT_PLAN"], !f.isEmpty else {
      throw LifeboatError(.usage, "no plan given", hint: "pass --plan FILE or set LIFEBOAT_PLAN")
    }
    return f
  }

  /// The plan, or an error listing every problem with its line.
  func load() throws -> Plan {
    let f = try file()
    let result = PlanLoader.load(file: f)
    for w in result.warnings { output.diagnostic(w) }
    guard let plan = result.plan else {
      throw LifeboatError(
        .usage, "the plan has \(result.errors.count) errors:\n" + result.errors.map { "\($0)" }.joined(separator: "\n"),
        hint: "fix them; `lifeboat plan check \(f)` lists them again")
    }
    return plan
  }

  func catalog(_ plan: Plan) throws -> Catalog { try Catalog(path: plan.catalog) }

  static var actor: String {
    "cli:\(ProcessInfo.processInfo.environment["USER"] ?? String(getuid()))@\(ProcessInfo.processInfo.hostName)"
  }
}

struct PlanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Check and explain a protection plan.",
    subcommands: [PlanCheckCommand.self, PlanInitCommand.self, PlanShowCommand.self])
}

struct PlanCheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Validate a plan: every problem with its line and column and what to write instead.",
    discussion: """
      Errors (exit code 1): unknown keys, values that do not parse, an RPO shorter than the schedule, a copy naming no repository, inline secrets. Warnings (exit code 0): a critical system without an offsite copy or without an immutable copy, a repository that does not exist yet or cannot be reached, an offsite repository on the same storage as an onsite one.

      Each repository is probed with one request (no password needed); --offline skips the probes.

        lifeboat plan check /etc/lifeboat/plan.yaml
      """)

  @Argument(help: "The plan file (default: --plan or $LIFEBOAT_PLAN).") var file: String?
  @OptionGroup var options: PlanOptions
  @Flag(help: "Do not contact the repositories (check the file only).") var offline = false

  struct Result: Encodable {
    var file: String
    var errors: [String]
    var warnings: [String]
    var systems: Int
    var repositories: [RepositoryReadiness]?
  }

  func run() async throws {
    let f = try file ?? options.file()
    let result = PlanLoader.load(file: f)
    let out = options.output
    for d in result.diagnostics { out.line("\(d)") }
    var warnings = result.warnings.map(\.description)
    var probes: [RepositoryReadiness]?
    if let plan = result.plan {
      let environment = ProcessInfo.processInfo.environment
      for p in PlanRepositories.offsiteProblems(plan, environment: environment) {
        out.line("warning: \(p)")
        warnings.append(p)
      }
      if !offline {
        let found = await PlanRepositories.probe(plan, environment: environment)
        for r in found where r.state != .ready {
          let line = "repository \(r.name) (\(r.url)): \(r.detail)"
          out.line("warning: \(line)" + (r.hint.map { "\n  hint: \($0)" } ?? ""))
          warnings.append(line)
        }
        probes = found
      }
      let reach = probes.map { p in "; \(p.filter { $0.state == .ready }.count) of \(p.count) repositories exist" } ?? ""
      let w = warnings.count == 1 ? "1 warning" : "\(warnings.count) warnings"
      out.line("\(f): \(plan.systems.count) systems, \(plan.repositories.count) repositories\(reach); \(w)")
    } else {
      out.line("\(f): \(result.errors.count) errors, \(result.warnings.count) warnings")
    }
    try out.emit(
      Result(
        file: f, errors: result.errors.map(\.description), warnings: warnings,
        systems: result.plan?.systems.count ?? 0, repositories: probes))
    if result.plan == nil { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}

struct PlanInitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Create the plan's repositories that do not exist yet, and check the others.",
    discussion: """
      For each repository under repositories: in the plan: one that does not exist is created with the password its reference names (an S3 bucket is created when missing, with Object Lock when the plan says immutable_days, and every object is then locked for that many days); one that exists is opened with that password and checked to be as immutable as the plan says. A repository marked offsite (or on S3 or a Lifeboat server) on the same storage as an onsite one is a warning. Nothing in an existing repository is changed. Each creation is recorded in the plan's audit log.

      Exit code 0 when every repository is ready, 1 when one could not be created or opened (the others are still done).

        lifeboat plan check --plan /etc/lifeboat/plan.yaml
        lifeboat plan init --plan /etc/lifeboat/plan.yaml
        lifeboat run --all --plan /etc/lifeboat/plan.yaml
      """)

  @OptionGroup var options: PlanOptions

  @Option(help: "Password key derivation for new repositories: scrypt (default) or pbkdf2 (FIPS 140).")
  var kdf: InitCommand.KDFChoice = .scrypt

  func run() async throws {
    let plan = try options.load()
    let out = options.output
    let context = RunContext(plan: plan, catalog: try options.catalog(plan), clock: options.clock, actor: PlanOptions.actor)
    let results = await PlanRepositories.initialize(context, derivation: kdf == .scrypt ? .defaultScrypt : .defaultPBKDF2)
    let nameWidth = results.map(\.name.count).max() ?? 0
    for r in results {
      let name = r.name + String(repeating: " ", count: nameWidth - r.name.count)
      switch r.state {
      case .failed:
        out.line("\(name)  \(r.url)  FAILED: \(r.detail)" + (r.hint.map { "\n  hint: \($0)" } ?? ""))
      default:
        out.line("\(name)  \(r.url)  \(r.detail)")
      }
    }
    for p in PlanRepositories.offsiteProblems(plan, environment: context.environment) { out.warn(p) }
    let created = results.filter { $0.state == .created }.count
    let failed = results.filter { $0.state == .failed }.count
    let ready = results.count - failed
    out.line(
      "\(ready) of \(results.count) repositories ready" + (created > 0 ? " (\(created) created)" : "")
        + (failed > 0 ? "; \(failed) failed, see above" : ""))
    if failed == 0 && created > 0 { out.line("keep the passwords safe: without them nobody can read these backups") }
    try out.emit(results)
    if failed > 0 { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}

struct PlanShowCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show",
    abstract: "Print every system's effective settings and where each comes from.",
    discussion: "Each value is marked with its origin: the plan's line, the tier's default, or Lifeboat's default.")

  @OptionGroup var options: PlanOptions
  @Option(help: "Only this system.") var system: String?

  struct Value: Encodable {
    var value: String
    var source: String
  }

  struct SystemView: Encodable {
    var name: String
    var owner: String?
    var settings: [String: Value]
    var sources: [String]
  }

  func run() async throws {
    let plan = try options.load()
    let out = options.output
    var views: [SystemView] = []
    for s in plan.systems where system == nil || s.name == system || s.snapshotSystem == system {
      var settings: [String: Value] = [:]
      settings["tier"] = Value(value: s.tier.value.rawValue, source: "\(s.tier.source)")
      settings["rpo"] = Value(value: DurationText.format(s.rpo.value), source: "\(s.rpo.source)")
      settings["rto"] = Value(value: DurationText.format(s.rto.value), source: "\(s.rto.source)")
      settings["schedule"] = Value(value: "\(s.schedule.value)", source: "\(s.schedule.source)")
      settings["retention"] = Value(value: Self.describe(s.retention.value), source: "\(s.retention.source)")
      settings["copies"] = Value(value: s.copies.value.joined(separator: ", "), source: "\(s.copies.source)")
      settings["drill"] = Value(
        value: "every \(DurationText.format(s.drill.value.every)) from \(s.drill.value.repository ?? "-")"
          + (s.drill.value.checks.isEmpty ? ", no application checks defined" : ", \(Plural.count(s.drill.value.checks.count, "application check"))"),
        source: "\(s.drill.source)")
      settings["downtime cost"] = Value(
        value: String(format: "%.0f per hour", s.downtimeCostPerHour.value), source: "\(s.downtimeCostPerHour.source)")
      settings["compression"] = Value(
        value: s.compression.value?.rawValue ?? "each repository's mode", source: "\(s.compression.source)")
      let sources = s.sources.map { src -> String in
        switch src.kind {
        case .path(let p, let ex): return p + (ex.isEmpty ? "" : " (excluding \(ex.joined(separator: ", ")))")
        case .command(let c, let name, _): return "\(name) ← `\(c)`"
        case .database(let d):
          return d.title + (d.password.map { " (password \($0))" } ?? "") + (d.engine == .postgres && !d.globals ? ", no globals" : "")
        case .smb(let share):
          return share.title + (share.username.map { " as \($0)" } ?? "") + (share.password.map { " (password \($0))" } ?? "")
            + (share.excludes.isEmpty ? "" : " (excluding \(share.excludes.joined(separator: ", ")))")
        }
      }
      views.append(SystemView(name: s.name, owner: s.owner, settings: settings, sources: sources))
      out.line("\(s.name)" + (s.owner.map { " — owner \($0)" } ?? ""))
      for key in ["tier", "rpo", "rto", "schedule", "retention", "copies", "drill", "downtime cost", "compression"] {
        let v = settings[key]!
        // Padded, never cut: a long value pushes its origin to the right.
        let gap = String(repeating: " ", count: max(1, 44 - v.value.count))
        out.line("  " + key.padding(toLength: 14, withPad: " ", startingAt: 0) + v.value + gap + "← " + v.source)
      }
      for src in sources { out.line("  source        \(src)") }
    }
    if views.isEmpty, let system { throw LifeboatError(.notFound, "the plan has no system \(system)") }
    try out.emit(views)
  }

  static func describe(_ p: RetentionPolicy) -> String {
    var parts: [String] = []
    if let n = p.keepLast { parts.append("last \(n)") }
    if let n = p.keepHourly { parts.append("hourly \(n)") }
    if let n = p.keepDaily { parts.append("daily \(n)") }
    if let n = p.keepWeekly { parts.append("weekly \(n)") }
    if let n = p.keepMonthly { parts.append("monthly \(n)") }
    if let n = p.keepYearly { parts.append("yearly \(n)") }
    if let w = p.keepWithin { parts.append("within \(DurationText.format(w))") }
    return parts.joined(separator: ", ")
  }
}

struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run what the plan says is due now (or one system, or all).",
    discussion: """
      For each system: the before hook, a backup of all its sources (paths and command output such as pg_dump, streamed without a temporary file) into its first repository, copies to every other repository it lists, retention in each, then the after hook (or the on-failure hook). Every step is a job in the catalog; every run an event in the audit log.

      Exit code 0 when every run succeeded, 3 when a backup finished with unreadable sources, 1 when a run failed.

        lifeboat run --plan /etc/lifeboat/plan.yaml
        lifeboat run --plan plan.yaml --system "Student Information System"
      """)

  @OptionGroup var options: PlanOptions
  @Option(help: "Run this system now, due or not.") var system: String?
  @Flag(help: "Run every system now.") var all = false

  func run() async throws {
    let plan = try options.load()
    let catalog = try options.catalog(plan)
    let now = options.clock.now()
    try catalog.recordPlanVersion(file: plan.file, actor: PlanOptions.actor, time: now)
    let out = options.output
    var systems: [ProtectedSystem]
    if let system {
      guard let s = plan.system(named: system) else {
        throw LifeboatError(.notFound, "the plan has no system \(system)",
          hint: "systems: \(plan.systems.map(\.name).joined(separator: ", "))")
      }
      systems = [s]
    } else if all {
      systems = plan.systems
    } else {
      systems = PlanStatus.due(plan, history: try catalog.jobs(kind: "backup", limit: 10_000), now: now)
      if systems.isEmpty { out.line("nothing is due") }
    }
    let context = RunContext(plan: plan, catalog: catalog, clock: options.clock, actor: PlanOptions.actor)
    var reports: [SystemRunReport] = []
    for s in systems {
      out.line("\(s.name): running")
      let r = await SystemRunner(context: context, system: s).run()
      reports.append(r)
      for j in r.jobs {
        let source = j.kind == "copy" ? j.details.flatMap(Self.sourceSnapshot).map { " (copy of \($0.prefix(8)))" } ?? "" : ""
        let head = "  \(j.kind) \(j.repository ?? "") \(j.outcome.rawValue)" + (j.snapshot.map { " snapshot \($0.prefix(8))" } ?? "") + source
        out.line(j.errors.first.map { Output.nested(head + ": ", $0) } ?? head)
      }
    }
    if let problem = await ServerReporting.push(plan: plan, catalog: catalog) { out.warn(problem) }
    AlertsCommand.print(await Alerting.evaluate(context), output: out)
    try out.emit(reports)
    if reports.contains(where: { $0.outcome == .failed || $0.outcome == .interrupted }) {
      throw PartialSuccess(code: ExitStatus.fatal)
    }
    if reports.contains(where: { $0.outcome == .partial }) { throw PartialSuccess(code: ExitStatus.partial) }
  }

  /// The source snapshot a copy job recorded in its details.
  static func sourceSnapshot(_ details: String) -> String? {
    (try? JSONSerialization.jsonObject(with: Data(details.utf8)) as? [String: Any])?["source_snapshot"] as? String
  }
}

struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "How each system stands: backups against the RPO, recovery against the RTO, copies and integrity.",
    discussion: """
      Each system gets four lights, judged by the same rules as the board report, the compliance report, the server's dashboard, its API and /metrics (docs/posture.md):

        backups    the last good backup against the RPO (amber past ¾ of it or when the last attempt failed)
        recovery   the last restore drill against the RTO (red when never drilled, failed or over the RTO)
        copies     3-2-1-1-0: two or more copies with a good backup, one offsite, one immutable
        integrity  ransomware signals (red when the newest backup is suspicious, amber for 30 days after one)

      Exit code 1 when any system's backups are red (no good backup within the RPO).
      """)

  @OptionGroup var options: PlanOptions

  func run() async throws {
    let plan = try options.load()
    let catalog = try options.catalog(plan)
    let history = try catalog.jobs(limit: 100_000)
    let now = try CommandClock.reporting().now()
    let out = options.output
    let posture = Posture.judge(plan: plan, history: history, auditIntact: try catalog.verifyAudit().isIntact, now: now)
    for f in posture.findings where f.system == nil { out.line("\(f.severity.rawValue.uppercased()) \(f.message)") }
    for p in posture.systems {
      let s = p.status
      out.line("\(Self.tag(p.light)) \(s.system) (\(s.tier))")
      for j in p.judgements {
        out.line("          \(j.area.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0))\(Self.tag(j.light)) \(j.summary)")
        for c in j.causes where c.light != .green && c.message != j.summary {
          out.line("                              \(c.message)")
        }
      }
      for (repo, when) in s.copies.sorted(by: { $0.key < $1.key }) {
        out.line("          copy \(repo): " + (when.flatMap { $0 }.map { Format.time($0) } ?? "none"))
      }
      if let e = s.lastError, let t = s.lastErrorTime { out.line(Output.nested("          last error \(Format.time(t)): ", e)) }
      out.line("          next run due \(Format.time(s.nextDue))" + (s.running ? " (running now)" : ""))
    }
    try out.emit(posture.systems)
    if posture.systems.contains(where: { $0.backups.light == .red }) { throw PartialSuccess(code: ExitStatus.fatal) }
  }

  static func tag(_ l: Light) -> String { l.rawValue.uppercased().padding(toLength: 9, withPad: " ", startingAt: 0) }
}

struct AuditCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit", abstract: "The hash-chained audit log.", subcommands: [AuditVerifyCommand.self, AuditListCommand.self])
}

struct AuditVerifyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Recompute the audit chain; report edited, deleted or reordered events.",
    discussion: "Prints the head hash: keep it elsewhere (a report, a ticket) and pass it back with --expect-head to detect removal of the newest events. Exit code 1 when the chain is broken.")

  @OptionGroup var options: PlanOptions
  @Option(help: "A head hash recorded earlier that must still be in the chain.") var expectHead: String?

  func run() async throws {
    let plan = try options.load()
    let v = try options.catalog(plan).verifyAudit(expectedHead: expectHead)
    let out = options.output
    for p in v.problems { out.line("error: \(p)") }
    out.line("\(v.events) events; head \(v.head)")
    out.line(v.isIntact ? "the audit chain is intact" : "the audit chain is BROKEN: \(v.problems.count) problems")
    try out.emit(v)
    if !v.isIntact { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}

struct AuditListCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "Print the audit log, oldest first.")

  @OptionGroup var options: PlanOptions

  func run() async throws {
    let plan = try options.load()
    let events = try options.catalog(plan).auditEvents()
    let out = options.output
    for e in events {
      out.line("\(e.seq) \(Format.time(e.time)) \(e.actor) \(e.kind) \(e.subject) \(e.details) \(e.hash.prefix(12))")
    }
    try out.emit(events)
  }
}

struct AgentCommand: AsyncParsableCommand, ManagesOwnSignals {
  static let configuration = CommandConfiguration(
    commandName: "agent",
    abstract: "Run the plan's schedules as a service.",
    discussion: """
      Runs each system when its schedule says (with a little jitter), never two jobs of one system at once, retries a failed run with backoff (1 min, 2, 4, … up to the schedule's interval). SIGHUP reloads the plan (an invalid plan is logged and the old one kept); SIGTERM or SIGINT stops it: running jobs are cancelled and recorded as interrupted, and every repository stays valid. contrib/lifeboat-agent.service is a systemd unit for it.
      """)

  @OptionGroup var options: PlanOptions

  @Option(help: "Largest random delay before a due run (5% of its interval at most), e.g. 5m or 0s.")
  var maxJitter: String = "5m"

  func validate() throws {
    guard DurationText.parse(maxJitter) != nil || maxJitter == "0" || maxJitter == "0s" else {
      throw ValidationError("--max-jitter takes a duration such as 5m, 30s or 0s")
    }
  }

  func run() async throws {
    let file = try options.file()
    _ = try options.load()
    var logger = Logger(label: "lifeboat.agent")
    logger.logLevel = options.quiet ? .warning : .info
    var agentOptions = AgentOptions()
    agentOptions.maxJitter = .seconds(Int64(DurationText.parse(maxJitter) ?? 0))
    let agent = try Agent(planFile: file, options: agentOptions, logger: logger)
    try await AgentService.runUntilSignalled(agent, logger: logger)
  }
}
