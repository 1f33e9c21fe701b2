// Carrying out a plan for one system: hooks, backup of every source into the first
// repository, copies to the others, retention everywhere; every step a job in the catalog and
// every run an event in the audit log.

public import Foundation
import LifeboatBackends
import LifeboatPosture
public import LifeboatCatalog
import LifeboatCore
import LifeboatEngine
public import LifeboatPlan
import LifeboatPolicy
import LifeboatRepository
import LifeboatSMB
import LifeboatSources
import LifeboatStorage

/// The outcome of running one system.
public struct SystemRunReport: Sendable, Codable {
  public var system: String
  public var outcome: JobRecord.Outcome
  public var snapshot: String?
  public var jobs: [JobRecord]
  public var errors: [String]
}

public struct SystemRunner: Sendable {
  public let context: RunContext
  public let system: ProtectedSystem

  public init(context: RunContext, system: ProtectedSystem) {
    self.context = context
    self.system = system
  }

  var catalog: Catalog { context.catalog }
  var now: Date { context.clock.now() }

  /// Runs the hooks, the backup, the copies and retention. Never throws for a failed step:
  /// every failure is recorded and reported; the on-failure hook runs.
  public func run() async -> SystemRunReport {
    var jobs: [JobRecord] = []
    var errors: [String] = []
    let copies = system.copies.value
    let primary = copies.first ?? ""

    // 1. Backup into the first repository (after the before hook). Retention runs only when
    // every flagged snapshot is marked in the repository: otherwise it could remove a clean
    // point nothing protects.
    let (backup, snapshotID, marked) = await backupStep(into: primary, errors: &errors)
    jobs.append(backup)

    // 2. Copies to every other repository, and 3. retention in each.
    if backup.succeeded, !Task.isCancelled {
      for name in copies.dropFirst() {
        var copy = JobRecord(kind: "copy", system: system.name, repository: name, started: now)
        let copyID = recordInCatalog("the start of the copy to \(name)", into: &errors) { try catalog.start(copy) }
        copy.id = copyID
        do {
          let (count, bytes, there) = try await copyInto(name, from: primary, snapshot: snapshotID)
          copy.files = Int64(count)
          copy.bytes = Int64(bytes)
          copy.outcome = .success
          // The snapshot's ID in the copy (a copy is a new snapshot), and the source's beside it.
          copy.snapshot = there?.hex
          copy.details = snapshotID.map { "{\"source_snapshot\":\"\($0.hex)\"}" }
        } catch {
          copy.outcome = Task.isCancelled ? .interrupted : .failed
          copy.errors = ["\(error)"]
          errors.append("copy to \(name): \(error)")
        }
        copy.ended = now
        recordInCatalog("how the copy to \(name) ended", into: &errors) { try catalog.finish(copy) }
        jobs.append(copy)
      }
      // A Lifeboat server's repositories are append-only for clients: their retention runs on
      // the server, under the provider's policy and quarantine.
      if !marked { errors.append("retention skipped: a suspicious snapshot could not be marked, so its clean point is not protected yet") }
      for name in copies where marked && !Task.isCancelled && BackendFactory.clientRetention(at: context.plan.repositories[name]?.url ?? "") {
        var forget = JobRecord(kind: "forget", system: system.name, repository: name, started: now)
        let forgetID = recordInCatalog("the start of retention in \(name)", into: &errors) { try catalog.start(forget) }
        forget.id = forgetID
        do {
          let removed = try await applyRetention(name)
          forget.files = Int64(removed.count)
          forget.outcome = .success
          if !removed.isEmpty {
            recordInCatalog("the snapshots retention removed from \(name)", into: &errors) {
              try catalog.audit(
              kind: "forget", subject: "\(system.name) @ \(name)",
                details: ["removed": removed.joined(separator: ","), "policy": "\(system.retention.source)"],
                actor: context.actor, time: now)
            }
          }
        } catch {
          forget.outcome = .failed
          forget.errors = ["\(error)"]
          errors.append("retention in \(name): \(error)")
        }
        forget.ended = now
        recordInCatalog("how retention in \(name) ended", into: &errors) { try catalog.finish(forget) }
        jobs.append(forget)
      }
      // 4. The locks of immutable repositories, when due. A failure is the locks alert's to
      // tell (it does not fail the system's backup, which is stored and locked).
      for name in copies where !Task.isCancelled {
        if let kept = await LockKeeping.keepIfDue(context, name, now: now) { jobs.append(kept) }
      }
      // 5. Scheduled verification (`verify_age:`), at most daily. Damage it finds is the
      // verification alert's to tell; the backup itself is stored.
      for name in copies where !Task.isCancelled {
        if let verified = await VerifyKeeping.verifyIfDue(context, name, now: now) { jobs.append(verified) }
      }
    }

    let outcome: JobRecord.Outcome =
      jobs.contains { $0.outcome == .interrupted } ? .interrupted
      : !errors.isEmpty ? .failed : backup.outcome
    if outcome == .success || outcome == .partial {
      if let hook = system.hooks.after {
        do { try await Hook.run(hook, label: "after hook", environment: hookEnvironment(nil)) } catch {
          errors.append("\(error)")
        }
      }
    } else if let hook = system.hooks.onFailure {
      try? await Hook.run(hook, label: "on-failure hook", environment: hookEnvironment(errors.first))
    }
    let details = [
      "outcome": outcome.rawValue, "snapshot": snapshotID?.hex ?? "", "repositories": copies.joined(separator: ","),
      "errors": errors.joined(separator: " | "),
    ]
    recordInCatalog("the run in the audit log", into: &errors) {
      try catalog.audit(kind: "run", subject: system.name, details: details, actor: context.actor, time: now)
    }
    return SystemRunReport(
      system: system.name, outcome: outcome, snapshot: snapshotID?.hex, jobs: jobs, errors: errors)
  }

  /// Compares the new snapshot with the system's previous one; nil when that fails (a
  /// signal must never fail a backup).
  func signals(_ repo: Repository, _ result: BackupResult) async -> BackupSignals? {
    do {
      let mine = try await repo.listSnapshots().snapshots.filter {
        system.owns($0.snapshot) && $0.id != result.snapshotID
          && $0.snapshot.time < result.snapshot.time
      }
      let parent = mine.max { $0.snapshot.time < $1.snapshot.time }?.snapshot
      let history = try catalog.jobs(system: system.name, kind: "backup", limit: 20).compactMap { job in
        job.details.flatMap { try? JSONDecoder.drill.decode(BackupSignals.self, from: Data($0.utf8)) }
      }
      return try await SignalAnalyzer.analyze(
        repository: repo, snapshot: result.snapshot, parent: parent, history: history.reversed())
    } catch {
      return nil
    }
  }

  /// A suspicious snapshot: an audit event, and the alert hook (which runs even when the
  /// event cannot be recorded; that goes to `problems`).
  func alert(_ signals: BackupSignals, snapshot: ID, problems: inout [String]) async {
    recordInCatalog("the suspicious snapshot in the audit log", into: &problems) {
      try catalog.audit(
        kind: "suspicious", subject: system.name,
        details: ["snapshot": snapshot.hex, "reasons": signals.reasons.joined(separator: "; ")],
        actor: context.actor, time: now)
    }
    if let hook = system.hooks.onAlert {
      var env = hookEnvironment(nil)
      env["LIFEBOAT_ALERT"] = "suspicious"
      env["LIFEBOAT_SNAPSHOT"] = snapshot.hex
      env["LIFEBOAT_REASONS"] = signals.reasons.joined(separator: "; ")
      try? await Hook.run(hook, label: "alert hook", environment: env)
    }
  }

  /// The share of an `smb:` source, signed in with its account (the password resolved from
  /// its reference).
  static func tree(_ share: ShareSource, environment: [String: String]) throws -> SMBTree {
    let location = try SMBLocation(url: share.url)
    let password = try share.password?.resolve(environment: environment) ?? ""
    let connection = try SMBConnection(
      location: location, username: share.username ?? "", password: password, domain: share.domain ?? "",
      timeout: share.timeout ?? 30)
    return SMBTree(connection: connection)
  }

  func hookEnvironment(_ error: String?) -> [String: String] {
    var env = ["LIFEBOAT_SYSTEM": system.name, "LIFEBOAT_TIER": system.tier.value.rawValue]
    if let error { env["LIFEBOAT_ERROR"] = error }
    return env
  }

  func backupInto(_ repo: Repository) async throws -> BackupResult {
    var paths: [String] = []
    var excludes: [String] = []
    var commands: [StdinSource] = []
    var databases: [DatabaseSource] = []
    var shares: [any RemoteTree] = []
    for s in system.sources {
      switch s.kind {
      case .path(let p, let ex):
        paths.append(p)
        excludes += ex
      case .command(let c, let name, let timeout):
        commands.append(StdinSource(command: c, filename: name, timeout: timeout))
      case .database(let d):
        databases.append(d)
      case .smb(let share):
        shares.append(try Self.tree(share, environment: context.environment))
        excludes += share.excludes
      }
    }
    // Databases are reached and counted first (a server that is down or refuses fails the
    // backup before anything is stored); their dumps are read by the backup like commands.
    let (environment, wanted) = (context.environment, databases)
    let dumps = try await Blocking.run { try DatabaseBackup.prepare(wanted, environment: environment, now: now) }
    defer { dumps.finish() }
    for f in dumps.files {
      if let command = f.command {
        commands.append(StdinSource(command: command, filename: f.filename, timeout: f.timeout, environment: f.environment))
      } else if let file = f.localFile {
        commands.append(StdinSource(file: file, filename: f.filename))
      }
    }
    var options = BackupOptions(paths: paths, hostname: Repository.Identity.current.hostname)
    options.system = system.snapshotSystem
    options.remotes = shares
    options.excludes = excludes
    options.commands = commands
    options.tags = ["plan", "tier:\(system.tier.value.rawValue)"]
    options.compression = system.compression.value
    return try await repo.withLock(exclusive: false, command: "backup \(system.name)", waiting: .planJob) { lock in
      try await repo.loadIndex()
      let saver = BlobSaver(repository: repo, onPackSaved: { try await lock.refreshIfDue() })
      return try await Archiver(repository: repo, saver: saver, options: options).run()
    }
  }

  /// The backup job: the before hook, the backup, the signals (and marks when they flag it),
  /// recorded in the catalog. Returns the job, the snapshot and whether every flagged
  /// snapshot is marked.
  func backupStep(into primary: String, errors: inout [String]) async -> (JobRecord, ID?, Bool) {
    var snapshotID: ID?
    var marked = true
    var backup = JobRecord(kind: "backup", system: system.name, repository: primary, started: now)
    let backupID = recordInCatalog("the backup's start", into: &errors) { try catalog.start(backup) }
    backup.id = backupID
    do {
      if let hook = system.hooks.before {
        try await Hook.run(hook, label: "before hook", environment: hookEnvironment(nil))
      }
      let repo = try await context.open(primary)
      let result = try await backupInto(repo)
      snapshotID = result.snapshotID
      backup.snapshot = result.snapshotID.hex
      backup.bytes = Int64(result.snapshot.summary?.totalBytesProcessed ?? 0)
      backup.files = Int64(result.snapshot.summary?.totalFilesProcessed ?? 0)
      backup.warnings = result.errors
      if let signals = await signals(repo, result) {
        backup.details = (try? JSONEncoder.drill.encode(signals)).map { String(decoding: $0, as: UTF8.self) }
        backup.suspicious = signals.suspicious
        if signals.suspicious {
          backup.warnings.append("suspicious snapshot: " + signals.reasons.joined(separator: "; "))
          await alert(signals, snapshot: result.snapshotID, problems: &errors)
          marked = await mark(signals.reasons.joined(separator: "; "), snapshot: result.snapshotID, in: repo, problems: &errors)
        }
      }
      // Snapshots flagged before marks existed (the catalog knows them) get theirs too.
      marked = await markFlaggedEarlier(in: repo, problems: &errors) && marked
      backup.outcome = result.errors.isEmpty ? .success : .partial
    } catch is CancellationError {
      backup.outcome = .interrupted
      errors.append("backup interrupted")
    } catch {
      backup.outcome = Task.isCancelled ? .interrupted : .failed
      backup.errors = ["\(error)"]
      errors.append("backup to \(primary): \(error)")
    }
    backup.ended = now
    recordInCatalog("how the backup ended", into: &errors) { try catalog.finish(backup) }
    return (backup, snapshotID, marked)
  }

  /// Copies every snapshot of this system the destination lacks; returns how many, the bytes
  /// added, and the ID `snapshot` has in the destination.
  func copyInto(_ name: String, from primary: String, snapshot: ID?) async throws -> (Int, UInt64, ID?) {
    let source = try await context.open(primary)
    let destination = try await context.open(name)
    return try await destination.withLock(exclusive: false, command: "copy \(system.name)", waiting: .planJob) {
      lock -> (Int, UInt64, ID?) in
      try await source.loadIndex()
      try await destination.loadIndex()
      let mine = try await source.listSnapshots().snapshots.filter { system.owns($0.snapshot) }
      let existing = try await destination.listSnapshots().snapshots
      let saver = BlobSaver(repository: destination, onPackSaved: { try await lock.refreshIfDue() })
      let copier = SnapshotCopier(source: source, destination: destination, saver: saver)
      var converted: [Snapshot] = []
      for (id, snap) in mine {
        let original = snap.original ?? id
        if existing.contains(where: { $0.snapshot.original == original || $0.id == original }) { continue }
        converted.append(try await copier.copy(id, snap))
      }
      try await saver.flush()
      var there = existing.first { snapshot != nil && ($0.snapshot.original == snapshot || $0.id == snapshot) }?.id
      for s in converted {
        let id = try await destination.saveSnapshot(s)
        if snapshot != nil && s.original == snapshot { there = id }
      }
      // Protections and suspicions travel with the snapshots.
      try await SnapshotCopier.copyMarks(
        from: source, into: destination,
        releases: BackendFactory.clientRetention(at: context.plan.repositories[name]?.url ?? ""), now: now)
      return (converted.count, copier.bytesCopied, there)
    }
  }

  /// Applies the system's retention to its snapshots in one repository, through the one
  /// retention executor: protected snapshots and clean points stay. Returns removed ids.
  func applyRetention(_ name: String) async throws -> [String] {
    let repo = try await context.open(name)
    return try await repo.withLock(exclusive: true, command: "forget \(system.name)", waiting: .planJob) {
      _ -> [String] in
      let list = try await repo.listSnapshots()
      let mine = list.snapshots.filter { system.owns($0.snapshot) }
      let marks = try await repo.loadMarks()
      let decisions = Forgetting.decide(
        system.retention.value, snapshots: mine, marks: marks, grouping: RetentionGrouping(host: true, paths: false, tags: false),
        timeZone: .current, now: now)
      return try await Forgetting.execute(decisions, in: repo, marks: marks, now: now).map(\.hex)
    }
  }

  /// Marks a snapshot the signals flagged, in the repository itself, and protects the clean
  /// point before it, so no retention, `forget` or copy can lose it — with or without a plan.
  /// Returns whether both marks are there.
  func mark(_ reasons: String, snapshot: ID, in repo: Repository, problems: inout [String]) async -> Bool {
    do {
      let at = now
      try await repo.addMark(
        SnapshotMark(snapshot: snapshot, kind: .suspicious, reason: reasons, time: at, author: context.actor))
      let marks = try await repo.loadMarks()
      let mine = try await repo.listSnapshots().snapshots.filter { system.owns($0.snapshot) }
      if let clean = marks.cleanPoint(before: snapshot, in: mine), marks.protection(of: clean.id, now: at) == nil {
        try await repo.addMark(
          SnapshotMark(
            snapshot: clean.id, kind: .protect, reason: "the clean point before suspicious snapshot \(snapshot.short)",
            time: at, author: context.actor))
      }
      return true
    } catch {
      problems.append("marking suspicious snapshot \(snapshot.short) in the repository: \(error)")
      return false
    }
  }

  /// The catalog's flagged backups of this system whose snapshot is in `repo` without a
  /// suspicious mark (flagged by a version before marks): marks them and their clean points.
  func markFlaggedEarlier(in repo: Repository, problems: inout [String]) async -> Bool {
    do {
      let flagged = try catalog.jobs(system: system.name, kind: "backup", limit: 100_000)
        .filter { $0.suspicious && $0.repository == system.copies.value.first }
        .compactMap { $0.snapshot.flatMap(ID.init(hex:)) }
      guard !flagged.isEmpty else { return true }
      let marks = try await repo.loadMarks()
      let present = Set(try await repo.listSnapshots().snapshots.map(\.id))
      var ok = true
      for id in flagged where present.contains(id) && marks.suspicion(of: id) == nil {
        ok = await mark("flagged by the ransomware signals (recorded in the catalog)", snapshot: id, in: repo, problems: &problems) && ok
      }
      return ok
    } catch {
      problems.append("reading which snapshots were flagged: \(error)")
      return false
    }
  }
}

/// A `/bin/sh -c` process with extra environment variables: hooks, drill checks, demo steps.
public enum Shell {
  public static func process(_ command: String, environment: [String: String] = [:]) -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    return p
  }
}

/// Hooks run through `/bin/sh -c` with the system in the environment.
enum Hook {
  /// Waits for the hook on a Dispatch thread (`Blocking`), not on the cooperative pool.
  static func run(_ command: String, label: String, environment: [String: String]) async throws {
    try await Blocking.run { try runAndWait(command, label: label, environment: environment) }
  }

  static func runAndWait(_ command: String, label: String, environment: [String: String]) throws {
    let p = Shell.process(command, environment: environment)
    let errPipe = Pipe()
    p.standardError = errPipe
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      let text = String(decoding: err.suffix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      throw LifeboatError(
        .fatal, "the \(label) failed (exit status \(p.terminationStatus))\(text.isEmpty ? "" : ": \(text)")",
        hint: "run it by hand to see why: \(command)")
    }
  }
}
