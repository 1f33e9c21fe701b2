// Scheduled verification of a plan's repositories (docs/design.md §13): a repository with
// `verify_age:` has, after a system's run that wrote to it and at most once a day, the packs
// read that `check --read-data-max-age` says are due, so every pack is read back at least
// once per that age while each day costs about age/1-day of the repository's egress. Each
// time is a `verify` job (system ""), failed when damage is found.

public import Foundation
public import LifeboatCatalog
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

public enum VerifyKeeping {
  /// What a `verify` job's `details` hold.
  public struct Facts: Codable, Sendable {
    public var packs: Int
    public var packsRead: Int
    public var bytesRead: UInt64
    public var damagedPacks: [String]
  }

  public static func facts(of job: JobRecord) -> Facts? {
    guard job.kind == "verify", let details = job.details else { return nil }
    return try? JSONDecoder().decode(Facts.self, from: Data(details.utf8))
  }

  /// Verifies what is due in `name` when it has a `verify_age` and was not verified in the
  /// last day; returns the job, nil when not due.
  static func verifyIfDue(_ context: RunContext, _ name: String, now: Date) async -> JobRecord? {
    guard let age = context.plan.repositories[name]?.verifyAge else { return nil }
    let catalog = context.catalog
    if let last = try? catalog.jobs(kind: "verify", limit: 200).first(where: { $0.repository == name && $0.outcome != .interrupted }),
      now.timeIntervalSince(last.started) < 86_400 - 60
    {
      return nil
    }
    return await context.repositoryJob("verify", repository: name, now: now) { job in
      guard let cache = LocalCache.directory(context.environment) else {
        throw LifeboatError(
          .usage, "verify_age needs a cache directory to remember which packs were verified, and there is none",
          hint: "set LIFEBOAT_CACHE_DIR (or HOME) for the agent")
      }
      let repo = try await context.open(name)
      let path = VerificationLedger.path(cacheDirectory: cache, repositoryID: repo.config.id)
      var ledger = VerificationLedger.load(path: path, keys: repo.keys, repositoryID: repo.config.id).ledger
      let (report, verified) = try await repo.withLock(exclusive: false, command: "check", waiting: .planJob) { _ in
        try await repo.loadIndex()
        let checker = Checker(repository: repo, options: CheckOptions(readData: .due(maxAge: age, ledger: ledger, now: now)))
        return (try await checker.run(), checker.packsVerified)
      }
      ledger.record(clean: verified.clean, damaged: verified.damaged, existing: verified.existing, now: now)
      try ledger.save(path: path, keys: repo.keys, repositoryID: repo.config.id)
      let facts = Facts(packs: report.packs, packsRead: report.packsRead, bytesRead: report.bytesRead, damagedPacks: report.damagedPacks)
      let e = JSONEncoder()
      e.outputFormatting = [.sortedKeys]
      job.details = (try? e.encode(facts)).map { String(decoding: $0, as: UTF8.self) }
      job.bytes = Int64(report.bytesRead)
      job.files = Int64(report.packsRead)
      if report.isClean {
        job.outcome = .success
      } else {
        job.outcome = .failed
        job.errors = report.errors.prefix(20).map { "\($0.object): \($0.detail)" }
      }
    }
  }
}
