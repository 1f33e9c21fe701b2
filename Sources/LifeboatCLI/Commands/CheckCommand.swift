import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatPolicy
import LifeboatRepository
import LifeboatStorage

struct CheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Verify the repository's structure and, optionally, its data.",
    discussion: """
      Without options, checks that every index file opens, every indexed pack exists, and every snapshot's trees and blobs are present. --read-data also reads every pack and authenticates every blob (the only way to find bit rot); --read-data-subset 10% reads a random tenth, so a full pass over a large repository can be spread over several runs.

      --read-data-max-age 30d reads only what is due: packs never verified on this machine or verified more than 30 days ago, plus the share of the rest that keeps the load even (run daily, about a thirtieth of the repository each day), so every pack is read at least once per 30 days and a check of a large repository on S3 costs a slice of its egress each time. When each pack was last verified is kept in the cache directory ($LIFEBOAT_CACHE_DIR/verified/REPOSITORY-ID), sealed with the repository's key: a missing or altered record only means everything is due. Every check that reads data (--read-data, --read-data-subset) updates it.

      Damage is reported per pack, with the snapshots and files it affects. Exit code 1 when anything is damaged.
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "Read and authenticate all data.")
  var readData = false

  @Option(help: "Read a random subset of packs, e.g. 10% .")
  var readDataSubset: String?

  @Option(help: ArgumentHelp("Read the packs not verified within this age (and an even share of the rest), e.g. 30d.", valueName: "age"))
  var readDataMaxAge: String?

  func validate() throws {
    if [readData, readDataSubset != nil, readDataMaxAge != nil].filter({ $0 }).count > 1 {
      throw ValidationError("use one of --read-data, --read-data-subset and --read-data-max-age")
    }
    if let a = readDataMaxAge, (DurationText.parse(a) ?? 0) <= 0 {
      throw ValidationError("--read-data-max-age takes a duration such as 30d, 2w or 1mo, not \(a)")
    }
    if let s = readDataSubset {
      guard let v = Double(s.hasSuffix("%") ? String(s.dropLast()) : s), v > 0, v <= 100 else {
        throw ValidationError("--read-data-subset takes a percentage between 0 and 100, e.g. 10%")
      }
    }
  }

  func run() async throws {
    let out = global.output
    var options = CheckOptions()
    if readData { options.readData = .all }
    if let s = readDataSubset {
      options.readData = .subset(percent: Double(s.hasSuffix("%") ? String(s.dropLast()) : s)!)
    }
    let backend = try global.backend()
    let password = try global.password()
    // Pack names need no key: hash packs on the other core while scrypt runs.
    let prehasher = options.readData != .none && !backend.isRemote ? PackPrehasher(backend: backend) : nil
    let repo: Repository
    do {
      repo = try await global.open(backend, password: password)
    } catch {
      _ = await prehasher?.stop()
      throw error
    }
    options.namesVerified = await prehasher?.stop() ?? []
    // Where this machine remembers which packs it verified, and when.
    let now = global.clock.now()
    let ledgerPath = LocalCache.directory().map { VerificationLedger.path(cacheDirectory: $0, repositoryID: repo.config.id) }
    var ledger = VerificationLedger()
    if let ledgerPath {
      let (loaded, problem) = VerificationLedger.load(path: ledgerPath, keys: repo.keys, repositoryID: repo.config.id)
      ledger = loaded
      if let problem, readDataMaxAge != nil { out.line("note: \(problem)") }
    } else if readDataMaxAge != nil {
      throw LifeboatError(
        .usage, "--read-data-max-age needs a cache directory to remember which packs were verified, and there is none",
        hint: "set LIFEBOAT_CACHE_DIR to a directory of this user's (or HOME)")
    }
    if let a = readDataMaxAge { options.readData = .due(maxAge: DurationText.parse(a)!, ledger: ledger, now: now) }
    let report = try await global.withLock(repo, exclusive: false, command: "check") { _ in
      try await repo.loadIndex()
      let checker = Checker(repository: repo, options: options)
      var report = try await out.withProgress(checker.progress) { try await checker.run() }
      if options.readData != .none, let ledgerPath {
        let verified = checker.packsVerified
        ledger.record(clean: verified.clean, damaged: verified.damaged, existing: verified.existing, now: now)
        do {
          try ledger.save(path: ledgerPath, keys: repo.keys, repositoryID: repo.config.id)
        } catch {
          out.line("note: the record of verified packs was not saved (\(error)); the next --read-data-max-age reads these packs again")
        }
      }
      try await Self.checkLocks(repo, into: &report)
      if let damage = repo.configDamage {
        report.errors.append(.init(kind: "config", object: "config", detail: damage + "; run `lifeboat repair config`"))
      }
      return report
    }
    for n in report.notes { out.line("note: \(n.object): \(n.detail)") }
    for e in report.errors { out.line("error: \(e.object): \(e.detail)") }
    if !report.affected.isEmpty {
      out.line("affected by the damage:")
      for a in report.affected { out.line("  snapshot \(a.snapshot.prefix(8)): \(a.path)") }
    }
    out.line(
      "checked \(report.snapshots) snapshots, \(report.trees) trees, \(report.blobs) blobs, "
        + "\(report.packs) packs"
        + (report.packsRead > 0 ? " (\(report.packsRead) read in full, \(Format.bytes(report.bytesRead)))" : ""))
    if let n = report.lockedObjects, let p = repo.immutability {
      out.line("\(n) objects in use are locked (\(p.mode.rawValue)) until at least the horizon \(Format.time(p.horizon(now: global.clock.now())))")
    }
    out.line(report.isClean ? "no errors were found" : "\(report.errors.count) errors were found")
    try out.emit(report)
    if !report.isClean { throw PartialSuccess(code: ExitStatus.fatal) }
  }

  /// Immutable repositories: every object in use must be locked up to the horizon.
  static func checkLocks(_ repo: Repository, into report: inout CheckReport) async throws {
    guard let policy = repo.immutability else { return }
    guard let lockable = repo.backend as? any ObjectLockingBackend else {
      report.notes.append(
        .init(kind: "lock", object: "repository",
          detail: "configured for \(policy.days)-day Object Lock, but this storage cannot lock objects (a copy?); locks not checked"))
      return
    }
    let status = try await Repository.storage { try await lockable.objectLockStatus() }
    if !status.enabled {
      report.errors.append(
        .init(kind: "lock", object: "bucket", detail: "Object Lock is not enabled on the bucket: nothing is immutable"))
      return
    }
    let locks = try await ImmutabilityMaintenance(repository: repo).inspect(extend: false)
    for f in locks.findings {
      let detail = f.kind == "missing"
        ? "has no Object Lock"
        : "lock expires \(Format.time(f.until!)), before the immutability horizon \(Format.time(locks.horizon)); run `lifeboat maintenance`"
      report.errors.append(.init(kind: "lock", object: f.object, detail: detail))
    }
    report.lockedObjects = locks.objects - locks.findings.count
  }
}
