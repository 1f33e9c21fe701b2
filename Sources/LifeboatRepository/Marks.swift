// Snapshot marks in the repository (docs/design.md §18), and the one place snapshot objects
// are removed. A mark is an object `marks/<snapshot>-<kind>-<hash>`, sealed like a snapshot;
// a protection is lifted only by a later `release` mark (or, on a server, by the provider
// through four eyes), never by editing or deleting. Every removal of a snapshot — `forget`,
// plan retention, server retention, an approved deletion — goes through `SnapshotRemoval`,
// which refuses a protected snapshot.

public import Foundation
public import LifeboatCore
import LifeboatFormat
public import LifeboatStorage

/// Every mark of a repository, read and checked.
public struct MarkBook: Sendable {
  /// Readable marks by snapshot, oldest first (by time, then name).
  public private(set) var marks: [ID: [SnapshotMark]] = [:]
  /// Marks that could not be used: damaged, written by a newer version, or whose name does not
  /// match their content. Reported, never fatal.
  public private(set) var problems: [String] = []
  /// Snapshots named by a `protect` mark that cannot be used: they stay protected (a damaged
  /// or newer protection must not let a snapshot go), and `problems` says why.
  public private(set) var unreadableProtections: Set<ID> = []

  public init() {}

  init(marks: [(name: MarkName, mark: SnapshotMark)], problems: [String], unreadableProtections: Set<ID> = []) {
    self.problems = problems
    self.unreadableProtections = unreadableProtections
    for (_, m) in marks.sorted(by: { ($0.mark.time, $0.name.name) < ($1.mark.time, $1.name.name) }) {
      self.marks[m.snapshot, default: []].append(m)
    }
  }

  /// How far a mark's time may be ahead of the reader's clock (clock skew between hosts).
  public static let futureAllowance: TimeInterval = 3600

  /// The protection in force for a snapshot at `now`, or nil. Every `protect` mark counts on its
  /// own: it protects from its time until its `until` (or for ever), unless a `release` made at
  /// or after it lifts it. A later protect never shortens an earlier one, and a release dated
  /// beyond `now` (plus `futureAllowance`) lifts nothing. Of several protections in force, the
  /// one that lasts longest is returned.
  public func protection(of id: ID, now: Date) -> SnapshotMark? {
    if unreadableProtections.contains(id) {
      return SnapshotMark(
        snapshot: id, kind: .protect, reason: "a protect mark that cannot be read (damaged, or from a newer Lifeboat); see `lifeboat check`",
        time: .distantPast, author: "unknown")
    }
    let mine = marks[id] ?? []
    let lastRelease = mine.filter { $0.knownKind == .release && $0.time <= now.addingTimeInterval(Self.futureAllowance) }
      .map(\.time).max()
    let inForce = mine.filter { m in
      m.knownKind == .protect && (lastRelease.map { m.time > $0 } ?? true) && (m.until.map { $0 > now } ?? true)
    }
    return inForce.max { ($0.until ?? .distantFuture, $0.time) < ($1.until ?? .distantFuture, $1.time) }
  }

  /// Releases dated beyond `now` (plus the allowance): reported, and lifting nothing.
  public func futureReleases(now: Date) -> [SnapshotMark] {
    marks.values.flatMap { $0 }.filter { $0.knownKind == .release && $0.time > now.addingTimeInterval(Self.futureAllowance) }
  }

  /// The snapshot's `suspicious` mark, if the signals flagged it.
  public func suspicion(of id: ID) -> SnapshotMark? {
    (marks[id] ?? []).last { $0.knownKind == .suspicious }
  }

  /// Whether an equal mark (kind, time, reason, end) is already recorded for `id`.
  public func contains(_ mark: SnapshotMark, on id: ID) -> Bool {
    (marks[id] ?? []).contains {
      $0.kind == mark.kind && $0.time == mark.time && $0.reason == mark.reason && $0.until == mark.until
    }
  }

  /// Snapshots a suspicious one makes worth keeping: in each group (`groupOf`), for every
  /// suspicious snapshot, the newest earlier snapshot that is not suspicious — the clean
  /// restore point. `snapshots` in any order.
  public func cleanPoints(_ snapshots: [(id: ID, snapshot: Snapshot)], groupOf: (Snapshot) -> String)
    -> [ID: ID]
  {
    var out: [ID: ID] = [:]  // clean point → the first suspicious snapshot after it
    let groups = Dictionary(grouping: snapshots) { groupOf($0.snapshot) }
    for (_, members) in groups {
      for s in members where suspicion(of: s.id) != nil {
        if let clean = cleanPoint(before: s.id, in: members), out[clean.id] == nil { out[clean.id] = s.id }
      }
    }
    return out
  }

  /// The newest snapshot older than `id` that is not suspicious: where to restore from.
  public func cleanPoint(before id: ID, in snapshots: [(id: ID, snapshot: Snapshot)]) -> (id: ID, snapshot: Snapshot)? {
    let sorted = snapshots.sorted { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
    guard let i = sorted.firstIndex(where: { $0.id == id }) else { return nil }
    return sorted[..<i].last { suspicion(of: $0.id) == nil }
  }
}

extension Repository {
  /// Reads every mark. A mark that cannot be used is listed in `problems`, never fatal:
  /// a damaged mark must not stop a restore, and an unreadable protection is reported.
  public func loadMarks() async throws -> MarkBook {
    let infos: [ObjectInfo]
    do {
      infos = try await backend.list(.mark)
    } catch let e as StorageError where e.isNotFound {
      // A Lifeboat server older than marks knows no `marks` folder: there are none.
      return MarkBook(marks: [], problems: ["the repository's storage has no marks folder (a server older than marks?)"])
    } catch let e as StorageError {
      throw e.asLifeboatError
    }
    var good: [(name: MarkName, mark: SnapshotMark)] = []
    var problems: [String] = []
    var unreadable: Set<ID> = []
    for info in infos {
      guard let name = MarkName(info.name) else { continue }
      let before = problems.count
      defer {
        if problems.count > before, name.kind == SnapshotMark.Kind.protect.rawValue, let id = ID(hex: name.snapshot) {
          unreadable.insert(id)
        }
      }
      do {
        let sealed = try await Self.storage { try await backend.load(Handle(.mark, info.name)) }
        guard StorageHash.id(sealed).hex == name.hash else {
          problems.append("mark \(info.name.prefix(20))…: content does not match its name")
          continue
        }
        let mark = try MarkFormat.open(sealed, keys: keys)
        guard mark.version <= MarkFormat.currentVersion, let kind = mark.knownKind else {
          problems.append(
            "mark \(info.name.prefix(20))… (\(mark.kind), version \(mark.version)) was written by a newer Lifeboat and is ignored")
          continue
        }
        guard mark.snapshot.hex == name.snapshot, kind.rawValue == name.kind else {
          problems.append("mark \(info.name.prefix(20))…: its name does not match its content; ignored")
          continue
        }
        good.append((name, mark))
      } catch {
        problems.append("mark \(info.name.prefix(20))… cannot be read: \(error)")
      }
    }
    return MarkBook(marks: good, problems: problems, unreadableProtections: unreadable)
  }

  /// Writes a mark; returns its object name. Nothing is ever overwritten: the name holds the
  /// hash of the sealed bytes.
  @discardableResult
  public func addMark(_ mark: SnapshotMark) async throws -> String {
    let sealed = try MarkFormat.seal(mark, keys: keys)
    let name = MarkName(snapshot: mark.snapshot.hex, kind: mark.kind, hash: StorageHash.id(sealed).hex).name
    try await Self.storage { try await backend.save(Handle(.mark, name), data: sealed) }
    return name
  }

  /// Removes snapshots through the one removal path; refuses any protected one.
  public func removeSnapshots(_ ids: [ID], marks: MarkBook, now: Date) async throws -> [ID] {
    try await SnapshotRemoval.remove(ids, from: backend) { id in
      marks.protection(of: id, now: now).map { "protected: \($0.reason)" }
    }
  }
}

/// The one place a snapshot object is removed.
public enum SnapshotRemoval {
  /// Removes each snapshot unless `refusal` names a reason to keep it; throws, removing
  /// nothing, when any is refused — the caller decided wrongly, and must say so.
  public static func remove(_ ids: [ID], from backend: any Backend, refusal: (ID) -> String?) async throws -> [ID] {
    let refused = ids.compactMap { id in refusal(id).map { "\(id.short) (\($0))" } }
    guard refused.isEmpty else {
      throw LifeboatError(
        .usage, "refusing to remove protected snapshots: " + refused.joined(separator: ", "),
        hint: "lift the protection first: `lifeboat unprotect SNAPSHOT`, or on a Lifeboat server an approved "
          + "unprotect request (POST …/repositories/REPO/unprotect)")
    }
    var removed: [ID] = []
    for id in ids {
      try await Repository.storage { try await backend.remove(Handle(.snapshot, id.hex)) }
      removed.append(id)
    }
    return removed
  }

  /// Snapshots a server protects without the repository's key: every snapshot with a
  /// `protect` mark. A server cannot read a mark's end date or order, so it honours every
  /// protection; the provider lifts one through four eyes (docs/server.md).
  public static func protectedByName(in backend: any Backend) async throws -> [String: Int] {
    var out: [String: Int] = [:]
    for info in try await backend.list(.mark) {
      if let n = MarkName(info.name), n.kind == SnapshotMark.Kind.protect.rawValue { out[n.snapshot, default: 0] += 1 }
    }
    return out
  }

  /// Removes snapshots by name, without the key (a server's approved deletion): refuses any
  /// snapshot with a `protect` mark.
  public static func removeWithoutKey(_ names: [String], from backend: any Backend) async throws -> [String] {
    let protected = try await protectedByName(in: backend)
    let ids = names.compactMap { ID(hex: $0) }
    return try await remove(ids, from: backend) { protected[$0.hex] != nil ? "a protect mark" : nil }.map(\.hex)
  }
}
