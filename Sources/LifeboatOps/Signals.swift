// Ransomware signals: every backup is compared with the system's previous snapshot and its
// own history. Thresholds and reasoning: docs/drills.md (Signals).

public import Foundation
public import LifeboatPosture
public import LifeboatCatalog
public import LifeboatCore
import LifeboatEngine
public import LifeboatRepository

public enum SignalAnalyzer {
  /// Compares `snapshot` with `parent` in `repository`; `history` is the system's earlier
  /// signals (for the baseline).
  public static func analyze(
    repository: Repository, snapshot: Snapshot, parent: Snapshot?, history: [BackupSignals]
  ) async throws -> BackupSignals {
    var s = BackupSignals(snapshotTime: snapshot.time)
    if let summary = snapshot.summary, summary.dataAdded > 0 {
      s.newDataBytes = summary.dataAdded
      s.newDataRatio = Double(summary.dataAddedPacked) / Double(summary.dataAdded)
    }
    let shares = history.suffix(10).map(\.changedShare).sorted()
    s.baselineShare = shares.isEmpty ? 0 : shares[shares.count / 2]
    guard let parent else {
      s.evaluate()
      return s
    }
    // The previous snapshot's files and extensions.
    var baseExtensions = Set<String>()
    try await TreeWalker(repository: repository).walk(root: parent.tree) { path, node in
      if node.kind == .file {
        s.baseFiles += 1
        if let e = ext(path) { baseExtensions.insert(e) }
      }
      return true
    }
    let (entries, _) = try await SnapshotDiff(repository: repository).compare(parent.tree, snapshot.tree)
    var removedPaths: [String: [String]] = [:]  // folder → stems
    var addedByExt: [String: Int] = [:]
    var added: [String] = []
    for e in entries where e.kind == "file" {
      switch e.change {
      case .added:
        s.added += 1
        added.append(e.path)
        if let x = ext(Array(e.path.utf8)) { addedByExt[x, default: 0] += 1 }
        if BackupSignals.isRansomNote(name(e.path)) { s.ransomNotes.append(e.path) }
      case .removed:
        s.removed += 1
        removedPaths[folder(e.path), default: []].append(name(e.path))
      case .modified, .typeChanged:
        s.modified += 1
      default: break
      }
    }
    for a in added {
      let n = name(a)
      if let olds = removedPaths[folder(a)], olds.contains(where: { n.hasPrefix($0 + ".") || stem(n) == stem($0) }) {
        s.renamed += 1
      }
    }
    if let (e, n) = addedByExt.max(by: { $0.value < $1.value }), !baseExtensions.contains(e), n * 2 >= s.added {
      s.newExtension = e
      s.newExtensionFiles = n
    }
    s.changedShare = s.baseFiles > 0 ? Double(s.modified + s.removed) / Double(s.baseFiles) : 0
    s.evaluate()
    return s
  }

  static func name(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }
  static func folder(_ path: String) -> String { String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
  static func stem(_ name: String) -> String { name.split(separator: ".").first.map(String.init) ?? name }
  static func ext(_ path: [UInt8]) -> String? {
    let n = name(String(decoding: path, as: UTF8.self))
    guard let dot = n.lastIndex(of: "."), dot != n.startIndex else { return nil }
    let e = n[n.index(after: dot)...].lowercased()
    return e.isEmpty || e.count > 12 ? nil : e
  }
}

/// The clean restore point: the newest snapshot before the first suspicious one, read from
/// the repository's marks (docs/design.md §18) — the same marks retention keeps, so a copy
/// without a catalog chooses the same point.
public enum CleanPoint {
  public struct Choice: Sendable {
    public var id: ID
    public var snapshot: Snapshot
    public var reason: String
  }

  /// `snapshots` are the system's, oldest first. Finds the latest suspicious snapshot, walks
  /// back over the suspicious ones right before it (the incident's start), and picks the
  /// snapshot before that.
  public static func choose(_ snapshots: [(id: ID, snapshot: Snapshot)], system: String, marks: MarkBook) throws -> Choice {
    func isSuspicious(_ id: ID) -> Bool { marks.suspicion(of: id) != nil }
    guard var i = snapshots.lastIndex(where: { isSuspicious($0.id) }) else {
      guard let newest = snapshots.last else { throw LifeboatError(.notFound, "no snapshot of \(system)") }
      return Choice(
        id: newest.id, snapshot: newest.snapshot,
        reason: "no snapshot of \(system) was flagged suspicious: the newest one is the clean point")
    }
    while i > 0, isSuspicious(snapshots[i - 1].id) { i -= 1 }
    guard i > 0 else {
      throw LifeboatError(
        .notFound, "every snapshot of \(system) up to the first suspicious one is suspicious: no clean point",
        hint: "look further back with `lifeboat snapshots` and restore one by id")
    }
    let first = snapshots[i]
    let clean = snapshots[i - 1]
    let f = ISO8601DateFormatter()
    return Choice(
      id: clean.id, snapshot: clean.snapshot,
      reason: "snapshot \(first.id.short) of \(f.string(from: first.snapshot.time)) was the first flagged suspicious; "
        + "\(clean.id.short) of \(f.string(from: clean.snapshot.time)) is the newest before it")
  }
}
