import ArgumentParser
import LifeboatOps
import LifeboatPlan
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatSMB

struct RestoreCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "restore",
    abstract: "Restore a snapshot into a directory.",
    discussion: """
      Restores contents and metadata: modes, owners (when run as root), times, symlinks, hard links, device nodes, fifos, extended attributes, and sparse files (all-zero chunks are left as holes). File names are restored byte for byte, UTF-8 or not.

      Every blob is authenticated and checked against its ID as it is written. A file whose data is damaged or missing is not left half-written: it is removed and reported, the rest is restored, and the exit code is 1. --verify reads every restored file back.

      Large files are written past the page cache (O_DIRECT), and --verify reads them back from the device the same way, so a restore does not push the machine's working set out of memory. Set LIFEBOAT_DIRECT_IO=off to write through the page cache (for example on a network file system whose synchronous writes are slow).

        lifeboat restore latest --target /srv/restore --include '/home/ana/*' --verify
        lifeboat restore latest:/home/ana --target /srv/ana --exclude '*.tmp'
        lifeboat restore latest --host fileserver --tag nightly --path /srv/shares --target /srv/restore

      SNAPSHOT:FOLDER restores the contents of FOLDER into the target (restic's syntax): `latest:/home/ana` puts /home/ana/Documents at TARGET/Documents.

      A target smb://SERVER/SHARE[/FOLDER] restores to a Windows share or NAS: folders, files, and each one's Windows access list, attributes and modification time as they were backed up. The account is --smb-user; its password comes from LIFEBOAT_SMB_PASSWORD or the file named by LIFEBOAT_SMB_PASSWORD_FILE, never an argument. Without SNAPSHOT:FOLDER, a snapshot holding one share restores that share's contents. Existing files of the same name are replaced; nothing else on the share is touched.

        lifeboat restore latest --target smb://fileserver/staff-restored --smb-user backup
      """)

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Snapshot: latest (the default), an ID or a prefix; SNAPSHOT:FOLDER restores only that folder's contents.")
  var snapshot: String = "latest"

  @Option(help: "With --plan: restore this system's snapshot from the plan's repository.")
  var system: String?

  @Option(help: "With --system: the plan's repository to restore from (default: the drill repository, usually the offsite copy).")
  var repository: String?

  @Flag(help: "With --system: restore the clean point, the newest snapshot before the first one flagged suspicious.")
  var clean = false

  @Option(name: [.short, .long], help: "Directory to restore into (created if needed).")
  var target: String

  @Option(name: .customLong("include"), help: "Restore only paths matching this glob and what is below them (repeatable).")
  var includes: [String] = []

  @Option(
    name: .customLong("exclude"),
    help: "Do not restore paths matching this pattern, nor what is below them (repeatable; a pattern without / matches a name).")
  var excludes: [String] = []

  @Flag(help: "Read every restored file back and compare it with the snapshot.")
  var verify = false

  @Option(name: .customLong("smb-user"), help: "For an smb:// target: the account to sign in with (default: LIFEBOAT_SMB_USER).")
  var smbUser: String?

  @Option(name: .customLong("smb-domain"), help: "For an smb:// target: the account's Windows domain, when the server needs one.")
  var smbDomain: String?

  @OptionGroup(title: "Which snapshot `latest` means") var filter: SnapshotFilter

  struct Result: Encodable {
    var snapshot: String
    var target: String
    var files: Int
    var directories: Int
    var symlinks: Int
    var hard_links: Int
    var other: Int
    var bytes: UInt64
    var seconds: Double
    var damaged_files: [String]
    var unwritten_files: [String]
    var target_full: Bool
    var sockets_not_recreated: Int
    var errors: [String]
    var verified_files: Int?
    var verify_failures: [String]?
  }

  /// The final count, every kind named once: "120 files (1.21 GiB), 15 directories,
  /// 3 symbolic links, 2 hard links, 1 other (devices, fifos)"; kinds with none are left out.
  static func counts(_ r: RestoreResult) -> String {
    var parts = ["\(Plural.count(r.files, "file")) (\(Format.bytes(r.bytes)))", Plural.count(r.directories, "directory", "directories")]
    if r.symlinks > 0 { parts.append(Plural.count(r.symlinks, "symbolic link")) }
    if r.hardLinks > 0 { parts.append(Plural.count(r.hardLinks, "hard link")) }
    if r.otherNodes > 0 { parts.append("\(r.otherNodes) other (devices, fifos)") }
    return parts.joined(separator: ", ")
  }

  func validate() throws {
    if clean && system == nil { throw ValidationError("--clean needs --system (and --plan)") }
    if repository != nil && system == nil { throw ValidationError("--repository needs --system (and --plan)") }
  }

  /// The repository, and how to pick the snapshot: from --repo, or from the plan's system.
  func open() async throws -> (Repository, ProtectedSystem?, RunContext?) {
    guard let system else { return (try await global.openRepository(), nil, nil) }
    let planOptions = try PlanOptions.parse(global.plan.map { ["--plan", $0] } ?? [])
    let plan = try planOptions.load()
    guard let s = plan.system(named: system) else {
      throw LifeboatError(.notFound, "the plan has no system \(system)")
    }
    let context = RunContext(plan: plan, catalog: try planOptions.catalog(plan), clock: planOptions.clock, actor: PlanOptions.actor)
    let name = repository ?? s.drill.value.repository ?? s.copies.value.last ?? ""
    return (try await context.open(name), s, context)
  }

  /// The snapshot asked for (the clean point with --clean), its tree narrowed to
  /// SNAPSHOT:FOLDER when given.
  func choose(_ repo: Repository, planSystem: ProtectedSystem?, context: RunContext?) async throws -> (ID, Snapshot) {
    let out = global.output
    let id: ID
    var snap: Snapshot
    if let planSystem, let context, clean {
      let mine = try await repo.listSnapshots().snapshots.filter { planSystem.owns($0.snapshot) }
        .sorted { $0.snapshot.time < $1.snapshot.time }
      let choice = try CleanPoint.choose(mine, system: planSystem.name, marks: try await repo.loadMarks())
      out.line("clean restore point: \(choice.reason)")
      (id, snap) = (choice.id, choice.snapshot)
    } else {
      let reference = SnapshotReference(snapshot)
      (id, snap) = try await repo.findSnapshot(
        reference.snapshot, matching: { (planSystem?.owns($0) ?? true) && filter.matches($0) },
        filterDescription: ([planSystem.map { "system \($0.name)" }, filter.description] as [String?])
          .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", "))
      if let subpath = reference.subpath {
        snap.tree = try await repo.subtree(of: snap.tree, at: subpath, snapshot: id)
      }
    }
    return (id, snap)
  }

  /// `--target smb://…`: the snapshot (or its one share, or SNAPSHOT:FOLDER) written to a share.
  func restoreToShare(_ repo: Repository, planSystem: ProtectedSystem?, context: RunContext?) async throws {
    let out = global.output
    guard includes.isEmpty, excludes.isEmpty, !verify else {
      throw ValidationError("--include, --exclude and --verify are for local targets; restore the folder you need with SNAPSHOT:FOLDER")
    }
    let environment = ProcessInfo.processInfo.environment
    guard let user = smbUser ?? environment["LIFEBOAT_SMB_USER"] else {
      throw ValidationError("restoring to a share needs an account: --smb-user NAME (its password in LIFEBOAT_SMB_PASSWORD or LIFEBOAT_SMB_PASSWORD_FILE)")
    }
    // The file wins over the variable, as for the repository password.
    let reference: SecretReference? =
      environment["LIFEBOAT_SMB_PASSWORD_FILE"].map { .file($0) }
      ?? (environment["LIFEBOAT_SMB_PASSWORD"] == nil ? nil : .environment("LIFEBOAT_SMB_PASSWORD"))
    let password = try reference?.resolve(environment: environment) ?? ""
    let location = try SMBLocation(url: target)
    let connection = try SMBConnection(location: location, username: user, password: password, domain: smbDomain ?? "")
    let start = Stopwatch()
    let (id, result) = try await global.withLock(repo, exclusive: false, command: "restore") { _ in
      try await repo.loadIndex()
      var (id, snap) = try await choose(repo, planSystem: planSystem, context: context)
      let shares = snap.paths.filter { $0.hasPrefix("/smb/") }
      if SnapshotReference(snapshot).subpath == nil, shares.count == 1 {
        snap.tree = try await repo.subtree(of: snap.tree, at: shares[0], snapshot: id)
      }
      return (id, try await ShareRestorer(repository: repo, connection: connection).restore(tree: snap.tree))
    }
    for e in result.errors { out.warn(e) }
    out.line(
      "restored snapshot \(id.short) to \(location) in \(Format.duration(start.seconds)): \(Plural.count(result.files, "file")), "
        + "\(Plural.count(result.directories, "folder")), \(Format.bytes(result.bytes)); "
        + "Windows access lists applied to \(Plural.count(result.securityApplied, "entry", "entries"))")
    try out.emit(ShareResult(
      snapshot: id.hex, target: location.description, files: result.files, directories: result.directories, bytes: result.bytes,
      security_applied: result.securityApplied, errors: result.errors, seconds: start.seconds))
    if result.failedFiles > 0 { throw PartialSuccess(code: ExitStatus.fatal) }
  }

  struct ShareResult: Encodable {
    var snapshot: String
    var target: String
    var files: Int
    var directories: Int
    var bytes: UInt64
    var security_applied: Int
    var errors: [String]
    var seconds: Double
  }

  func run() async throws {
    let (repo, planSystem, context) = try await open()
    let out = global.output
    if target.lowercased().hasPrefix("smb://") {
      return try await restoreToShare(repo, planSystem: planSystem, context: context)
    }
    let (id, snap, result, seconds) = try await global.withLock(repo, exclusive: false, command: "restore") { _ in
      try await repo.loadIndex()
      let (id, snap) = try await choose(repo, planSystem: planSystem, context: context)
      var options = RestoreOptions(target: target)
      options.includes = includes
      options.excludes = excludes
      options.verify = verify
      let restorer = Restorer(repository: repo, options: options)
      let start = Stopwatch()
      let chosen = snap
      let r = try await out.withProgress(restorer.progress) { try await restorer.run(snapshot: chosen) }
      return (id, snap, r, start.seconds)
    }
    _ = snap
    // A full target fails every remaining file the same way: show the first few, then count.
    let shown = result.targetFull ? 10 : Int.max
    for e in result.errors.prefix(shown) { out.warn(e) }
    if result.errors.count > shown { out.warn("… and \(result.errors.count - shown) more errors like these") }
    for d in result.damagedFiles { out.warn("\(d): not restored (damaged data)") }
    for v in result.verifyFailures { out.warn("verify: \(v)") }
    out.line("restored snapshot \(id.short) to \(target) in \(Format.duration(seconds)): " + Self.counts(result))
    if verify {
      let differ = result.verifyFailures.count
      out.line(
        "verified: \(Plural.count(result.files, "file")) read back, "
          + (differ == 0
            ? "all identical to the snapshot"
            : "\(result.verifiedFiles) identical, \(differ) differ from the snapshot (listed above)"))
    }
    if result.socketsSkipped > 0 {
      out.line("\(result.socketsSkipped) sockets were not recreated: a program creates its socket when it starts")
    }
    if !result.damagedFiles.isEmpty {
      out.line("\(result.damagedFiles.count) files could not be restored because their data is damaged or missing; run `lifeboat check --read-data` for details")
    }
    if !result.unwrittenFiles.isEmpty {
      if result.targetFull {
        out.line("the restore target \(target) is full: \(result.unwrittenFiles.count) files could not be written and were removed. "
          + "Nothing in the repository is wrong: free space on the target (the snapshot's files need \(Format.bytes(snap.summary?.totalBytesProcessed ?? result.bytes))) and restore again")
      } else {
        out.line("\(result.unwrittenFiles.count) files could not be written to \(target) (see the errors above) and were removed; "
          + "their data in the repository is intact")
      }
    }
    try out.emit(
      Result(
        snapshot: id.hex, target: target, files: result.files, directories: result.directories,
        symlinks: result.symlinks, hard_links: result.hardLinks, other: result.otherNodes, bytes: result.bytes, seconds: seconds,
        damaged_files: result.damagedFiles, unwritten_files: result.unwrittenFiles, target_full: result.targetFull,
        sockets_not_recreated: result.socketsSkipped, errors: result.errors,
        verified_files: verify ? result.verifiedFiles : nil,
        verify_failures: verify ? result.verifyFailures : nil))
    if !result.isComplete { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}
