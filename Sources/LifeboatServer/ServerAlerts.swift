// The server's alerts, per tenant (`alerts:` in the server configuration): the same conditions
// an agent alerts on, judged from what the tenant's agents reported (`TenantView.judged`), and
// one only the server can see — an agent that stopped reporting. Deciding, sending and
// recording are LifeboatAlerts' (`AlertBook`), each delivery a job in the tenant's catalog.

public import Foundation
public import LifeboatCatalog
public import LifeboatConsole
import LifeboatAlerts
import LifeboatCore
import LifeboatPlan
import LifeboatPolicy
public import LifeboatPosture
public import Logging
import ServiceLifecycle

public enum ServerAlerts {
  /// The tenant's alert conditions at `now`.
  public static func conditions(console: Console, tenant: String, silentAfter: TimeInterval, now: Date) throws -> [AlertCondition] {
    let judged = try TenantView.judged(console, tenant, now: now)
    var out = judged.plan == nil ? [] : Posture.alertConditions(judged.posture, now: now)
    if let silent = try silence(console: console, tenant: tenant, silentAfter: silentAfter, now: now) { out.append(silent) }
    return out
  }

  /// `agent-silent` when the last report from any of the tenant's agents arrived longer than
  /// `silentAfter` ago (the time it arrived, from the audit chain; a tenant whose agents never
  /// reported is the console's onboarding, not an alert).
  static func silence(console: Console, tenant: String, silentAfter: TimeInterval, now: Date) throws -> AlertCondition? {
    let events = try console.catalog(tenant).auditEvents()
    guard let last = events.filter({ $0.kind == "run-report" }).map(\.time).max() else { return nil }
    guard now.timeIntervalSince(last) > silentAfter else { return nil }
    return AlertCondition(
      key: "agent", system: nil, reason: "agent-silent", severity: .red,
      message: "no agent of \(tenant) has reported since \(DateText.moment(last)) (\(DurationText.format(now.timeIntervalSince(last))) ago)",
      action: "check the agent on the client's server (systemctl status lifeboat-agent; lifeboat agent logs) and its network path to this server")
  }

  /// Evaluates every tenant with alerts configured: what is due is sent and recorded in the
  /// tenant's catalog. Returns the deliveries per tenant.
  public static func evaluate(
    console: Console, configuration: ServerConfiguration, environment: [String: String], backoff: [TimeInterval]? = nil,
    logger: Logger? = nil
  ) async -> [String: [JobRecord]] {
    var sent: [String: [JobRecord]] = [:]
    for entry in configuration.alerts {
      let now = console.clock.now()
      do {
        let catalog = try console.catalog(entry.tenant)
        let conditions = try conditions(console: console, tenant: entry.tenant, silentAfter: entry.silentAfter, now: now)
        let name = (try? console.tenant(entry.tenant))??.name ?? entry.tenant
        let book = AlertBook(settings: entry.settings, organization: name)
        let jobs = try catalog.jobs(kind: "alert", limit: 5000)
        let outgoing = book.decide(conditions, delivered: AlertBook.delivered(jobs), now: now) + book.digest(conditions, jobs: jobs, now: now)
        guard !outgoing.isEmpty else { continue }
        var password: String?
        if let ref = entry.settings.smtp?.password { password = try? ref.resolve(environment: environment) }
        var delivery = AlertDelivery(smtp: entry.settings.smtp, smtpPassword: password)
        if let backoff { delivery.backoff = backoff }
        sent[entry.tenant] = await book.send(outgoing, delivery: delivery, catalog: catalog, clock: console.clock)
      } catch {
        logger?.error("alerts failed", metadata: ["tenant": "\(entry.tenant)", "error": "\(error)"])
      }
    }
    return sent
  }
}

/// Evaluates the server's alerts every `alertEvery` while the server runs.
struct AlertService: Service {
  let console: Console
  let configuration: ServerConfiguration
  let logger: Logger

  func run() async throws {
    guard !configuration.alerts.isEmpty else { return }
    while !Task.isCancelled {
      _ = await ServerAlerts.evaluate(
        console: console, configuration: configuration, environment: ProcessInfo.processInfo.environment, logger: logger)
      do {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(configuration.alertEvery)) }
      } catch {
        return
      }
    }
  }
}
