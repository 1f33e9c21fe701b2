import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatSMB

struct LsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls",
    abstract: "List the files in a snapshot.",
    discussion: """
      SNAPSHOT is `latest`, an ID or a unique prefix; `latest:/home/ana` (or a PATH argument) lists only that folder. --host, --tag and --path choose among snapshots for `latest`, as in `snapshots`.

        lifeboat ls latest /etc
        lifeboat ls latest --host fileserver --tag nightly --long
      """)

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Snapshot: latest, an ID or a prefix (SNAPSHOT:PATH lists only that folder).")
  var snapshot: String

  @OptionGroup(title: "Which snapshot `latest` means") var filter: SnapshotFilter

  @Argument(help: "Only list below this path inside the snapshot.")
  var path: String?

  @Flag(name: .shortAndLong, help: "Long listing: mode, owner, size and time.")
  var long = false

  struct Entry: Encodable {
    var path: String
    var type: String
    var size: UInt64
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtime: Date
    var link_target: String?
    /// For a file from an SMB share: attributes, owner and access list in words.
    var windows: String?
  }

  func run() async throws {
    let repo = try await global.openRepository()
    try await repo.loadIndex()
    let reference = SnapshotReference(snapshot)
    let (_, snap) = try await repo.findSnapshot(reference, filter: filter)
    var prefix = (path ?? reference.subpath).map { Array($0.utf8) } ?? []
    while prefix.last == 47 { prefix.removeLast() }
    if !prefix.isEmpty && prefix.first != 47 { prefix.insert(47, at: 0) }
    let out = global.output
    var entries = [Entry]()
    var problems = 0
    try await TreeWalker(repository: repo).walk(
      root: snap.tree,
      visit: { p, node in
        let below = prefix.isEmpty || p == prefix || p.starts(with: prefix + [47])
        let above = prefix.starts(with: p + [47])
        if !below && !above { return false }
        if below {
          let shown = PathBytes.display(p)
          if global.json {
            entries.append(
              Entry(
                path: shown, type: node.kind.name, size: node.size, mode: node.mode, uid: node.uid,
                gid: node.gid, mtime: node.mtime.date,
                link_target: node.kind == .symlink ? PathBytes.display(node.linkTarget) : nil,
                windows: SMBMetadata.describe(node)))
          } else if long {
            let mode = String(node.mode, radix: 8)
            let target = node.kind == .symlink ? " -> \(PathBytes.display(node.linkTarget))" : ""
            out.line("\(node.kind.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(mode.padding(toLength: 5, withPad: " ", startingAt: 0)) \(node.uid)/\(node.gid) \(String(node.size).padding(toLength: 12, withPad: " ", startingAt: 0)) \(Format.time(node.mtime.date)) \(shown)\(target)")
            // A file from a share: its Windows attributes, owner and access list below it.
            if let windows = SMBMetadata.describe(node) { out.line("    windows: \(windows)") }
          } else {
            out.line(shown)
          }
        }
        return true
      },
      onError: { p, e in
        problems += 1
        out.warn("\(PathBytes.display(p)): \(e)")
      })
    try out.emit(entries)
    if problems > 0 { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}
