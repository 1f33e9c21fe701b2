import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

struct DiffCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Show what changed between two snapshots.",
    discussion: """
      Lists added (+), removed (-), modified (M), metadata-only (U) and type-changed (T) paths, with sizes, and totals. Unchanged directories are skipped without being read.

        lifeboat diff 4f2a91c3 latest
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The older snapshot.") var first: String
  @Argument(help: "The newer snapshot.") var second: String

  struct Result: Encodable {
    var first: String
    var second: String
    var changes: [SnapshotDiff.Entry]
    var summary: SnapshotDiff.Summary
  }

  func run() async throws {
    let repo = try await global.openRepository()
    try await repo.loadIndex()
    let a = try await repo.findSnapshot(first)
    let b = try await repo.findSnapshot(second)
    let (entries, s) = try await SnapshotDiff(repository: repo).compare(a.snapshot.tree, b.snapshot.tree)
    let out = global.output
    let marks: [SnapshotDiff.Change: String] = [.added: "+", .removed: "-", .modified: "M", .metadata: "U", .typeChanged: "T"]
    for e in entries {
      let size = e.change == .modified ? " (\(Format.bytes(e.oldSize ?? 0)) → \(Format.bytes(e.newSize ?? 0)))" : ""
      out.line("\(marks[e.change]!)  \(e.path)\(e.kind == "dir" ? "/" : "")\(size)")
    }
    out.line(
      "\n\(s.added) added (\(Format.bytes(s.addedBytes))), \(s.removed) removed (\(Format.bytes(s.removedBytes))), "
        + "\(s.modified) modified, \(s.metadata) metadata only, \(s.typeChanged) type changed")
    try out.emit(Result(first: a.id.hex, second: b.id.hex, changes: entries, summary: s))
  }
}

struct FindCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "find",
    abstract: "Find which snapshots hold a file.",
    discussion: """
      PATTERN is a glob matched against names (`*.docx`, `budget-2026*`) or, when it contains a slash, against whole paths (`/home/*/Documents/*.xlsx`). Every match is listed with its snapshot, size and modification time, newest snapshot first — the way to find the last good version of a file.
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "Glob to look for.") var pattern: String
  @Option(help: "Only snapshots of this host.") var host: String?

  struct Match: Encodable {
    var snapshot: String
    var snapshot_time: Date
    var path: String
    var type: String
    var size: UInt64
    var mtime: Date
  }

  func run() async throws {
    let repo = try await global.openRepository()
    try await repo.loadIndex()
    let snaps = try await repo.listSnapshots().snapshots.filter { host == nil || $0.snapshot.hostname == host }
    let matcher = Excluder(patterns: [pattern])
    let walker = TreeWalker(repository: repo)
    let out = global.output
    var matches = [Match]()
    for (id, snap) in snaps.reversed() {
      try await walker.walk(root: snap.tree, visit: { path, node in
        if matcher.excludes(path: path, name: node.name) {
          matches.append(
            Match(
              snapshot: id.hex, snapshot_time: snap.time, path: PathBytes.display(path),
              type: node.kind.name, size: node.size, mtime: node.mtime.date))
          out.line("\(id.short)  \(Format.time(snap.time))  \(Format.bytes(node.size).padding(toLength: 11, withPad: " ", startingAt: 0))  \(Format.time(node.mtime.date))  \(PathBytes.display(path))")
        }
        return true
      })
    }
    out.line("\(matches.count) matches in \(snaps.count) snapshots")
    try out.emit(matches)
  }
}
