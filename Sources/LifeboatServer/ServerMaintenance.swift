// Deletion happens here and only here: approved requests (four eyes), the provider's retention
// and prune under the provider's own repository password, and the purge of quarantine folders
// older than the window. Everything removed goes through quarantine first.

import Foundation
import LifeboatCatalog
import LifeboatConsole
import LifeboatCore
import LifeboatEngine
import LifeboatOps
import LifeboatPlan
import LifeboatPolicy
import LifeboatRepository
import LifeboatStorage
import Logging
import ServiceLifecycle
import Synchronization

/// What one maintenance pass did to one repository.
public struct MaintenanceResult: Codable, Sendable {
  public var tenant: String
  public var repository: String
  public var snapshotsRemoved: [String] = []
  public var packsRemoved = 0
  public var bytesFreed: Int64 = 0
  public var quarantinePurged: [String] = []
  public var notes: [String] = []
}

public final class ServerMaintenance: Sendable {
  let console: Console
  let configuration: ServerConfiguration
  let environment: [String: String]
  /// Repositories under server-side maintenance: client writes wait (423) until it ends.
  private let busy = Mutex<Set<String>>([])

  init(console: Console, configuration: ServerConfiguration, environment: [String: String]) {
    self.console = console
    self.configuration = configuration
    self.environment = environment
  }

  static func key(_ tenant: String, _ repo: String) -> String { tenant + "/" + repo }

  func isBusy(tenant: String, repository: String) -> Bool { busy.withLock { $0.contains(Self.key(tenant, repository)) } }

  /// Runs `body` with the repository marked busy; refuses to start when it already is.
  func exclusive<T: Sendable>(tenant: String, repository: String, _ body: () async throws -> T) async throws -> T {
    let k = Self.key(tenant, repository)
    let got = busy.withLock { set -> Bool in set.insert(k).inserted }
    guard got else { throw ConsoleError(.conflict, "maintenance is already running on \(k)") }
    defer { _ = busy.withLock { $0.remove(k) } }
    return try await body()
  }

  func backend(tenant: String, repository: String) -> QuarantiningBackend {
    QuarantiningBackend(
      console.storedBackend(tenant: tenant, name: repository),
      quarantineRoot: console.quarantineDirectory(tenant: tenant) + "/" + repository, clock: console.clock)
  }

  // MARK: - Approved requests

  /// Carries out an approved request and records the outcome.
  func execute(_ a: Approval, actor: String) async -> Approval {
    do {
      let result: String = try await exclusive(tenant: a.tenant, repository: a.repository) {
        switch a.action {
        case .deleteSnapshots:
          // The one removal path: a snapshot with a protect mark is refused (the server
          // cannot read a mark, so every protection holds until the provider lifts it).
          let b = backend(tenant: a.tenant, repository: a.repository)
          var present: [String] = []
          for s in a.snapshots where try await b.exists(Handle(.snapshot, s)) { present.append(s) }
          let removed = try await SnapshotRemoval.removeWithoutKey(present, from: b)
          return "\(removed.count) of \(a.snapshots.count) snapshot(s) moved to quarantine for \(configuration.quarantineDays) days"
        case .unprotectSnapshots:
          // The provider lifts client protections through four eyes: the protect marks move
          // to quarantine (restorable for the quarantine window), and the audit chain says who.
          let b = backend(tenant: a.tenant, repository: a.repository)
          let wanted = Set(a.snapshots)
          var lifted = 0
          for info in try await b.list(.mark) {
            guard let n = MarkName(info.name), wanted.contains(n.snapshot), n.kind == SnapshotMark.Kind.protect.rawValue
            else { continue }
            try await b.remove(Handle(.mark, info.name))
            lifted += 1
          }
          return "\(lifted) protection(s) of \(a.snapshots.count) snapshot(s) lifted (moved to quarantine for \(configuration.quarantineDays) days)"
        case .deleteRepository:
          let from = console.repositoryDirectory(tenant: a.tenant, name: a.repository)
          let stamp = Int(console.clock.now().timeIntervalSince1970)
          let toDir = console.quarantineDirectory(tenant: a.tenant) + "/_repositories"
          try FileManager.default.createDirectory(atPath: toDir, withIntermediateDirectories: true)
          try FileManager.default.moveItem(atPath: from, toPath: toDir + "/\(a.repository)-\(stamp)")
          return "repository moved to quarantine (\(a.repository)-\(stamp)) for \(configuration.quarantineDays) days"
        }
      }
      try console.finishApproval(id: a.id, succeeded: true, result: result, actor: actor)
    } catch {
      try? console.finishApproval(id: a.id, succeeded: false, result: "\(error)", actor: actor)
    }
    return (try? console.approval(id: a.id)) ?? a
  }

  // MARK: - Retention, prune, purge

  /// One pass over a repository: the provider's retention (when configured), prune, and the
  /// purge of quarantine days past the window.
  func run(tenant: String, repository: String, actor: String) async throws -> MaintenanceResult {
    var result = MaintenanceResult(tenant: tenant, repository: repository)
    try await exclusive(tenant: tenant, repository: repository) {
      let b = backend(tenant: tenant, repository: repository)
      if let rule = configuration.retention.first(where: { $0.tenant == tenant && $0.repository == repository }) {
        let password = try rule.password.resolve(environment: environment)
        let repo = try await Repository.open(
          backend: b, password: password, clock: console.clock,
          memory: KeyMemory(directory: console.dataDirectory + "/cache"))
        try await repo.withLock(
          exclusive: true, command: "server maintenance", waiting: LockWaiting(budget: 60, firstDelay: 0.5, maxDelay: 5)
        ) { _ in
            let list = try await repo.listSnapshots()
            let marks = try await repo.loadMarks()
            result.notes += marks.problems
            // The one retention executor: rules, then marks (protected snapshots, clean points).
            let now = console.clock.now()
            let decisions = Forgetting.decide(
              rule.policy, snapshots: list.snapshots, marks: marks,
              grouping: RetentionGrouping(host: true, paths: false, tags: false), timeZone: .current, now: now)
            for d in decisions where d.keep && d.reasons.contains(where: { $0.hasPrefix("protected") || $0.hasPrefix("the clean point") }) {
              result.notes.append("kept \(d.id.hex.prefix(10)): " + d.reasons.filter { $0.hasPrefix("protected") || $0.hasPrefix("the clean point") }.joined(separator: "; "))
            }
            result.snapshotsRemoved += try await Forgetting.execute(decisions, in: repo, marks: marks, now: now).map(\.hex)
            let report = try await Pruner(repository: repo, options: PruneOptions()).run()
            result.packsRemoved = report.packsDeleted + report.unindexedPacksDeleted
            result.bytesFreed = Int64(report.bytesFreed)
        }
      } else {
        result.notes.append("no retention configured for this repository: nothing removed")
      }
      result.quarantinePurged = try Quarantine.purge(
        root: console.quarantineDirectory(tenant: tenant) + "/" + repository, olderThanDays: configuration.quarantineDays,
        now: console.clock.now())
    }
    try console.catalog(tenant).audit(
      kind: "server-maintenance", subject: repository,
      details: [
        "snapshots_removed": String(result.snapshotsRemoved.count), "packs_removed": String(result.packsRemoved),
        "quarantine_purged": result.quarantinePurged.joined(separator: ","),
      ], actor: actor, time: console.clock.now())
    return result
  }

  /// Puts quarantined data back; returns how many objects. A repository whose deletion was
  /// approved is moved back whole (the newest quarantined copy) and registered again; for a
  /// repository that exists, its quarantined objects are copied back.
  func restoreQuarantine(tenant: String, repository: String, actor: String) async throws -> Int {
    let n = try await exclusive(tenant: tenant, repository: repository) { () async throws -> Int in
      if try console.repository(tenant: tenant, name: repository) == nil {
        guard let moved = deletedRepositories(tenant: tenant).last(where: { $0.repository == repository }) else {
          throw ConsoleError(.notFound, "no repository '\(repository)' and none in quarantine")
        }
        let to = console.repositoryDirectory(tenant: tenant, name: repository)
        try FileManager.default.createDirectory(
          atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: moved.path, toPath: to)
        try console.registerRepository(tenant: tenant, name: repository, actor: actor)
        var objects = 0
        for type in ObjectType.allCases where type != .lock && type != .config {
          objects += try await LocalBackend(path: to).list(type).count
        }
        return objects + (FileManager.default.fileExists(atPath: to + "/config") ? 1 : 0)
      }
      return try await Quarantine.restore(
        root: console.quarantineDirectory(tenant: tenant) + "/" + repository,
        into: console.storedBackend(tenant: tenant, name: repository))
    }
    try console.catalog(tenant).audit(
      kind: "quarantine-restore", subject: repository, details: ["objects": String(n)], actor: actor, time: console.clock.now())
    return n
  }

  /// Repositories moved to quarantine by approved deletions: `_repositories/<name>-<unix time>`,
  /// oldest first.
  func deletedRepositories(tenant: String) -> [(repository: String, path: String, moved: Date)] {
    let dir = console.quarantineDirectory(tenant: tenant) + "/_repositories"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return names.compactMap { n -> (String, String, Date)? in
      guard let dash = n.lastIndex(of: "-"), let t = Int(n[n.index(after: dash)...]) else { return nil }
      return (String(n[..<dash]), dir + "/" + n, Date(timeIntervalSince1970: TimeInterval(t)))
    }.sorted { $0.2 < $1.2 }
  }

  /// Deletes repositories that have been in quarantine for longer than the window.
  func purgeDeletedRepositories(tenant: String) throws -> [String] {
    var purged: [String] = []
    let now = console.clock.now()
    for d in deletedRepositories(tenant: tenant)
    where d.moved.addingTimeInterval(Double(configuration.quarantineDays) * 86400) <= now {
      try FileManager.default.removeItem(atPath: d.path)
      purged.append((d.path as NSString).lastPathComponent)
    }
    if !purged.isEmpty {
      try console.catalog(tenant).audit(kind: "quarantine-purge", subject: "_repositories",
        details: ["purged": purged.joined(separator: ",")], actor: "server", time: now)
    }
    return purged
  }

  /// Every stored repository, one after the other.
  func runAll(logger: Logger) async {
    for t in (try? console.tenants()) ?? [] {
      do {
        _ = try purgeDeletedRepositories(tenant: t.id)
      } catch {
        logger.error("quarantine purge failed", metadata: ["tenant": "\(t.id)", "error": "\(error)"])
      }
      for r in (try? console.repositories(tenant: t.id)) ?? [] {
        do {
          let res = try await run(tenant: t.id, repository: r.name, actor: "server")
          logger.info("maintenance done", metadata: [
            "tenant": "\(t.id)", "repository": "\(r.name)", "snapshots_removed": "\(res.snapshotsRemoved.count)",
            "packs_removed": "\(res.packsRemoved)",
          ])
        } catch {
          logger.error("maintenance failed", metadata: ["tenant": "\(t.id)", "repository": "\(r.name)", "error": "\(error)"])
        }
      }
    }
  }
}

/// Runs maintenance every `maintenanceEvery` while the server runs.
struct MaintenanceService: Service {
  let maintenance: ServerMaintenance
  let every: TimeInterval
  let logger: Logger

  func run() async throws {
    guard every > 0 else { return }
    while !Task.isCancelled {
      do {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(every)) }
      } catch {
        return
      }
      await maintenance.runAll(logger: logger)
    }
  }
}
