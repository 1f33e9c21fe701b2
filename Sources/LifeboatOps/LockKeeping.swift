// Keeping a plan's immutable repositories immutable (docs/design.md §13): deduplication lets a
// new snapshot use data written long ago, whose lock runs out first, so the locks of objects
// still in use must be extended. After a system's run, each immutable repository it wrote to
// whose locks were last kept more than a quarter of the lock period ago is inspected and its
// short locks extended (`ImmutabilityMaintenance`); each time is a `locks` job (system ""),
// whose facts the alert for locks falling short reads (`AlertCondition.locks`).

public import Foundation
public import LifeboatCatalog
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

public enum LockKeeping {
  /// What a `locks` job's `details` hold.
  public struct Facts: Codable, Sendable {
    /// The earliest lock end of any object in use after the run (nil: no object).
    public var earliestUntil: Date?
    public var objects: Int
    public var extended: Int
    /// Objects found without a lock, or with one ending before the horizon, before extending.
    public var missing: Int
    public var short: Int
    public var days: Int
  }

  public static func facts(of job: JobRecord) -> Facts? {
    guard job.kind == "locks", let details = job.details else { return nil }
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return try? d.decode(Facts.self, from: Data(details.utf8))
  }

  /// The last `locks` job of each repository, newest first in `jobs`.
  public static func last(_ jobs: [JobRecord]) -> [String: JobRecord] {
    var out: [String: JobRecord] = [:]
    for j in jobs where j.kind == "locks" {
      guard let r = j.repository, out[r] == nil else { continue }
      out[r] = j
    }
    return out
  }

  /// Inspects and extends the locks of `name` when it is immutable and they were last kept
  /// more than a quarter of the lock period ago (or never); returns the job, nil when not due.
  static func keepIfDue(_ context: RunContext, _ name: String, now: Date) async -> JobRecord? {
    guard let days = context.plan.repositories[name]?.immutableDays, days > 0 else { return nil }
    let catalog = context.catalog
    if let last = try? catalog.jobs(kind: "locks", limit: 200).first(where: { $0.repository == name && $0.outcome == .success }),
      now.timeIntervalSince(last.started) < Double(days) * 86400 / 4
    {
      return nil
    }
    return await context.repositoryJob("locks", repository: name, now: now) { job in
      let repo = try await context.open(name)
      let report = try await repo.withLock(exclusive: false, command: "maintenance", waiting: .planJob) { _ in
        try await repo.loadIndex()
        return try await ImmutabilityMaintenance(repository: repo).inspect(extend: true)
      }
      let missing = report.findings.filter { $0.kind == "missing" }.count
      let facts = Facts(
        earliestUntil: report.earliestUntil, objects: report.objects, extended: report.extended, missing: missing,
        short: report.findings.count - missing, days: report.days)
      let e = JSONEncoder()
      e.dateEncodingStrategy = .iso8601
      e.outputFormatting = [.sortedKeys]
      job.details = (try? e.encode(facts)).map { String(decoding: $0, as: UTF8.self) }
      job.files = Int64(report.extended)
      job.outcome = .success
    }
  }
}
