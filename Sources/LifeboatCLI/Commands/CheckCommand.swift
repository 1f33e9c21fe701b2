import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatStorage

struct CheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Verify the repository's structure and, optionally, its data.",
    discussion: """
      Without options, checks that every index file opens, every indexed pack exists, and every snapshot's trees and blobs are present. --read-data also reads every pack and authenticates every blob (the only way to find bit rot); --read-data-subset 10% reads a random tenth, so a full pass over a large repository can be spread over several runs.

      Damage is reported per pack, with the snapshots and files it affects. Exit code 1 when anything is damaged.
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "Read and authenticate all data.")
  var readData = false

  @Option(help: "Read a random subset of packs, e.g. 10% .")
  var readDataSubset: String?

  func validate() throws {
    if readData && readDataSubset != nil {
      throw ValidationError("use either --read-data or --read-data-subset")
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
    let report = try await global.withLock(repo, exclusive: false, command: "check") { _ in
      try await repo.loadIndex()
      let checker = Checker(repository: repo, options: options)
      var report = try await out.withProgress(checker.progress) { try await checker.run() }
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
        + "\(report.packs) packs" + (report.packsRead > 0 ? " (\(report.packsRead) read in full)" : ""))
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
