// The plan's repositories before the first run: `plan check` probes them, `plan init` creates
// those that do not exist yet and checks the others (reachable, the password opens them, as
// immutable as the plan says, an offsite copy really elsewhere).

public import Foundation
import LifeboatBackends
public import LifeboatCore
public import LifeboatFormat
public import LifeboatPlan
import LifeboatRepository
import LifeboatStorage

/// How one of the plan's repositories stands.
public struct RepositoryReadiness: Sendable, Encodable, Equatable {
  public enum State: String, Sendable, Encodable {
    /// `plan init` created it.
    case created
    /// It exists (and, for `plan init`, its password opens it).
    case ready
    /// Its storage answers but holds no repository yet.
    case missing
    /// Its storage cannot be reached, or it could not be created or opened.
    case failed
  }

  public var name: String
  public var url: String
  public var state: State
  /// What was found or done, in a sentence.
  public var detail: String
  public var hint: String?
}

public enum PlanRepositories {
  /// Without the password: does each repository exist, and does its storage answer? Cheap
  /// enough for `plan check` (one request per repository, no key derivation).
  public static func probe(_ plan: Plan, environment: [String: String]) async -> [RepositoryReadiness] {
    var out: [RepositoryReadiness] = []
    for target in plan.repositories.values.sorted(by: { $0.line < $1.line }) {
      do {
        let backend = try RunContext.backend(for: target, environment: environment)
        let exists = try await Repository.storage { try await backend.exists(.config) }
        out.append(
          exists
            ? RepositoryReadiness(name: target.name, url: target.url, state: .ready, detail: "exists")
            : RepositoryReadiness(
              name: target.name, url: target.url, state: .missing, detail: "does not exist yet",
              hint: "`lifeboat plan init --plan \(plan.file)` creates it"))
      } catch {
        out.append(failure(target, error, planFile: plan.file))
      }
    }
    return out
  }

  /// Creates every repository that does not exist yet (with the plan's immutability, on a
  /// bucket with Object Lock when it says so) and checks the others: the password opens them and
  /// they are as immutable as the plan says. Never touches a repository's contents.
  public static func initialize(_ context: RunContext, derivation: KeyDerivation = .defaultScrypt) async
    -> [RepositoryReadiness]
  {
    var out: [RepositoryReadiness] = []
    for target in context.plan.repositories.values.sorted(by: { $0.line < $1.line }) {
      do {
        let backend = try context.backend(for: target)
        let password = try context.password(for: target)
        if try await Repository.storage({ try await backend.exists(.config) }) {
          let repo = try await context.open(target)
          let immutable = repo.immutability.map { ", immutable for \($0.days) days (\($0.mode))" } ?? ""
          out.append(
            RepositoryReadiness(
              name: target.name, url: target.url, state: .ready,
              detail: "exists and its password opens it\(immutable)"))
          continue
        }
        var steps: [String] = []
        if let done = try await Repository.storage({
          try await BackendFactory.prepareForInit(
            backend, objectLock: target.immutableDays != nil, environment: context.environment)
        }) {
          steps.append(done)
        }
        var config = RepositoryConfig()
        if let days = target.immutableDays { config.immutability = .init(days: days, mode: "compliance") }
        let repo = try await Repository.initialize(
          backend: backend, password: password, derivation: derivation, configuration: config, clock: context.clock)
        steps.append("created repository \(repo.config.id.prefix(10))")
        if let days = target.immutableDays { steps.append("every object locked (compliance) for \(days) days") }
        try context.catalog.audit(
          kind: "repository-init", subject: target.name,
          details: ["url": target.url, "immutable_days": target.immutableDays.map(String.init) ?? "none"],
          actor: context.actor, time: context.clock.now())
        out.append(
          RepositoryReadiness(name: target.name, url: target.url, state: .created, detail: steps.joined(separator: "; ")))
      } catch {
        out.append(failure(target, error, planFile: context.plan.file))
      }
    }
    return out
  }

  /// A repository that could not be created or opened, worded as a plan run words it — without
  /// naming the repository again: its readiness line does.
  static func failure(_ target: RepositoryTarget, _ error: any Error, planFile: String) -> RepositoryReadiness {
    let e = RunContext.planned((error as? LifeboatError) ?? LifeboatError(.fatal, "\(error)"), target, planFile: planFile, which: "it")
    return RepositoryReadiness(name: target.name, url: target.url, state: .failed, detail: e.message, hint: e.hint)
  }

  /// Offsite repositories that are not offsite: on the same storage (the same local file
  /// system, S3 bucket or Lifeboat server) as a repository the plan keeps on site. A fire or an
  /// attack that takes one takes the other.
  public static func offsiteProblems(_ plan: Plan, environment: [String: String]) -> [String] {
    let repositories = plan.repositories.values.sorted { $0.line < $1.line }
    let identity = Dictionary(
      uniqueKeysWithValues: repositories.map { ($0.name, BackendFactory.storageIdentity(of: $0.url, environment: environment)) })
    var problems: [String] = []
    for offsite in repositories where offsite.offsite {
      guard let mine = identity[offsite.name] ?? nil else { continue }
      for onsite in repositories where !onsite.offsite && identity[onsite.name] == mine {
        problems.append(
          "repository \(offsite.name) is marked offsite but is on the same storage as \(onsite.name) (\(mine)): "
            + "losing one loses both")
      }
    }
    return problems
  }
}
