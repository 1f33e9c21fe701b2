// What the console knows about one client organization: its plan, the state of each system
// (RPO and RTO lights), the findings that need someone's attention, and what it stores here.

public import Foundation
import LifeboatCatalog
import LifeboatConsole
public import LifeboatOps
import LifeboatPlan

public enum StatusLight: String, Codable, Sendable, Comparable {
  case green, amber, red
  var rank: Int { self == .green ? 0 : self == .amber ? 1 : 2 }
  public static func < (a: StatusLight, b: StatusLight) -> Bool { a.rank < b.rank }
}

public struct SystemView: Codable, Sendable {
  public var status: SystemStatus
  public var rpoLight: StatusLight
  /// `ok` (the last drill restored within the RTO), `breached`, or `untested`.
  public var rtoState: String
  public var rtoLight: StatusLight
  public var light: StatusLight
}

public struct Finding: Codable, Sendable, Equatable {
  public var severity: StatusLight
  public var system: String?
  public var kind: String
  public var message: String
}

public struct TenantSummary: Codable, Sendable {
  public var id: String
  public var name: String
  public var organization: String?
  public var planErrors: [String]
  public var systems: [SystemView]
  public var findings: [Finding]
  public var light: StatusLight
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

  static func view(_ s: SystemStatus) -> SystemView {
    let rpoLight: StatusLight = s.rpoState == .ok ? .green : s.rpoState == .atRisk ? .amber : .red
    let rtoState: String
    if let secs = s.lastDrillRecoverySeconds, s.lastDrillVerdict != "failed" {
      rtoState = secs <= s.rtoSeconds ? "ok" : "breached"
    } else if s.lastDrillVerdict == "failed" {
      rtoState = "breached"
    } else {
      rtoState = "untested"
    }
    let rtoLight: StatusLight = rtoState == "ok" ? (s.drillOverdue ? .amber : .green) : rtoState == "breached" ? .red : .amber
    var light = max(rpoLight, rtoLight)
    if s.suspiciousSnapshots > 0 { light = .red }
    if !s.copiesMissing.isEmpty { light = max(light, .amber) }
    return SystemView(status: s, rpoLight: rpoLight, rtoState: rtoState, rtoLight: rtoLight, light: light)
  }

  static func findings(_ systems: [SystemView], planErrors: [String], auditIntact: Bool) -> [Finding] {
    var out: [Finding] = []
    if !auditIntact {
      out.append(Finding(severity: .red, system: nil, kind: "audit", message: "the tenant's audit chain does not verify"))
    }
    for e in planErrors { out.append(Finding(severity: .red, system: nil, kind: "plan", message: e)) }
    for v in systems {
      let s = v.status
      switch s.rpoState {
      case .breached:
        out.append(Finding(severity: .red, system: s.system, kind: "rpo",
          message: s.lastGoodBackup == nil ? "no good backup yet" : "the last good backup is older than the RPO"))
      case .atRisk:
        out.append(Finding(severity: .amber, system: s.system, kind: "rpo", message: "close to its RPO, or the last attempt failed"))
      case .ok: break
      }
      if v.rtoState == "breached" {
        out.append(Finding(severity: .red, system: s.system, kind: "rto",
          message: s.lastDrillVerdict == "failed" ? "the last restore drill failed" : "the last drill restored slower than the RTO"))
      } else if v.rtoState == "untested" {
        out.append(Finding(severity: .amber, system: s.system, kind: "drill",
          message: s.lastDrillVerdict == nil ? "never drilled: the RTO is unproven"
            : "the last drill recorded no recovery time: the RTO is unproven"))
      }
      if s.drillOverdue { out.append(Finding(severity: .amber, system: s.system, kind: "drill", message: "a restore drill is overdue")) }
      if s.suspiciousSnapshots > 0 {
        out.append(Finding(severity: .red, system: s.system, kind: "ransomware",
          message: "\(s.suspiciousSnapshots) backup(s) showed ransomware signals; restore from the clean point"))
      }
      if !s.copiesMissing.isEmpty {
        out.append(Finding(severity: .amber, system: s.system, kind: "copies",
          message: "no good copy yet in \(s.copiesMissing.joined(separator: ", "))"))
      }
      if let e = s.lastError, let t = s.lastErrorTime, (s.lastGoodBackup ?? .distantPast) < t {
        out.append(Finding(severity: .amber, system: s.system, kind: "failure", message: e))
      }
    }
    return out.sorted { $0.severity > $1.severity }
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

  /// `sizes` saves walking the repositories again when the caller has them already.
  static func summary(_ console: Console, _ tenant: Tenant, now: Date, sizes: [(name: String, bytes: Int64)]? = nil) throws
    -> TenantSummary
  {
    let (plan, errors) = plan(console, tenant.id)
    let catalog = try console.catalog(tenant.id)
    let history = try catalog.jobs(limit: 100_000)
    let systems = (plan?.systems ?? []).map { view(PlanStatus.status($0, history: history, now: now, timeZone: .current)) }
    let intact = try catalog.verifyAudit().isIntact
    let findings = findings(systems, planErrors: errors, auditIntact: intact)
    let recent = history.filter { $0.started > now.addingTimeInterval(-86400) }
    let repos = try sizes ?? repositorySizes(console, tenant.id)
    var light = systems.map(\.light).max() ?? .green
    if let worst = findings.map(\.severity).max() { light = max(light, worst) }
    if plan == nil { light = max(light, .amber) }
    return TenantSummary(
      id: tenant.id, name: tenant.name, organization: plan?.organization, planErrors: errors, systems: systems,
      findings: plan == nil && errors.isEmpty
        ? [Finding(severity: .amber, system: nil, kind: "plan", message: "no plan uploaded yet")] + findings : findings,
      light: light, lastRun: history.first?.started, runs24h: recent.count,
      failures24h: recent.filter { $0.outcome == .failed || $0.outcome == .interrupted }.count,
      repositories: repos.map(\.name),
      bytesStored: repos.reduce(0) { $0 + $1.bytes },
      auditIntact: intact)
  }
}
