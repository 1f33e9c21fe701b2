import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatRepository

struct SnapshotsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshots", abstract: "List snapshots, oldest first, with their marks.",
    discussion: "A protected snapshot (`lifeboat protect`, or the clean point Lifeboat protects after a suspicious backup) shows its reason and end date; a snapshot the ransomware signals flagged shows SUSPICIOUS and the signals. With --json each snapshot has `protected` and `suspicious` (null when absent).")

  @OptionGroup var global: GlobalOptions

  @OptionGroup(title: "Which snapshots") var filter: SnapshotFilter

  struct Item: Encodable {
    var id: String
    var short_id: String
    var time: Date
    var hostname: String
    /// The plan's system, for a plan's backup.
    var system: String?
    var username: String
    var paths: [String]
    var tags: [String]
    var parent: String?
    var tree: String
    var summary: Snapshot.Summary?
    /// The protection in force (reason, until, author, time), if any.
    var protected: SnapshotMark?
    /// The signals' suspicion, if the snapshot was flagged.
    var suspicious: SnapshotMark?
  }

  func run() async throws {
    let repo = try await global.openRepository()
    let list = try await repo.listSnapshots()
    let marks = try await repo.loadMarks()
    let now = global.clock.now()
    let out = global.output
    for p in marks.problems { out.warn(p) }
    let shown = list.snapshots.filter { filter.matches($0.snapshot) }
    for d in list.damaged { out.warn("snapshot \(d.name) cannot be read: \(d.error)") }
    if global.json {
      try out.emit(
        shown.map {
          Item(
            id: $0.id.hex, short_id: $0.id.short, time: $0.snapshot.time,
            hostname: $0.snapshot.hostname, system: $0.snapshot.system, username: $0.snapshot.username,
            paths: $0.snapshot.paths, tags: $0.snapshot.tags, parent: $0.snapshot.parent?.hex,
            tree: $0.snapshot.tree.hex, summary: $0.snapshot.summary,
            protected: marks.protection(of: $0.id, now: now), suspicious: marks.suspicion(of: $0.id))
        })
      return
    }
    // Columns as wide as their widest value: a host or tag is never cut.
    let hostWidth = max(4, shown.map(\.snapshot.hostname.count).max() ?? 0)
    let tagWidth = max(4, shown.map { $0.snapshot.tags.joined(separator: ",").count }.max() ?? 0)
    // The plan's system, when any snapshot belongs to one.
    let systemWidth = shown.map { $0.snapshot.system?.count ?? 0 }.max() ?? 0
    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
    func system(_ s: String?) -> String { systemWidth == 0 ? "" : pad(s ?? "-", max(6, systemWidth)) + "  " }
    let rule = String(repeating: "-", count: max(78, 33 + hostWidth + tagWidth + (systemWidth == 0 ? 0 : max(6, systemWidth) + 2) + 8))
    out.line("ID        Time                 \(pad("Host", hostWidth))  \(system("System"))\(pad("Tags", tagWidth))  Paths")
    out.line(rule)
    for (id, s) in shown {
      out.line("\(id.short)  \(Format.time(s.time))  \(pad(s.hostname, hostWidth))  \(system(s.system))\(pad(s.tags.joined(separator: ","), tagWidth))  \(s.paths.joined(separator: " "))")
      if let p = marks.protection(of: id, now: now) {
        out.line("          protected: \(p.reason)" + (p.until.map { " (until \(Format.time($0)))" } ?? "") + " — \(p.author)")
      }
      if let m = marks.suspicion(of: id) { out.line("          SUSPICIOUS: \(m.reason)") }
    }
    out.line(rule)
    out.line(shown.count == 1 ? "1 snapshot" : "\(shown.count) snapshots")
  }
}
