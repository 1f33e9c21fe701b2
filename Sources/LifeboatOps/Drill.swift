// Restore drills: restore a snapshot into a sandbox, verify every byte and every file's
// metadata, run the system's application checks against it, time every phase, compare the
// recovery time with the RTO, clean up, and keep the evidence in the catalog.

import AsyncHTTPClient
import Foundation
public import LifeboatPosture
import LifeboatCatalog
import LifeboatCore
import LifeboatEngine
public import LifeboatPlan
import LifeboatPolicy
import LifeboatRepository
import LifeboatSources
import Synchronization

public struct DrillRunner: Sendable {
  public let context: RunContext
  public let system: ProtectedSystem
  /// A snapshot id or prefix; nil picks the newest of the system (or the clean point).
  public var snapshot: String?
  /// A repository name; nil uses the plan's drill repository (by default the last copy).
  public var repository: String?
  /// Restore the newest snapshot before the first suspicious one.
  public var clean = false
  /// Leave the sandbox for inspection.
  public var keepSandbox = false
  /// Where sandboxes are made (`LIFEBOAT_DRILL_DIR`, default /var/tmp).
  public var sandboxRoot: String?

  public init(context: RunContext, system: ProtectedSystem) {
    self.context = context
    self.system = system
  }

  var now: Date { context.clock.now() }

  public func run() async -> DrillReport {
    let repoName = repository ?? system.drill.value.repository ?? system.copies.value.last ?? ""
    // /var/tmp rather than /tmp: a full restore must not land on a RAM-backed tmpfs.
    let defaultRoot = FileManager.default.fileExists(atPath: "/var/tmp") ? "/var/tmp" : NSTemporaryDirectory()
    let root = sandboxRoot ?? context.environment["LIFEBOAT_DRILL_DIR"] ?? defaultRoot
    let sandbox = (root.hasSuffix("/") ? root : root + "/") + "lifeboat-drill-\(system.snapshotSystem)-\(UInt32.random(in: 0...UInt32.max))"
    var report = DrillReport(
      system: system.name, repository: repoName, actor: context.actor, host: ProcessInfo.processInfo.hostName,
      started: now, ended: now, sandbox: sandbox, rtoSeconds: system.rto.value)
    var job = JobRecord(kind: "drill", system: system.name, repository: repoName, started: report.started)
    var notRecorded: [String] = []
    let jobID = recordInCatalog("the drill's start", into: &notRecorded) { try context.catalog.start(job) }
    job.id = jobID
    func timed<T>(_ phase: String, _ body: () async throws -> T) async rethrows -> T {
      let t0 = Stopwatch()
      defer { report.phases[phase] = t0.seconds }
      return try await body()
    }

    do {
      // Open the copy the plan names: in an incident it is the one that matters.
      let repo: Repository
      do {
        repo = try await timed("open") {
          let r = try await context.open(repoName)
          try await r.loadIndex()
          return r
        }
      } catch {
        throw DrillFailure("cannot reach repository \(repoName): \(error)")
      }
      let (id, snap, why) = try await choose(repo)
      report.snapshot = id.hex
      report.snapshotTime = snap.time
      report.selection = why
      try FileManager.default.createDirectory(atPath: sandbox, withIntermediateDirectories: true)

      var restoreOptions = RestoreOptions(target: sandbox)
      restoreOptions.verify = true
      let restored = try await timed("restore") {
        try await repo.withLock(exclusive: false, command: "drill \(system.name)", waiting: .planJob) { _ in
          try await Restorer(repository: repo, options: restoreOptions).run(snapshot: snap)
        }
      }
      report.files = restored.files
      report.bytes = restored.bytes
      report.verifiedFiles = restored.verifiedFiles
      guard restored.isComplete else {
        let first = (restored.damagedFiles + restored.errors + restored.verifyFailures).first ?? "?"
        throw DrillFailure("the restore is incomplete: \(first)")
      }
      let meta = try await timed("verify") {
        try await SnapshotVerifier(repository: repo).verify(snap, restoredAt: sandbox)
      }
      report.verifiedNodes = meta.nodes
      guard meta.isClean else { throw DrillFailure("restored metadata differs: \(meta.problems[0])") }

      // Databases in the snapshot are proven first: restored into a throwaway server of their
      // engine and counted against what the backup recorded.
      let environment = context.environment
      let databases = await timed("databases") {
        await Blocking.run { DatabaseProof.run(restored: sandbox, environment: environment) }
      }
      report.checks = databases.map { .init(check: $0.title, passed: $0.passed, seconds: $0.seconds, detail: $0.detail) }
      if let failed = report.checks.first(where: { !$0.passed }) {
        throw DrillFailure("database check failed: \(failed.check): \(failed.detail)")
      }
      report.checks += await timed("checks") { await runChecks(sandbox: sandbox) }
      if let failed = report.checks.first(where: { !$0.passed }) {
        throw DrillFailure("check failed: \(failed.check): \(failed.detail)")
      }

      let restoreSeconds = report.phases["restore", default: 0]
      let proving = report.phases["verify", default: 0] + report.phases["databases", default: 0] + report.phases["checks", default: 0]
      report.recoverySeconds = restoreSeconds + proving
      report.bytesPerSecond = restoreSeconds > 0 ? Double(report.bytes) / restoreSeconds : 0
      if let full = try? await newestSize(repo), report.bytesPerSecond > 0 {
        report.projectedSeconds = Double(full) / report.bytesPerSecond + proving
      }
      if report.recoverySeconds > system.rto.value {
        report.verdict = .passedOverRTO
        report.reasons.append(
          "recovery took \(Self.seconds(report.recoverySeconds)), over the RTO of \(DurationText.format(system.rto.value))")
      } else {
        report.verdict = .passed
        report.reasons.append(
          "restored \(Plural.count(report.files, "file")) (\(ByteCount.format(report.bytes))), every byte and every file's metadata verified, "
            + (report.checks.isEmpty ? "no application checks defined" : "\(Plural.count(report.checks.count, "application check")) passed")
            + ", in \(Self.seconds(report.recoverySeconds)) against an RTO of \(DurationText.format(system.rto.value))")
      }
    } catch {
      report.verdict = .failed
      report.reasons.append((error as? DrillFailure)?.message ?? "\(error)")
    }

    if !keepSandbox {
      await timed("cleanup") { try? FileManager.default.removeItem(atPath: sandbox) }
    }
    report.ended = now
    job.ended = report.ended
    job.outcome = report.verdict == .failed ? .failed : .success
    job.snapshot = report.snapshot
    job.files = Int64(report.files)
    job.bytes = Int64(report.bytes)
    if report.verdict == .failed { job.errors = report.reasons }
    if report.verdict == .passedOverRTO { job.warnings = report.reasons }
    job.details = (try? JSONEncoder.drill.encode(report)).map { String(decoding: $0, as: UTF8.self) }
    job.verdict = report.verdict
    job.recoverySeconds = report.verdict == .failed ? nil : report.recoverySeconds
    recordInCatalog("the drill's result", into: &notRecorded) { try context.catalog.finish(job) }
    let details = [
      "verdict": report.verdict.rawValue, "repository": repoName, "snapshot": report.snapshot ?? "",
      "recovery_seconds": String(format: "%.3f", report.recoverySeconds), "reason": report.reasons.first ?? "",
    ]
    let ended = report.ended
    recordInCatalog("the drill in the audit log", into: &notRecorded) {
      try context.catalog.audit(kind: "drill", subject: system.name, details: details, actor: context.actor, time: ended)
    }
    report.notRecorded = notRecorded.isEmpty ? nil : notRecorded
    return report
  }

  static func seconds(_ s: Double) -> String { s < 60 ? String(format: "%.1f s", s) : DurationText.format(s) }

  /// The snapshot to drill and why.
  func choose(_ repo: Repository) async throws -> (ID, Snapshot, String) {
    if let snapshot {
      let (id, snap) = try await repo.findSnapshot(snapshot)
      return (id, snap, "snapshot \(id.short) as asked")
    }
    let mine = try await repo.listSnapshots().snapshots.filter { system.owns($0.snapshot) }
      .sorted { $0.snapshot.time < $1.snapshot.time }
    guard let newest = mine.last else {
      throw DrillFailure("repository has no snapshot of \(system.name) to restore")
    }
    if clean {
      let point = try CleanPoint.choose(mine, system: system.name, marks: try await repo.loadMarks())
      return (point.id, point.snapshot, point.reason)
    }
    return (newest.id, newest.snapshot, "the newest snapshot of \(system.name)")
  }

  func newestSize(_ repo: Repository) async throws -> UInt64? {
    try await repo.listSnapshots().snapshots.filter { system.owns($0.snapshot) }
      .max { $0.snapshot.time < $1.snapshot.time }?.snapshot.summary?.totalBytesProcessed
  }

  func runChecks(sandbox: String) async -> [DrillReport.CheckResult] {
    var results: [DrillReport.CheckResult] = []
    for check in system.drill.value.checks {
      let t0 = Stopwatch()
      var passed = false
      var detail = ""
      switch check {
      case .script(let command, let timeout):
        let cmd = command.replacingOccurrences(of: "{restored}", with: sandbox)
        (passed, detail) = await Blocking.run { CheckProcess.run(cmd, environment: ["LIFEBOAT_RESTORED": sandbox], timeout: timeout ?? 600) }
      case .http(let url, let expect, let timeout):
        (passed, detail) = await Self.http(url.replacingOccurrences(of: "{restored}", with: sandbox), expect: expect, timeout: timeout ?? 60)
      }
      results.append(.init(check: "\(check)", passed: passed, seconds: t0.seconds, detail: detail))
      if !passed { break }
    }
    return results
  }

  static func http(_ url: String, expect: Int, timeout: TimeInterval) async -> (Bool, String) {
    do {
      let request = HTTPClientRequest(url: url)
      let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout)))
      let status = Int(response.status.code)
      return (status == expect, "HTTP \(status)" + (status == expect ? "" : ", expected \(expect)"))
    } catch {
      return (false, "request failed: \(error)")
    }
  }
}

struct DrillFailure: Error, CustomStringConvertible {
  var message: String
  init(_ message: String) { self.message = message }
  var description: String { message }
}

/// A check command in its own process group, with a timeout and the tail of its output.
enum CheckProcess {
  static func run(_ command: String, environment: [String: String], timeout: TimeInterval) -> (Bool, String) {
    let p = Shell.process(command, environment: environment)
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (false, "cannot start: \(error)") }
    let pid = p.processIdentifier
    let timedOut = Mutex(false)
    let watchdog = DispatchWorkItem {
      timedOut.withLock { $0 = true }
      kill(-pid, SIGKILL)
      kill(pid, SIGKILL)
    }
    DispatchQueue.global().asyncAfter(deadline: Deadline.after(timeout), execute: watchdog)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    watchdog.cancel()
    let tail = String(decoding: data.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if timedOut.withLock({ $0 }) { return (false, "timed out after \(Int(timeout)) s; output: \(tail)") }
    let ok = p.terminationReason == .exit && p.terminationStatus == 0
    return (ok, ok ? tail : "exit status \(p.terminationStatus): \(tail)")
  }
}
