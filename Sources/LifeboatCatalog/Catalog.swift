// The catalog: a SQLite database (GRDB, WAL) of every job Lifeboat ran for an organization,
// and the hash-chained audit log. Schema: docs/catalog.md.

import Crypto
public import Foundation
import GRDB
import LifeboatCore

/// A restore drill's verdict, stored as a typed column of the job (`jobs.verdict`), never
/// re-read from text: every judgement of recovery (`LifeboatPosture`) starts from it.
public enum DrillVerdict: String, Sendable, Codable, CaseIterable {
  /// Restored, verified and checked within the RTO.
  case passed
  /// Restored, verified and checked, but slower than the RTO.
  case passedOverRTO = "passed-over-rto"
  /// Something was not restored, did not verify, or a check failed.
  case failed
}

/// One job: a backup, copy, forget, prune, check or drill of one system on one repository.
public struct JobRecord: Sendable, Codable, Equatable {
  public enum Outcome: String, Sendable, Codable {
    case running
    case success
    /// Finished, but some sources could not be read (exit code 3).
    case partial
    case failed
    /// Stopped by a signal or shutdown; the repositories stay valid.
    case interrupted
  }

  public var id: Int64?
  public var kind: String
  public var system: String
  public var repository: String?
  public var started: Date
  public var ended: Date?
  public var outcome: Outcome
  public var bytes: Int64 = 0
  public var files: Int64 = 0
  public var snapshot: String?
  public var errors: [String] = []
  public var warnings: [String] = []
  /// Kind-specific facts as JSON (phase timings, counts).
  public var details: String?
  /// A drill's verdict (drills only).
  public var verdict: DrillVerdict?
  /// A drill's measured recovery time: restore + verify + checks (drills only).
  public var recoverySeconds: Double?
  /// A backup the ransomware signals flagged (backups only).
  public var suspicious = false

  public init(kind: String, system: String, repository: String?, started: Date, outcome: Outcome = .running) {
    self.kind = kind
    self.system = system
    self.repository = repository
    self.started = started
    self.outcome = outcome
  }

  public var succeeded: Bool { outcome == .success || outcome == .partial }

  enum CodingKeys: String, CodingKey {
    case id, kind, system, repository, started, ended, outcome, bytes, files, snapshot, errors, warnings, details
    case verdict, recoverySeconds, suspicious
  }

  /// The typed facts a job of an older version kept only inside `details` (a drill report's
  /// `verdict` and `recoverySeconds`, a backup's signals' `suspicious`): read once, here.
  mutating func liftFactsFromDetails() {
    guard let details, let object = try? JSONSerialization.jsonObject(with: Data(details.utf8)) as? [String: Any] else {
      return
    }
    if kind == "drill" {
      if verdict == nil { verdict = (object["verdict"] as? String).flatMap(DrillVerdict.init(rawValue:)) }
      if recoverySeconds == nil { recoverySeconds = (object["recoverySeconds"] as? NSNumber)?.doubleValue }
    }
    if kind == "backup", !suspicious { suspicious = (object["suspicious"] as? Bool) ?? false }
  }

  /// Counts and lists may be left out (an agent's report, a hand-written one): they default to
  /// zero and empty.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      kind: try c.decode(String.self, forKey: .kind), system: try c.decode(String.self, forKey: .system),
      repository: try c.decodeIfPresent(String.self, forKey: .repository), started: try c.decode(Date.self, forKey: .started),
      outcome: try c.decode(Outcome.self, forKey: .outcome))
    id = try c.decodeIfPresent(Int64.self, forKey: .id)
    ended = try c.decodeIfPresent(Date.self, forKey: .ended)
    bytes = try c.decodeIfPresent(Int64.self, forKey: .bytes) ?? 0
    files = try c.decodeIfPresent(Int64.self, forKey: .files) ?? 0
    snapshot = try c.decodeIfPresent(String.self, forKey: .snapshot)
    errors = try c.decodeIfPresent([String].self, forKey: .errors) ?? []
    warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
    details = try c.decodeIfPresent(String.self, forKey: .details)
    // A verdict this version does not know (a newer agent's) is no verdict, not a failed ingest.
    verdict = try c.decodeIfPresent(String.self, forKey: .verdict).flatMap(DrillVerdict.init(rawValue:))
    recoverySeconds = try c.decodeIfPresent(Double.self, forKey: .recoverySeconds)
    suspicious = try c.decodeIfPresent(Bool.self, forKey: .suspicious) ?? false
    // An agent of an older version sends these only inside `details`.
    liftFactsFromDetails()
  }
}

/// One event of the audit log.
/// Jobs an agent reports to a server: the body of `POST /api/v1/tenants/{tenant}/runs`.
public struct RunBatch: Codable, Sendable {
  /// Who sends them (the agent's host); with each job's own id it makes reporting idempotent.
  public var source: String
  public var jobs: [JobRecord]

  public init(source: String, jobs: [JobRecord]) {
    self.source = source
    self.jobs = jobs
  }
}

public struct AuditEvent: Sendable, Equatable, Codable {
  public var seq: Int64
  public var time: Date
  public var actor: String
  /// `run`, `forget`, `prune`, `key-change`, `plan-change`, `drill`, …
  public var kind: String
  public var subject: String
  public var details: String
  public var previousHash: String
  public var hash: String

  public init(
    seq: Int64, time: Date, actor: String, kind: String, subject: String, details: String, previousHash: String,
    hash: String
  ) {
    self.seq = seq
    self.time = time
    self.actor = actor
    self.kind = kind
    self.subject = subject
    self.details = details
    self.previousHash = previousHash
    self.hash = hash
  }
}

/// What verifying the audit chain found.
public struct AuditVerification: Sendable, Codable {
  public var events: Int
  /// Hash of the last event: record it elsewhere (a report, a ticket) to detect truncation.
  public var head: String
  public var problems: [String]
  public var isIntact: Bool { problems.isEmpty }

  public init(events: Int, head: String, problems: [String]) {
    self.events = events
    self.head = head
    self.problems = problems
  }
}

public final class Catalog: Sendable {
  public let path: String
  let db: DatabaseQueue

  /// Opens (creating and migrating) the catalog at `path`.
  public init(path: String) throws {
    self.path = path
    try FileManager.default.createDirectory(
      atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
    var config = Configuration()
    config.busyMode = .timeout(10)
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA journal_mode = WAL")
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    do {
      db = try DatabaseQueue(path: path, configuration: config)
      try Self.migrator.migrate(db)
    } catch {
      throw LifeboatError(
        .fatal, "cannot open the catalog \(path): \(error)",
        hint: "check the path in the plan's `catalog:` and its permissions")
    }
  }

  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            system TEXT NOT NULL,
            repository TEXT,
            started REAL NOT NULL,
            ended REAL,
            outcome TEXT NOT NULL,
            bytes INTEGER NOT NULL DEFAULT 0,
            files INTEGER NOT NULL DEFAULT 0,
            snapshot TEXT,
            errors TEXT NOT NULL DEFAULT '[]',
            warnings TEXT NOT NULL DEFAULT '[]',
            details TEXT
          );
          CREATE INDEX jobs_system_kind ON jobs(system, kind, started);
          CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            time REAL NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            details TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
          );
          CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
          CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
          """)
    }
    // Typed facts that were text inside `details`: a drill's verdict and recovery time, a
    // backup's ransomware flag. Filled from `details` for the jobs already recorded.
    m.registerMigration("v2-typed-facts") { db in
      try db.execute(
        sql: """
          ALTER TABLE jobs ADD COLUMN verdict TEXT;
          ALTER TABLE jobs ADD COLUMN recovery_seconds REAL;
          ALTER TABLE jobs ADD COLUMN suspicious INTEGER NOT NULL DEFAULT 0;
          """)
      let rows = try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE details IS NOT NULL AND kind IN ('drill', 'backup')")
      for row in rows {
        var j = Self.job(row)
        j.liftFactsFromDetails()
        try db.execute(
          sql: "UPDATE jobs SET verdict = ?, recovery_seconds = ?, suspicious = ? WHERE id = ?",
          arguments: [j.verdict?.rawValue, j.recoverySeconds, j.suspicious, j.id])
      }
    }
    return m
  }

  // MARK: - Jobs

  /// Records a job as started; returns its id.
  public func start(_ job: JobRecord) throws -> Int64 {
    try db.write { db in
      try db.execute(
        sql: """
          INSERT INTO jobs (kind, system, repository, started, outcome) VALUES (?, ?, ?, ?, ?)
          """, arguments: [job.kind, job.system, job.repository, job.started.timeIntervalSince1970, job.outcome.rawValue])
      return db.lastInsertedRowID
    }
  }

  /// Records how a job ended.
  public func finish(_ job: JobRecord) throws {
    guard let id = job.id else { return }
    let enc = JSONEncoder()
    let errors = String(decoding: try enc.encode(job.errors), as: UTF8.self)
    let warnings = String(decoding: try enc.encode(job.warnings), as: UTF8.self)
    try db.write { db in
      try db.execute(
        sql: """
          UPDATE jobs SET ended = ?, outcome = ?, bytes = ?, files = ?, snapshot = ?, errors = ?,
            warnings = ?, details = ?, repository = ?, verdict = ?, recovery_seconds = ?, suspicious = ? WHERE id = ?
          """,
        arguments: [
          job.ended?.timeIntervalSince1970, job.outcome.rawValue, job.bytes, job.files, job.snapshot, errors,
          warnings, job.details, job.repository, job.verdict?.rawValue, job.recoverySeconds, job.suspicious, id,
        ])
    }
  }

  static func job(_ row: Row) -> JobRecord {
    var j = JobRecord(
      kind: row["kind"], system: row["system"], repository: row["repository"],
      started: Date(timeIntervalSince1970: row["started"]),
      outcome: JobRecord.Outcome(rawValue: row["outcome"]) ?? .failed)
    j.id = row["id"]
    j.ended = (row["ended"] as Double?).map { Date(timeIntervalSince1970: $0) }
    j.bytes = row["bytes"]
    j.files = row["files"]
    j.snapshot = row["snapshot"]
    let dec = JSONDecoder()
    j.errors = (try? dec.decode([String].self, from: Data((row["errors"] as String).utf8))) ?? []
    j.warnings = (try? dec.decode([String].self, from: Data((row["warnings"] as String).utf8))) ?? []
    j.details = row["details"]
    j.verdict = (row["verdict"] as String?).flatMap(DrillVerdict.init(rawValue:))
    j.recoverySeconds = row["recovery_seconds"]
    j.suspicious = (row["suspicious"] as Bool?) ?? false
    return j
  }

  /// Jobs, newest first, filtered by system and kind.
  public func jobs(system: String? = nil, kind: String? = nil, limit: Int = 1000) throws -> [JobRecord] {
    var sql = "SELECT * FROM jobs WHERE 1"
    var args: [any DatabaseValueConvertible] = []
    if let system {
      sql += " AND system = ?"
      args.append(system)
    }
    if let kind {
      sql += " AND kind = ?"
      args.append(kind)
    }
    sql += " ORDER BY started DESC, id DESC LIMIT ?"
    args.append(limit)
    return try db.read { db in
      try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(Self.job)
    }
  }

  /// One job by its id.
  public func job(id: Int64) throws -> JobRecord? {
    try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(Self.job) }
  }

  /// Jobs still marked running (a crash or kill left them): marked interrupted.
  public func markAbandoned(before: Date) throws -> Int {
    try db.write { db in
      try db.execute(
        sql: "UPDATE jobs SET outcome = 'interrupted', ended = ? WHERE outcome = 'running' AND started < ?",
        arguments: [before.timeIntervalSince1970, before.timeIntervalSince1970])
      return db.changesCount
    }
  }

  // MARK: - Audit log

  /// Hash of one event: SHA-256 over the previous hash and the event's fields, each
  /// length-prefixed, so no two different events hash alike.
  static func hash(
    seq: Int64, time: Double, actor: String, kind: String, subject: String, details: String, previous: String
  ) -> String {
    var h = SHA256()
    for field in [previous, String(seq), String(format: "%.6f", time), actor, kind, subject, details] {
      let bytes = Array(field.utf8)
      var n = UInt64(bytes.count).bigEndian
      withUnsafeBytes(of: &n) { h.update(bufferPointer: $0) }
      h.update(data: bytes)
    }
    return h.finalize().map { String(format: "%02x", $0) }.joined()
  }

  static let genesis = String(repeating: "0", count: 64)

  /// Appends an event to the chain; returns it.
  @discardableResult
  public func audit(kind: String, subject: String, details: [String: String] = [:], actor: String, time: Date)
    throws -> AuditEvent
  {
    let enc = JSONEncoder()
    enc.outputFormatting = .sortedKeys
    let detailText = String(decoding: try enc.encode(details), as: UTF8.self)
    let t = (time.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000
    return try db.write { db in
      let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
      let seq: Int64 = (last?["seq"] as Int64? ?? 0) + 1
      let previous: String = last?["hash"] ?? Self.genesis
      let hash = Self.hash(
        seq: seq, time: t, actor: actor, kind: kind, subject: subject, details: detailText, previous: previous)
      try db.execute(
        sql: "INSERT INTO audit (seq, time, actor, kind, subject, details, previous_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
        arguments: [seq, t, actor, kind, subject, detailText, previous, hash])
      return AuditEvent(
        seq: seq, time: Date(timeIntervalSince1970: t), actor: actor, kind: kind, subject: subject,
        details: detailText, previousHash: previous, hash: hash)
    }
  }

  /// Records the plan's content hash when it differs from the last one recorded: every
  /// change to the plan becomes a `plan-change` event. Returns whether it recorded one.
  @discardableResult
  public func recordPlanVersion(file: String, actor: String, time: Date) throws -> Bool {
    guard let bytes = FileManager.default.contents(atPath: file) else { return false }
    let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    let last = try db.read { db in
      try String.fetchOne(
        db, sql: "SELECT details FROM audit WHERE kind = 'plan-change' ORDER BY seq DESC LIMIT 1")
    }
    let previous = last.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }?["sha256"]
    guard previous != digest else { return false }
    try audit(
      kind: "plan-change", subject: file, details: ["sha256": digest, "previous_sha256": previous ?? "none"],
      actor: actor, time: time)
    return true
  }

  public func auditEvents() throws -> [AuditEvent] {
    try db.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY rowid").map { r in
        AuditEvent(
          seq: r["seq"], time: Date(timeIntervalSince1970: r["time"]), actor: r["actor"], kind: r["kind"],
          subject: r["subject"], details: r["details"], previousHash: r["previous_hash"], hash: r["hash"])
      }
    }
  }

  /// Recomputes the chain. Finds edited events (hash mismatch), deleted events (a gap in the
  /// sequence or a broken link) and reordered events (links out of order). Truncation of the
  /// newest events is caught by comparing `head` with a value recorded elsewhere
  /// (`expectedHead`).
  public func verifyAudit(expectedHead: String? = nil) throws -> AuditVerification {
    let events = try auditEvents()
    var problems: [String] = []
    var previous = Self.genesis
    var expectedSeq: Int64 = 1
    for e in events {
      if e.seq != expectedSeq {
        problems.append(
          e.seq > expectedSeq
            ? "events \(expectedSeq)…\(e.seq - 1) are missing (deleted)"
            : "event \(e.seq) is out of order (expected \(expectedSeq))")
      }
      if e.previousHash != previous {
        problems.append("event \(e.seq) does not link to the event before it (deleted or reordered events)")
      }
      let recomputed = Self.hash(
        seq: e.seq, time: e.time.timeIntervalSince1970, actor: e.actor, kind: e.kind, subject: e.subject,
        details: e.details, previous: e.previousHash)
      if recomputed != e.hash { problems.append("event \(e.seq) (\(e.kind) \(e.subject)) was edited: its hash does not match") }
      previous = e.hash
      expectedSeq = e.seq + 1
    }
    // A head recorded earlier must still be in the chain (events appended since are fine).
    if let expectedHead, !events.contains(where: { $0.hash == expectedHead }) {
      problems.append(
        "the chain does not contain the recorded head \(expectedHead.prefix(16))…: events were removed or the log was replaced")
    }
    return AuditVerification(events: events.count, head: previous, problems: problems)
  }
}
