// What the console knows about one client organization: its plan, each system's posture
// (judged by `Posture`, as everywhere), the findings that need someone's attention, and what
// it stores here.

public import Foundation
public import LifeboatPosture
import LifeboatCatalog
import LifeboatConsole
import LifeboatPlan
import LifeboatStorage

public struct TenantSummary: Codable, Sendable {
  public var id: String
  public var name: String
  public var organization: String?
  public var planErrors: [String]
  public var systems: [SystemPosture]
  public var findings: [Finding]
  public var light: Light
  public var lastRun: Date?
  public var runs24h: Int
  public var failures24h: Int
  public var repositories: [String]
  public var bytesStored: Int64
  public var auditIntact: Bool
}

enum TenantView {
  /// The tenant's plan, if one was uploaded; errors are reported, not thrown.
  static func plan(_ console: Console, _ tenant: String) -> (Plan?, [String]) {
    let path = console.planPath(tenant)
    guard FileManager.default.fileExists(atPath: path) else { return (nil, []) }
    let r = PlanLoader.load(file: path)
    return (r.plan, r.errors.map(\.description))
  }

  static func directorySize(_ path: String) -> Int64 {
    guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total: Int64 = 0
    while let f = e.nextObject() as? String {
      if let a = e.fileAttributes, a[.type] as? FileAttributeType == .typeRegular {
        total += (a[.size] as? NSNumber)?.int64Value ?? 0
      } else if let a = try? FileManager.default.attributesOfItem(atPath: path + "/" + f), a[.type] as? FileAttributeType == .typeRegular {
        total += (a[.size] as? NSNumber)?.int64Value ?? 0
      }
    }
    return total
  }

  /// Bytes on disk of each repository the server stores for the tenant.
  static func repositorySizes(_ console: Console, _ tenant: String) throws -> [(name: String, bytes: Int64)] {
    try console.repositories(tenant: tenant).map { ($0.name, directorySize(console.repositoryDirectory(tenant: tenant, name: $0.name))) }
  }

  /// The tenant's posture from its uploaded plan and what its agents reported — judged by
  /// `Posture`, as every report and `lifeboat status` are; the summary and the server's alerts
  /// both start here.
  static func judged(_ console: Console, _ tenant: String, now: Date) throws
    -> (plan: Plan?, errors: [String], history: [JobRecord], auditIntact: Bool, posture: PlanPosture)
  {
    let (plan, errors) = plan(console, tenant)
    let catalog = try console.catalog(tenant)
    let history = try catalog.jobs(limit: 100_000)
    let intact = try catalog.verifyAudit().isIntact
    let posture = Posture.judge(
      plan: plan, planErrors: errors, history: history, auditIntact: intact, planRequired: true, now: now)
    return (plan, errors, history, intact, posture)
  }

  /// `sizes` saves walking the repositories again when the caller has them already.
  static func summary(_ console: Console, _ tenant: Tenant, now: Date, sizes: [(name: String, bytes: Int64)]? = nil) throws
    -> TenantSummary
  {
    let (plan, errors, history, intact, posture) = try judged(console, tenant.id, now: now)
    let recent = history.filter { $0.started > now.addingTimeInterval(-86400) }
    let repos = try sizes ?? repositorySizes(console, tenant.id)
    return TenantSummary(
      id: tenant.id, name: tenant.name, organization: plan?.organization, planErrors: errors, systems: posture.systems,
      findings: posture.findings, light: posture.light, lastRun: history.first?.started, runs24h: recent.count,
      failures24h: recent.filter { $0.outcome == .failed || $0.outcome == .interrupted }.count,
      repositories: repos.map(\.name),
      bytesStored: repos.reduce(0) { $0 + $1.bytes },
      auditIntact: intact)
  }
}

extension Console {
  /// Where the server keeps a tenant's repository: the one mapping of (tenant, repository) to
  /// storage for the endpoint, maintenance and the API. Local until the server can keep its
  /// repositories elsewhere (issue #25).
  func storedBackend(tenant: String, name: String) -> LocalBackend {
    LocalBackend(path: repositoryDirectory(tenant: tenant, name: name))
  }
}
