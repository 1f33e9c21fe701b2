// Evaluating a plan's alerts: the posture's alert conditions (the same judgement `lifeboat
// status` and the reports render) plus storage near full, handed to LifeboatAlerts to send
// what is new, changed, due for a reminder or resolved.

public import Foundation
public import LifeboatAlerts
import LifeboatBackends
public import LifeboatCatalog
import LifeboatCore
public import LifeboatPlan
public import LifeboatPosture

public enum Alerting {
  /// Every condition that alerts now.
  public static func conditions(plan: Plan, catalog: Catalog, now: Date) throws -> [AlertCondition] {
    let history = try catalog.jobs(limit: 20_000)
    let posture = Posture.judge(plan: plan, history: history, auditIntact: try catalog.verifyAudit().isIntact, now: now)
    var out = Posture.alertConditions(posture, now: now)
    // Immutable repositories whose locks fall short, from the last keeping of each.
    let lockJobs = try catalog.jobs(kind: "locks", limit: 500)
    let kept = LockKeeping.last(lockJobs)
    for name in plan.repositories.keys.sorted() {
      guard let days = plan.repositories[name]?.immutableDays, let job = kept[name] else { continue }
      if job.outcome == .failed {
        if let c = AlertCondition.locks(repository: name, days: days, lastFailure: job.errors.first ?? "failed", earliestUntil: nil, now: now) {
          out.append(c)
        }
        continue
      }
      // The last successful keeping's facts (a failed one after it was handled above).
      let good = lockJobs.first { $0.repository == name && $0.outcome == .success }
      if let facts = good.flatMap(LockKeeping.facts(of:)),
        let c = AlertCondition.locks(repository: name, days: days, lastFailure: nil, earliestUntil: facts.earliestUntil, now: now)
      {
        out.append(c)
      }
    }
    // Scheduled verification: the last `verify` job of each repository that has one.
    let verifyJobs = try catalog.jobs(kind: "verify", limit: 500)
    for name in plan.repositories.keys.sorted() where plan.repositories[name]?.verifyAge != nil {
      guard let job = verifyJobs.first(where: { $0.repository == name && $0.outcome != .interrupted }), job.outcome == .failed else { continue }
      let damaged = VerifyKeeping.facts(of: job)?.damagedPacks ?? []
      if let c = AlertCondition.verification(repository: name, damagedPacks: damaged, failure: damaged.isEmpty ? job.errors.first ?? "failed" : nil) {
        out.append(c)
      }
    }
    for name in plan.repositories.keys.sorted() {
      guard let path = BackendFactory.localPath(of: plan.repositories[name]!.url) else { continue }
      var fs = statvfs()
      guard statvfs(path, &fs) == 0, fs.f_blocks > 0 else { continue }
      let total = Double(fs.f_blocks)
      let free = Double(fs.f_bavail)
      if let c = AlertCondition.storage(
        repository: name, used: 1 - free / total, free: UInt64(fs.f_bavail) * UInt64(fs.f_frsize))
      {
        out.append(c)
      }
    }
    return out
  }

  /// The delivery settings of a plan: its SMTP server and the password behind the reference.
  /// A password that cannot be read is an error the e-mail deliveries record.
  static func delivery(_ context: RunContext, backoff: [TimeInterval]?) -> (AlertDelivery, String?) {
    var problem: String?
    var password: String?
    if let ref = context.plan.alerts.smtp?.password {
      do { password = try ref.resolve(environment: context.environment) } catch { problem = "\(error)" }
    }
    var d = AlertDelivery(smtp: context.plan.alerts.smtp, smtpPassword: password)
    if let backoff { d.backoff = backoff }
    return (d, problem)
  }

  /// Sends what is due now (new, changed, reminders, resolved, the digest) and records each
  /// delivery as an `alert` job. Never throws: alerting must not fail what triggered it.
  @discardableResult
  public static func evaluate(_ context: RunContext, backoff: [TimeInterval]? = nil) async -> [JobRecord] {
    let plan = context.plan
    guard !plan.alerts.isEmpty else { return [] }
    let now = context.clock.now()
    let book = AlertBook(settings: plan.alerts, organization: plan.organization)
    do {
      let conditions = try conditions(plan: plan, catalog: context.catalog, now: now)
      let jobs = try context.catalog.jobs(kind: "alert", limit: 5000)
      let outgoing = book.decide(conditions, delivered: AlertBook.delivered(jobs), now: now)
        + book.digest(conditions, jobs: jobs, now: now)
      guard !outgoing.isEmpty else { return [] }
      let (delivery, _) = delivery(context, backoff: backoff)
      return await book.send(outgoing, delivery: delivery, catalog: context.catalog, clock: context.clock)
    } catch {
      return []
    }
  }

  /// `lifeboat alerts test`: one test message to every target.
  public static func test(_ context: RunContext, backoff: [TimeInterval]? = nil) async -> [JobRecord] {
    let plan = context.plan
    let now = context.clock.now()
    let book = AlertBook(settings: plan.alerts, organization: plan.organization)
    let c = AlertCondition(
      key: "test", system: nil, reason: "test", severity: .green, message: "a test of the alert targets", action: "nothing")
    let outgoing = plan.alerts.targets.map {
      AlertBook.Outgoing(
        message: AlertMessage(event: .test, organization: plan.organization, condition: c, since: now, time: now, link: plan.alerts.dashboard),
        target: $0)
    }
    let (delivery, _) = delivery(context, backoff: backoff)
    return await book.send(outgoing, delivery: delivery, catalog: context.catalog, clock: context.clock)
  }
}
