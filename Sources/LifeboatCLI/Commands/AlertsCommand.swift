import ArgumentParser
import Foundation
import LifeboatAlerts
import LifeboatCatalog
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatPosture

struct AlertsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "alerts",
    abstract: "What is wrong now, who was told, and a test message to every alert target.",
    discussion: """
      Alerts come from the plan's `alerts:` (e-mail through `smtp:`, webhooks in Lifeboat's JSON, Slack or Teams format). The conditions are the posture's (the same rules as `lifeboat status` and the reports): a failed backup, copy or retention; the RPO at risk or breached; a drill that failed, ran over the RTO or is overdue; a suspicious backup; an audit chain that does not verify; and a local repository more than 90% full. A condition is sent when it appears or changes, again after `alert_policy.remind_every` (default 24h), and a RESOLVED message follows when it is gone. `lifeboat agent`, `lifeboat run` and `lifeboat drill` evaluate them; every delivery is an `alert` job in the catalog.

        lifeboat alerts --plan plan.yaml              # open conditions and the last deliveries
        lifeboat alerts --plan plan.yaml --send       # send what is due now
        lifeboat alerts test --plan plan.yaml         # one test message to every target
      """,
    subcommands: [AlertsShowCommand.self, AlertsTestCommand.self], defaultSubcommand: AlertsShowCommand.self)

  /// One line per delivery.
  static func print(_ jobs: [JobRecord], output out: Output) {
    for job in jobs {
      let record = AlertBook.record(of: job)
      let to = record?.target ?? "?"
      if job.outcome == .success {
        out.line("alert sent to \(to): \(job.warnings.first ?? "")")
      } else {
        out.warn("alert to \(to) not delivered: \(job.errors.first ?? "")")
      }
    }
  }
}

struct AlertsShowCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "The conditions that alert now, and the last deliveries.")

  @OptionGroup var options: PlanOptions
  @Flag(help: "Send what is due now (new, changed, reminders, resolved).") var send = false
  @Option(help: "How many recent deliveries to list.") var last = 10

  func run() async throws {
    let plan = try options.load()
    let catalog = try options.catalog(plan)
    let out = options.output
    if plan.alerts.isEmpty { out.warn("the plan has no alerts: targets (add alerts: with email: or webhook:)") }
    let now = try CommandClock.reporting().now()
    let conditions = try Alerting.conditions(plan: plan, catalog: catalog, now: now)
    if conditions.isEmpty { out.line("nothing alerts now") }
    for c in conditions {
      out.line("\(c.severity.rawValue.uppercased()) \(c.system ?? (c.key.hasPrefix("storage/") ? "storage" : plan.organization)): \(c.message)")
      out.line("      what to do: \(c.action)")
    }
    var sent: [JobRecord] = []
    if send {
      sent = await Alerting.evaluate(RunContext(plan: plan, catalog: catalog, clock: options.clock, actor: PlanOptions.actor))
      AlertsCommand.print(sent, output: out)
    } else {
      let recent = try catalog.jobs(kind: "alert", limit: last)
      if !recent.isEmpty { out.line("last deliveries:") }
      for job in recent {
        let r = AlertBook.record(of: job)
        out.line("  \(DateText.moment(job.started))  \(job.outcome == .success ? "sent  " : "FAILED") \(r?.event.rawValue ?? "?") \(r?.key ?? "?") → \(r?.target ?? "?")")
      }
    }
    struct View: Encodable {
      var conditions: [AlertCondition]
      var sent: [JobRecord]
    }
    try out.emit(View(conditions: conditions, sent: sent))
  }
}

struct AlertsTestCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "test", abstract: "Send one test message to every alert target; exit 1 if any is not delivered.")

  @OptionGroup var options: PlanOptions

  func run() async throws {
    let plan = try options.load()
    guard !plan.alerts.isEmpty else {
      throw LifeboatError(.usage, "the plan has no alert targets", hint: "add alerts: [{ email: it-team@example.org }] and smtp:")
    }
    let catalog = try options.catalog(plan)
    let out = options.output
    let sent = await Alerting.test(RunContext(plan: plan, catalog: catalog, clock: options.clock, actor: PlanOptions.actor))
    AlertsCommand.print(sent, output: out)
    try out.emit(sent)
    if sent.contains(where: { $0.outcome != .success }) { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}

