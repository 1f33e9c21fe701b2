import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

struct MaintenanceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "maintenance",
    abstract: "Keep an immutable repository's locks in force and free what has expired.",
    discussion: """
      For repositories created with --immutable-days N on an S3 bucket with Object Lock.

      Deduplication means a new snapshot can use data written long ago, whose lock runs out first. --extend-locks (the default) finds every object still in use (config, keys, snapshots, index, and every pack the index references) and extends each lock that would run out within the next N/4 days to N days from now, so everything the repository needs stays immutable for at least 3N/4 days at any time. Run it at least every N/4 days; prune runs it after every prune.

      --purge-expired deletes, for good, the versions of objects that were removed (by forget or prune: on an immutable bucket a removal only hides the object) once their lock has run out. A version still locked is never sent a delete; it is listed and purged by a later run.

        lifeboat maintenance -r s3:https://s3.example.net/backups/school
        lifeboat maintenance --purge-expired --dry-run
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "Extend the locks of objects still in use (the default when no action is given).")
  var extendLocks = false

  @Flag(help: "Delete removed objects' versions whose lock has run out.")
  var purgeExpired = false

  @Flag(name: [.short, .customLong("dry-run")], help: "Report; change nothing.")
  var dryRun = false

  struct Result: Encodable {
    var locks: LockReport?
    var purge: PurgeReport?
  }

  func run() async throws {
    let repo = try await global.openRepository()
    let maintenance = try ImmutabilityMaintenance(repository: repo)
    let out = global.output
    let doExtend = extendLocks || !purgeExpired
    let result = try await global.withLock(repo, exclusive: purgeExpired, command: "maintenance") { _ in
      try await repo.loadIndex()
      var r = Result()
      if doExtend {
        let p = OperationProgress()
        r.locks = try await out.withProgress(p) { try await maintenance.inspect(extend: !dryRun, progress: p) }
      }
      if purgeExpired { r.purge = try await maintenance.purgeExpired(dryRun: dryRun) }
      return r
    }
    if let p = result.purge, !dryRun, p.purgedVersions > 0 {
      global.audit(
        "purge", subject: "\(p.purgedVersions) expired versions",
        details: ["versions": "\(p.purgedVersions)", "bytes": "\(p.purgedBytes)"])
    }
    if let l = result.locks { Self.print(l, dryRun: dryRun, output: out) }
    if let p = result.purge { Self.print(p, dryRun: dryRun, output: out) }
    try out.emit(result)
  }

  static func print(_ l: LockReport, dryRun: Bool, output out: Output) {
    let missing = l.findings.filter { $0.kind == "missing" }.count
    let short = l.findings.count - missing
    out.line("\(l.objects) objects in use; policy: \(l.mode) lock for \(l.days) days; horizon \(Format.time(l.horizon))")
    if missing > 0 { out.line("\(missing) objects had no lock") }
    if short > 0 { out.line("\(short) locks ran out before the horizon") }
    out.line(dryRun ? "would extend \(l.findings.count) locks" : "extended \(l.extended) locks")
    if let e = l.earliestUntil { out.line("every object in use is locked until at least \(Format.time(e))") }
  }

  static func print(_ p: PurgeReport, dryRun: Bool, output out: Output) {
    let verb = dryRun ? "would purge" : "purged"
    out.line("\(verb) \(p.purgedVersions) expired versions (\(Format.bytes(p.purgedBytes))) and \(p.deleteMarkersRemoved) delete markers")
    if !p.waiting.isEmpty {
      out.line("\(p.waiting.count) removed versions (\(Format.bytes(p.waitingBytes))) stay locked; the first expires \(Format.time(p.waiting[0].until))")
    }
  }
}
