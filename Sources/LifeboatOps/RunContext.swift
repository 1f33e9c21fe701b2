// What a run of a plan needs: the plan, its catalog, a clock, the environment (passwords,
// credentials), who acts, and repositories opened by name through the composition root
// (LifeboatBackends).

public import Foundation
import LifeboatBackends
public import LifeboatCatalog
public import LifeboatCore
public import LifeboatPlan
public import LifeboatRepository
import LifeboatStorage
import Synchronization

/// Where a run's context comes from; tests pass a manual clock and their own environment.
public struct RunContext: Sendable {
  public var plan: Plan
  public var catalog: Catalog
  public var clock: any WallClock
  public var environment: [String: String]
  /// Who runs it, for the audit log (`agent@host`, `cli:user@host`).
  public var actor: String
  /// Opened repositories kept for the next job (key derivation costs a second each time).
  var cache: RepositoryCache?

  /// Keep repositories open between jobs. For one sequential process (the demo, `run --all`):
  /// every job reloads the index, so other writers' changes are seen.
  public mutating func cacheRepositories() { cache = RepositoryCache() }

  public init(
    plan: Plan, catalog: Catalog, clock: any WallClock = SystemClock(),
    environment: [String: String] = ProcessInfo.processInfo.environment, actor: String
  ) {
    self.plan = plan
    self.catalog = catalog
    self.clock = clock
    self.environment = environment
    self.actor = actor
  }

  public func open(_ name: String) async throws -> Repository {
    if let r = cache?.get(name) { return r }
    let repo = try await openUncached(name)
    cache?.put(name, repo)
    return repo
  }

  func openUncached(_ name: String) async throws -> Repository {
    guard let target = plan.repositories[name] else {
      throw LifeboatError(.usage, "the plan has no repository \(name)")
    }
    do {
      return try await open(target)
    } catch let e as LifeboatError {
      throw planned(e, target)
    }
  }

  /// Opens a plan's repository and checks it is as immutable as the plan says; errors are
  /// the repository layer's, for the caller to word (`planned`).
  func open(_ target: RepositoryTarget) async throws -> Repository {
    let backend = try backend(for: target)
    let password = try password(for: target)
    let repo = try await Repository.open(
      backend: backend, password: password, clock: clock, memory: KeyMemory.fromEnvironment(environment))
    if let cache = LocalCache.directory(environment) { repo.useIndexCache(directory: cache) }
    if let days = target.immutableDays, repo.immutability == nil {
      throw LifeboatError(
        .usage, "the plan says repository \(target.name) is immutable for \(days) days, but it was not created so",
        hint: "create it with `lifeboat init -r \(target.url) --immutable-days \(days)` on a bucket with Object Lock")
    }
    return repo
  }

  func backend(for target: RepositoryTarget) throws -> any Backend {
    try Self.backend(for: target, environment: environment)
  }

  /// The backend of a plan's repository; a `rest:` one signs in with the plan's token.
  static func backend(for target: RepositoryTarget, environment: [String: String]) throws -> any Backend {
    var env = environment
    if let token = target.token {
      do {
        env["LIFEBOAT_SERVER_TOKEN"] = try token.resolve(environment: environment)
      } catch let e as PlanError {
        throw LifeboatError(.usage, "the server token of repository \(target.name): \(e.message)", hint: e.hint)
      }
    }
    return try BackendFactory.backend(for: target.url, environment: env)
  }

  func password(for target: RepositoryTarget) throws -> String {
    do {
      return try target.password.resolve(environment: environment)
    } catch let e as PlanError {
      throw LifeboatError(.usage, "the password of repository \(target.name): \(e.message)", hint: e.hint)
    }
  }

  /// An error from opening a plan's repository, said in the plan's words: which repository
  /// (`which`; a line that already names it passes "it"), and what to do with the plan (not
  /// with --repo or LIFEBOAT_REPOSITORY).
  func planned(_ e: LifeboatError, _ target: RepositoryTarget) -> LifeboatError {
    Self.planned(e, target, planFile: plan.file)
  }

  static func planned(_ e: LifeboatError, _ target: RepositoryTarget, planFile: String, which: String? = nil) -> LifeboatError {
    let named = which == nil
    let which = which ?? "the plan's repository \(target.name) (\(target.url))"
    switch e.kind {
    case .repositoryNotFound:
      return LifeboatError(
        .repositoryNotFound, "\(which) does not exist yet",
        hint: "create every repository the plan names with `lifeboat plan init --plan \(planFile)`")
    case .wrongPassword:
      return LifeboatError(
        .wrongPassword, "the password \(target.password) does not open \(which)",
        hint: "check that \(target.password) holds this repository's password (repositories: \(target.name): password: in the plan)")
    default:
      return LifeboatError(e.kind, named ? "\(which): \(e.message)" : e.message, hint: e.hint)
    }
  }
}

final class RepositoryCache: Sendable {
  private let open = Mutex<[String: Repository]>([:])
  func get(_ name: String) -> Repository? { open.withLock { $0[name] } }
  func put(_ name: String, _ r: Repository) { open.withLock { $0[name] = r } }
}


extension RunContext {
  /// A repository's maintenance job after a run (`locks`, `verify`; system ""): started in the
  /// catalog, filled by `body` (which sets its outcome, or throws: failed, or interrupted when
  /// cancelled), ended and recorded. The one place these jobs begin and end.
  func repositoryJob(
    _ kind: String, repository name: String, now: Date, _ body: (inout JobRecord) async throws -> Void
  ) async -> JobRecord {
    var job = JobRecord(kind: kind, system: "", repository: name, started: now)
    job.id = try? catalog.start(job)
    do {
      try await body(&job)
    } catch {
      job.outcome = Task.isCancelled ? .interrupted : .failed
      job.errors = ["\(error)"]
    }
    job.ended = clock.now()
    try? catalog.finish(job)
    return job
  }
}
