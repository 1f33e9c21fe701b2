import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatStorage

struct PruneCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune",
    abstract: "Free the space of data no snapshot uses.",
    discussion: """
      Deletes packs that hold only unused data and repacks mostly-empty packs until at most --max-unused of the stored data is unused. Prune holds the exclusive lock: backups started meanwhile wait (with --retry-lock) or fail with exit code 11, so no backup can reference data while it is being removed. Each step is safe to interrupt: a prune stopped at any point leaves a repository that checks clean, and the next prune finishes the job.

      It refuses to run while any snapshot, tree or index file cannot be read, since damage could hide data that is still needed.

        lifeboat forget --keep-daily 14 --keep-monthly 12 --prune
        lifeboat prune --max-unused 10% --dry-run
      """)

  @OptionGroup var global: GlobalOptions

  @Option(help: "Unused share of stored data to tolerate before repacking, e.g. 5% (0% repacks everything).")
  var maxUnused: String = "5%"

  @Flag(name: [.short, .customLong("dry-run")], help: "Report what would be freed; change nothing.")
  var dryRun = false

  func validate() throws {
    guard Self.percent(maxUnused) != nil else {
      throw ValidationError("--max-unused takes a percentage from 0 to 100, e.g. 5%")
    }
  }

  static func percent(_ s: String) -> Double? {
    guard let v = Double(s.hasSuffix("%") ? String(s.dropLast()) : s), v >= 0, v <= 100 else { return nil }
    return v
  }

  func run() async throws {
    let repo = try await global.openRepository()
    let report = try await Self.prune(
      repo, global: global, options: PruneOptions(maxUnusedPercent: Self.percent(maxUnused)!, dryRun: dryRun))
    Self.print(report, dryRun: dryRun, output: global.output)
  }

  static func prune(_ repo: Repository, global: GlobalOptions, options: PruneOptions) async throws -> PruneReport {
    let report = try await global.withLock(repo, exclusive: true, command: "prune") { _ in
      try await repo.loadIndex()
      var report = try await Pruner(repository: repo, options: options).run()
      // Immutable repositories: the packs written by repacking are locked already; locks of
      // data still in use are extended and expired removed versions purged (design §16).
      if repo.immutability != nil, repo.backend is any ObjectLockingBackend {
        let maintenance = try ImmutabilityMaintenance(repository: repo)
        try await repo.loadIndex()
        report.locks = try await maintenance.inspect(extend: !options.dryRun)
        report.purge = try await maintenance.purgeExpired(dryRun: options.dryRun)
      }
      return report
    }
    if !options.dryRun {
      global.audit(
        "prune", subject: "\(report.packsDeleted + report.packsRepacked + report.unindexedPacksDeleted) packs",
        details: [
          "deleted": "\(report.packsDeleted)", "repacked": "\(report.packsRepacked)",
          "freed_bytes": "\(report.bytesFreed)",
        ])
    }
    return report
  }

  static func print(_ r: PruneReport, dryRun: Bool, output out: Output) {
    let verb = dryRun ? "would" : "did"
    out.line("\(r.snapshots) snapshots use \(r.usedBlobs) blobs in \(r.packsBefore) packs (\(Format.bytes(r.bytesBefore)))")
    out.line("prune \(verb) delete \(r.packsDeleted) unused packs and \(r.unindexedPacksDeleted) unindexed packs, repack \(r.packsRepacked) packs into \(r.packsWritten)"
      + (r.smallPacksCombined > 0 ? " (\(r.smallPacksCombined) of them small packs combined)" : ""))
    if r.packsResumed > 0 {
      out.line("resumed an interrupted prune: \(r.packsResumed) packs it had written are kept, their data not copied again")
    }
    out.line("space freed: \(Format.bytes(r.bytesFreed)); unused data left: \(Format.bytes(r.unusedBytesAfter))")
    if let l = r.locks { MaintenanceCommand.print(l, dryRun: dryRun, output: out) }
    if let p = r.purge {
      out.line("on an immutable repository removed objects are hidden; their locked versions stay until the lock runs out")
      MaintenanceCommand.print(p, dryRun: dryRun, output: out)
    }
    try? out.emit(r)
  }
}
