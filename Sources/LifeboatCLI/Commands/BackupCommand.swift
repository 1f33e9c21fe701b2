import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

struct BackupCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "backup",
    abstract: "Save a snapshot of files, or of a command's output.",
    discussion: """
      Files unchanged since the last snapshot of the same host and paths (same size, mtime, ctime and inode) are not read again. New data is cut into content-defined chunks, deduplicated against everything in the repository, compressed and encrypted.

      A database dump without a temporary file:
        lifeboat backup --stdin-from-command "pg_dump -Fc sis" --stdin-filename sis.dump
      A failing command fails the backup and no snapshot is saved.

      Exit code 3 means the snapshot was saved but some sources could not be read, or the excludes left nothing to back up; each is listed as a warning (and unreadable sources in the snapshot's summary).
      """)

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Files and directories to back up.")
  var paths: [String] = []

  @Option(name: .customLong("tag"), help: "Tag the snapshot (repeatable).")
  var tags: [String] = []

  @Option(help: "Host name recorded in the snapshot (default: this machine's).")
  var host: String?

  @Option(name: .customLong("exclude"), help: "Exclude files matching a glob (repeatable); `*.tmp` matches names, `/home/*/.cache` matches paths.")
  var excludes: [String] = []

  @Option(name: .customLong("exclude-file"), help: "Read exclude globs from a file, one per line (# comments).")
  var excludeFiles: [String] = []

  @Flag(name: [.short, .customLong("one-file-system")], help: "Do not cross into other filesystems.")
  var oneFileSystem = false

  @Option(help: "Use this snapshot as the parent for change detection instead of the latest matching one.")
  var parent: String?

  @Option(help: "Back up the standard output of this shell command instead of files.")
  var stdinFromCommand: String?

  @Option(help: "File name for the command's output in the snapshot.")
  var stdinFilename: String = "stdin"

  @Option(help: ArgumentHelp(
    "Compress this backup's new data another way than the repository's default: auto, off, fastest, default or max.",
    valueName: "mode"))
  var compression: String?

  func validate() throws {
    if let c = compression, CompressionMode(name: c) == nil {
      throw ValidationError("--compression takes one of \(CompressionMode.names), not \(c)")
    }
    if stdinFromCommand == nil && paths.isEmpty {
      throw ValidationError("give at least one path to back up, or --stdin-from-command")
    }
    if stdinFromCommand != nil && !paths.isEmpty {
      throw ValidationError("--stdin-from-command cannot be combined with paths")
    }
    if stdinFilename.contains("/") || stdinFilename.isEmpty || stdinFilename == "." || stdinFilename == ".." {
      throw ValidationError("--stdin-filename must be a plain file name")
    }
  }

  struct Result: Encodable {
    var snapshot: String
    var parent: String?
    var summary: Snapshot.Summary?
    var warnings: [String]
  }

  func run() async throws {
    var patterns = excludes
    for f in excludeFiles {
      guard let text = try? String(contentsOfFile: f, encoding: .utf8) else {
        throw LifeboatError(.usage, "cannot read exclude file \(f)")
      }
      patterns += text.split(separator: "\n").map(String.init)
    }
    let repo = try await global.openRepository()
    var options = BackupOptions(paths: paths, hostname: host ?? Repository.Identity.current.hostname)
    options.tags = tags
    options.excludes = Excluder(patterns: patterns).patterns
    options.oneFileSystem = oneFileSystem
    options.compression = compression.flatMap(CompressionMode.init(name:))
    if let c = stdinFromCommand { options.stdin = StdinSource(command: c, filename: stdinFilename) }
    let out = global.output
    let result = try await global.withLock(repo, exclusive: false, command: "backup") { lock in
      try await repo.loadIndex()
      if let p = parent { options.parent = try await repo.findSnapshot(p).id }
      let saver = BlobSaver(repository: repo, onPackSaved: { try await lock.refreshIfDue() })
      let archiver = Archiver(repository: repo, saver: saver, options: options)
      return try await out.withProgress(archiver.progress) { try await archiver.run() }
    }
    for w in result.errors { out.warn(w) }
    for w in result.changedWhileReading { out.warn("\(w): changed while it was read; its content may be inconsistent") }
    let s = result.snapshot.summary
    if let s {
      out.line("Files:  \(s.filesNew) new, \(s.filesChanged) changed, \(s.filesUnmodified) unmodified")
      out.line("Dirs:   \(s.dirsNew) new, \(s.dirsChanged) changed, \(s.dirsUnmodified) unmodified")
      out.line("Added:  \(Format.bytes(s.dataAdded)) of new data, \(Format.bytes(s.dataAddedPacked)) stored")
      let secs = s.backupEnd.timeIntervalSince(s.backupStart)
      out.line("Processed \(s.totalFilesProcessed) files, \(Format.bytes(s.totalBytesProcessed)) in \(Format.duration(secs))")
    }
    out.line("snapshot \(result.snapshotID.short) saved")
    // The excludes left nothing: a scheduled job must not read this as a good backup.
    let nothingSelected = (s?.totalFilesProcessed ?? 0) == 0 && result.excluded > 0 && options.stdin == nil
    var warnings = result.errors
    if nothingSelected {
      let w = "nothing was selected: the excludes (\(patterns.joined(separator: ", "))) left out all \(result.excluded) entries "
        + "below \(paths.joined(separator: ", ")); the snapshot holds only the directories given"
      out.warn(w)
      warnings.append(w)
    }
    try out.emit(
      Result(
        snapshot: result.snapshotID.hex, parent: result.snapshot.parent?.hex, summary: s,
        warnings: warnings))
    if !result.errors.isEmpty || nothingSelected { throw PartialSuccess(code: ExitStatus.partial) }
  }
}
