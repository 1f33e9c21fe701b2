// Executing the recovery runbook (the document itself is `Runbook`, in LifeboatPlan).

import Foundation
import LifeboatPosture
import LifeboatCatalog
import LifeboatCore
public import LifeboatPlan
import LifeboatPolicy

/// Executing the runbook: every system in order, as a drill (sandbox, nothing touches
/// production paths). Every step is timed and recorded; a failed system stops the chain of
/// the systems that depend on it.
public struct RunbookExecution: Sendable, Codable {
  public struct Result: Sendable, Codable {
    public var system: String
    public var verdict: String
    public var seconds: Double
    /// Time since the runbook started when this system was recovered, against its RTO.
    public var elapsedSeconds: Double
    public var rtoSeconds: Double
    public var withinRTO: Bool
    public var reason: String
  }

  public var results: [Result] = []
  public var totalSeconds: Double = 0
  /// Catalog writes that failed, the drills' included: that evidence is not in the catalog.
  /// Nil when everything was recorded.
  public var notRecorded: [String]?
  public var failed: Bool { results.contains { $0.verdict == "failed" || $0.verdict == "skipped" } }

  public static func run(_ runbook: Runbook, context: RunContext, sandboxRoot: String? = nil) async -> RunbookExecution {
    var out = RunbookExecution()
    let start = Stopwatch()
    var failed = Set<String>()
    var notRecorded: [String] = []
    recordInCatalog("the runbook's start in the audit log", into: &notRecorded) {
      try context.catalog.audit(
        kind: "runbook-start", subject: context.plan.organization,
        details: ["mode": "drill", "systems": "\(runbook.steps.count)"], actor: context.actor, time: context.clock.now())
    }
    for step in runbook.steps {
      guard let system = context.plan.system(named: step.system) else { continue }
      if let blocker = step.dependsOn.first(where: failed.contains) {
        failed.insert(step.system)
        out.results.append(
          Result(
            system: step.system, verdict: "skipped", seconds: 0, elapsedSeconds: start.seconds,
            rtoSeconds: step.rtoSeconds, withinRTO: false, reason: "not attempted: \(blocker) failed"))
        continue
      }
      var drill = DrillRunner(context: context, system: system)
      drill.repository = step.repository
      drill.sandboxRoot = sandboxRoot
      let t0 = Stopwatch()
      let report = await drill.run()
      let elapsed = start.seconds
      if report.verdict == .failed { failed.insert(step.system) }
      notRecorded += (report.notRecorded ?? []).map { "\(step.system): \($0)" }
      out.results.append(
        Result(
          system: step.system, verdict: report.verdict.rawValue, seconds: t0.seconds,
          elapsedSeconds: elapsed, rtoSeconds: step.rtoSeconds, withinRTO: elapsed <= step.rtoSeconds,
          reason: report.reasons.first ?? ""))
    }
    out.totalSeconds = start.seconds
    let details = [
      "mode": "drill", "failed": out.results.filter { $0.verdict == "failed" || $0.verdict == "skipped" }.map(\.system).joined(separator: ","),
      "seconds": String(format: "%.3f", out.totalSeconds),
    ]
    recordInCatalog("the runbook's end in the audit log", into: &notRecorded) {
      try context.catalog.audit(
        kind: "runbook-end", subject: context.plan.organization, details: details, actor: context.actor, time: context.clock.now())
    }
    out.notRecorded = notRecorded.isEmpty ? nil : notRecorded
    return out
  }
}
