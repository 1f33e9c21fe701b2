import ArgumentParser
import Foundation
import LifeboatBackends
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatStorage

struct CopyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "copy",
    abstract: "Copy snapshots from another repository into this one.",
    discussion: """
      The second and third copy of a 3-2-1 strategy. Marks travel too: a protection or a suspicious flag on a source snapshot is written on its copy (also for snapshots copied before the mark was made), and so is a release, except into a Lifeboat server, where only the provider lifts a protection. The repositories may have different passwords, keys and chunker secrets: contents are cut again with this repository's chunker and deduplicated against what it already holds. Snapshots copied before (recognised by their original ID, or by the same time, host and paths) are skipped, so the command can run on a schedule.

        lifeboat copy --repo /mnt/offsite --from-repo /srv/lifeboat --from-password-file /etc/lifeboat/pass
      """)

  @OptionGroup var global: GlobalOptions

  @Option(help: "The repository to copy from.") var fromRepo: String
  @Option(help: "Password file of the source repository (or $LIFEBOAT_FROM_PASSWORD, $LIFEBOAT_FROM_PASSWORD_FILE).")
  var fromPasswordFile: String?
  @Argument(help: "Snapshots to copy (IDs or prefixes); default: all.") var snapshots: [String] = []

  struct Result: Encodable {
    var copied: [[String: String]]
    var skipped: [String]
    var bytes_added: UInt64
    var marks_added: Int
  }

  func sourcePassword() throws -> String {
    let env = ProcessInfo.processInfo.environment
    if let p = env["LIFEBOAT_FROM_PASSWORD"], !p.isEmpty { return p }
    if let file = fromPasswordFile ?? env["LIFEBOAT_FROM_PASSWORD_FILE"] {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8),
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first, !line.isEmpty
      else { throw LifeboatError(.usage, "cannot read a password from \(file)") }
      return String(line)
    }
    return try Terminal.readSecret(prompt: "enter password for the source repository: ")
  }

  func run() async throws {
    let source = try await Repository.open(
      backend: GlobalOptions.backend(for: fromRepo, environment: ProcessInfo.processInfo.environment), password: try sourcePassword(),
      memory: KeyMemory.fromEnvironment())
    if let cache = LocalCache.directory() { source.useIndexCache(directory: cache) }
    let destination = try await global.openRepository()
    let out = global.output
    let result = try await global.withLock(source, exclusive: false, command: "copy (source)") { _ in
      try await copyAll(source: source, destination: destination, output: out)
    }
    out.line("\(result.copied.count) snapshots copied, \(result.skipped.count) already present; \(Format.bytes(result.bytes_added)) of new data")
    try out.emit(result)
  }

  func copyAll(source: Repository, destination: Repository, output out: Output) async throws -> Result {
    try await global.withLock(destination, exclusive: false, command: "copy") { lock -> Result in
      try await source.loadIndex()
      try await destination.loadIndex()
      var wanted = try await source.listSnapshots().snapshots
      if !snapshots.isEmpty {
        var chosen = [(id: ID, snapshot: Snapshot)]()
        for ref in snapshots { chosen.append(try await source.findSnapshot(ref)) }
        wanted = chosen
      }
      let existing = try await destination.listSnapshots().snapshots
      let saver = BlobSaver(repository: destination, onPackSaved: { try await lock.refreshIfDue() })
      let copier = SnapshotCopier(source: source, destination: destination, saver: saver)
      var converted = [(from: ID, snapshot: Snapshot)]()
      var skipped = [String]()
      for (id, snap) in wanted {
        let original = snap.original ?? id
        let present = existing.contains { e in
          e.snapshot.original == original || e.id == original
            || (e.snapshot.time == snap.time && e.snapshot.hostname == snap.hostname && e.snapshot.paths == snap.paths)
        }
        if present {
          skipped.append(id.hex)
          out.line("\(id.short) is already in the destination, skipped")
          continue
        }
        converted.append((id, try await copier.copy(id, snap)))
      }
      try await saver.flush()
      var copied = [[String: String]]()
      for (from, snap) in converted {
        let newID = try await destination.saveSnapshot(snap)
        copied.append(["from": from.hex, "to": newID.hex])
        out.line("copied \(from.short) (\(Format.time(snap.time)), \(snap.paths.joined(separator: " "))) as \(newID.short)")
      }
      // Marks travel with the snapshots: protections, suspicions and releases.
      // A Lifeboat server refuses releases from clients: there the copy stays protected.
      let marks = try await SnapshotCopier.copyMarks(
        from: source, into: destination, releases: BackendFactory.clientRetention(at: try global.repositoryLocation()),
        now: global.clock.now())
      if marks > 0 { out.line("copied \(marks) mark(s) (protected, suspicious)") }
      return Result(copied: copied, skipped: skipped, bytes_added: copier.bytesCopied, marks_added: marks)
    }
  }
}
