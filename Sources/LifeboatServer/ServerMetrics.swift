// Prometheus metrics. HTTP traffic is counted through swift-metrics into the server's own
// registry; the recovery state (backup age, RPO/RTO state, drills, jobs, bytes stored) is read
// from the tenants' catalogs at every scrape, so it is never stale.

import Foundation
import LifeboatCore
import LifeboatPosture
import Hummingbird
import LifeboatCatalog
import LifeboatConsole
import LifeboatOps
import LifeboatPlan
import Metrics
import Prometheus

final class ServerMetrics: Sendable {
  let registry = PrometheusCollectorRegistry()

  var middleware: HTTPMetricsMiddleware { HTTPMetricsMiddleware(registry: registry) }

  /// The text exposition for the tenants `principal` may see.
  func exposition(console: Console, principal: Principal, now: Date) throws -> String {
    let r = PrometheusCollectorRegistry()
    func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
      r.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels).set(to: value)
    }
    for tenant in try console.tenants() where principal.mayAccess(tenant: tenant.id) {
      let sizes = try TenantView.repositorySizes(console, tenant.id)
      let s = try TenantView.summary(console, tenant, now: now, sizes: sizes)
      let t = ("tenant", tenant.id)
      gauge("lifeboat_tenant_state", "Worst state of the tenant: 0 green, 1 amber, 2 red", [t], Double(s.light.rank))
      gauge("lifeboat_audit_chain_intact", "1 when the tenant's audit chain verifies", [t], s.auditIntact ? 1 : 0)
      for sev in [Light.amber, .red] {
        gauge("lifeboat_findings", "Open findings by severity", [t, ("severity", sev.rawValue)],
          Double(s.findings.filter { $0.severity == sev }.count))
      }
      for v in s.systems {
        let labels = [t, ("system", v.status.system), ("tier", v.status.tier)]
        if let age = v.status.ageSeconds {
          gauge("lifeboat_last_good_backup_age_seconds", "Seconds since the last good backup", labels, age)
        }
        gauge("lifeboat_rpo_seconds", "The system's RPO", labels, v.status.rpoSeconds)
        gauge("lifeboat_rto_seconds", "The system's RTO", labels, v.status.rtoSeconds)
        // The posture's lights, as judged for `lifeboat status`, the reports and the dashboard.
        gauge("lifeboat_system_state", "The system's worst light: 0 green, 1 amber, 2 red", labels, Double(v.light.rank))
        for j in v.judgements {
          gauge("lifeboat_system_area_state", "One area's light: 0 green, 1 amber, 2 red", labels + [("area", j.area.rawValue)],
            Double(j.light.rank))
        }
        gauge("lifeboat_rpo_state", "The backups (RPO) light: 0 green, 1 amber, 2 red", labels, Double(v.backups.light.rank))
        gauge("lifeboat_rto_state", "The recovery (RTO) light: 0 green, 1 amber, 2 red", labels, Double(v.recovery.light.rank))
        if let verdict = v.status.lastDrillVerdict {
          gauge("lifeboat_last_drill_passed", "1 when the last restore drill passed", labels, verdict == .failed ? 0 : 1)
        }
        if let secs = v.status.lastDrillRecoverySeconds {
          gauge("lifeboat_last_drill_duration_seconds", "How long the last drill's restore took", labels, secs)
        }
        gauge("lifeboat_drill_overdue", "1 when a restore drill is overdue", labels, v.status.drillOverdue ? 1 : 0)
        gauge("lifeboat_suspicious_backups", "Backups that showed ransomware signals", labels, Double(v.status.suspiciousSnapshots))
      }
      var counts: [String: Int] = [:]
      for j in try console.catalog(tenant.id).jobs(limit: 1_000_000) {
        counts["\(j.system)\u{0}\(j.kind)\u{0}\(j.outcome.rawValue)", default: 0] += 1
      }
      for (k, n) in counts.sorted(by: { $0.key < $1.key }) {
        let parts = k.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        let jobs = MetricNameDescriptor(metricName: "lifeboat_jobs", unitName: "total", helpText: "Jobs recorded, by system, kind and outcome")
        r.makeCounter(descriptor: jobs, labels: [t, ("system", parts[0]), ("kind", parts[1]), ("outcome", parts[2])])
          .increment(by: Int64(n))
      }
      for repo in sizes {
        gauge("lifeboat_repository_bytes", "Bytes the server stores for the repository", [t, ("repository", repo.name)],
          Double(repo.bytes))
      }
    }
    return r.emitToString() + registry.emitToString()
  }
}

/// Counts requests and their duration by method, route and status.
/// Made on the registry directly (not through swift-metrics), so each carries its HELP text and
/// the exposition passes `promtool check metrics`.
struct HTTPMetricsMiddleware: RouterMiddleware {
  typealias Context = ServerContext
  let registry: PrometheusCollectorRegistry

  static var requests: MetricNameDescriptor {
    MetricNameDescriptor(
    metricName: "lifeboat_http_requests", unitName: "total", helpText: "HTTP requests served, by method, route class and status")
  }
  static var duration: MetricNameDescriptor {
    MetricNameDescriptor(
    metricName: "lifeboat_http_request_duration", unitName: "seconds", helpText: "Time to serve an HTTP request, by method and route class")
  }
  static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

  /// A label with few values: the API resource, or the repository object type; never ids.
  static func routeClass(_ path: String) -> String {
    let parts = path.split(separator: "/").map(String.init)
    if parts.first == "api" {
      if parts.count >= 5 && parts[2] == "tenants" { return "/api/v1/tenants/*/" + parts[4] }
      return "/api/v1/" + (parts.count > 2 ? parts[2] : "")
    }
    if parts.isEmpty { return "/" }
    if ["metrics", "healthz", "login", "logout"].contains(parts[0]) { return "/" + parts[0] }
    if parts[0] == "ui" { return "/ui" }
    if parts.count >= 3, ["config", "keys", "data", "index", "snapshots", "locks"].contains(parts[2]) {
      return "repository:" + parts[2]
    }
    return "other"
  }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    let start = Stopwatch()
    var status = 500
    defer {
      let route = Self.routeClass(request.uri.path)
      let dims = [("method", request.method.rawValue), ("route", route), ("status", String(status))]
      registry.makeCounter(descriptor: Self.requests, labels: dims).increment()
      registry.makeValueHistogram(
        descriptor: Self.duration, labels: [("method", request.method.rawValue), ("route", route)], buckets: Self.buckets
      ).record(start.seconds)
    }
    do {
      let response = try await next(request, context)
      status = Int(response.status.code)
      return response
    } catch let e as HTTPError {
      status = Int(e.status.code)
      throw e
    }
  }
}
