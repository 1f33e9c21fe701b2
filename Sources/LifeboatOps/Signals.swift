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

/// The clean restore point: the newest snapshot before the first suspicious one.
public enum CleanPoint {
  public struct Choice: Sendable {
    public var id: ID
    public var snapshot: Snapshot
    public var reason: String
  }

  /// Suspicious snapshot times of a system, from the catalog's backup jobs.
  public static func suspiciousTimes(system: String, catalog: Catalog) throws -> [Date] {
    try catalog.jobs(system: system, kind: "backup", limit: 100_000).compactMap { job in
      guard let d = job.details, let s = try? JSONDecoder.drill.decode(BackupSignals.self, from: Data(d.utf8)),
        s.suspicious
      else { return nil }
      return s.snapshotTime
    }.sorted()
  }

  /// `snapshots` are the system's, oldest first. Finds the latest suspicious snapshot, walks
  /// back over the suspicious ones right before it (the incident's start), and picks the
  /// snapshot before that.
  public static func choose(_ snapshots: [(id: ID, snapshot: Snapshot)], system: String, catalog: Catalog) throws
    -> Choice
  {
    let suspicious = Set(try suspiciousTimes(system: system, catalog: catalog).map { $0.timeIntervalSince1970 })
    func isSuspicious(_ s: Snapshot) -> Bool {
      suspicious.contains { abs($0 - s.time.timeIntervalSince1970) < 0.001 }
    }
    guard var i = snapshots.lastIndex(where: { isSuspicious($0.snapshot) }) else {
      guard let newest = snapshots.last else { throw LifeboatError(.notFound, "no snapshot of \(system)") }
      return Choice(
        id: newest.id, snapshot: newest.snapshot,
        reason: "no snapshot of \(system) was flagged suspicious: the newest one is the clean point")
    }
    while i > 0, isSuspicious(snapshots[i - 1].snapshot) { i -= 1 }
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

  /// Snapshots retention must keep: for each suspicious time, the newest snapshot before it.
  public static func protected(_ snapshots: [(id: ID, snapshot: Snapshot)], suspicious: [Date]) -> Set<ID> {
    var keep = Set<ID>()
    let sorted = snapshots.sorted { $0.snapshot.time < $1.snapshot.time }
    for t in suspicious {
      if let before = sorted.last(where: { $0.snapshot.time < t.addingTimeInterval(-0.001) }) { keep.insert(before.id) }
    }
    return keep
  }
}
