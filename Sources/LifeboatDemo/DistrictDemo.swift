// The demo: a fictional school district protected for a simulated week. Generated data for a
// student information system (a database dump and files), finance, staff documents and an
// archive; a plan with three tiers and two repositories; backups on schedule with a simulated
// clock, copies, a drill per system, a ransomware attack caught by the signals, a clean-point
// restore — and the evidence in the catalog, ready for the reports.

public import Foundation
import LifeboatPosture
import LifeboatCatalog
public import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatOps
public import LifeboatPlan
import LifeboatPolicy
import LifeboatRepository
import LifeboatS3
import LifeboatStorage
import Synchronization

/// A clock the demo moves forward by hand.
public final class SteppingClock: WallClock, Sendable {
  private let current: Mutex<Date>
  public init(_ start: Date) { current = Mutex(start) }
  public func now() -> Date { current.withLock { $0 } }
  public func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

public struct DistrictDemo: Sendable {
  public let directory: String
  /// `s3:` URL of an empty bucket location on an S3 server with Object Lock, when available.
  public var offsiteURL: String?
  public var environment: [String: String]
  /// A PostgreSQL server for the SIS database (`bin` directory, host, port, user), when
  /// available; SQLite otherwise.
  public var postgres: (bin: String, host: String, port: String, user: String)?
  /// Where the week's alerts go (a webhook receiving Lifeboat's JSON), when one is given.
  public var alertWebhook: String?
  public let log: @Sendable (String) -> Void
  /// Where the story ends: the week is the 168 hours before this clock's hour.
  public var clock: any WallClock

  public init(
    directory: String, environment: [String: String], clock: any WallClock = SystemClock(),
    log: @escaping @Sendable (String) -> Void
  ) {
    self.directory = directory
    self.environment = environment
    self.clock = clock
    self.log = log
  }

  var data: String { directory + "/district" }
  public var planFile: String { directory + "/plan.yaml" }

  /// Runs the whole story; returns the plan (its catalog holds the evidence).
  public func run() async throws -> Plan {
    // The 168 hours that end with the current one, so the story ends now (a console showing
    // the demo sees fresh backups, and S3 refuses Object Lock dates in the past). The story's
    // events are placed by wall-clock hours counted from midnight (UTC) seven days ago.
    let now = clock.now().timeIntervalSince1970
    let dayZero = floor(now / 86400) * 86400 - 7 * 86400
    let start = Date(timeIntervalSince1970: floor(now / 3600) * 3600 - 7 * 86400 + 3600)
    let clock = SteppingClock(start)
    var rng = DemoRandom(seed: 2026)
    try generate(&rng)
    let password = "demo-\(UInt32.random(in: 0...UInt32.max))"
    var env = environment
    env["LIFEBOAT_DEMO_PASSWORD"] = password
    try await initRepositories(password: password, env: env)
    try writePlan()
    let loaded = PlanLoader.load(file: planFile)
    guard let plan = loaded.plan else {
      throw LifeboatError(.fatal, "the demo plan is invalid: \(loaded.errors)")
    }
    let catalog = try Catalog(path: plan.catalog)
    var context = RunContext(plan: plan, catalog: catalog, clock: clock, environment: env, actor: "demo@district")
    context.cacheRepositories()
    try catalog.recordPlanVersion(file: planFile, actor: context.actor, time: clock.now())
    log("plan: \(plan.systems.count) systems (\(plan.systems.map { "\($0.name): \($0.tier.value.rawValue)" }.joined(separator: ", "))), repositories onsite and \(offsiteURL == nil ? "offsite (a second local disk)" : "offsite (S3 with Object Lock, 30 days)")")

    // A simulated week, hour by hour: run whatever the schedule says is due.
    var runs = 0
    var attacked = false
    for tick in 0..<(7 * 24) {
      if tick > 0 { clock.advance(3600) }  // the last tick is the current hour: nothing runs in the future
      let hour = Int((clock.now().timeIntervalSince1970 - dayZero) / 3600)
      if hour > 0 && hour % 24 == 9 { try dailyChanges(&rng, day: hour / 24, date: clock.now()) }
      if hour == 5 * 24 + 12 {
        // Day 6, noon: drills of every system.
        for s in plan.systems {
          let r = await DrillRunner(context: context, system: s).run()
          log(
            "drill \(s.name): \(r.verdict.rawValue), \(Plural.count(r.files, "file")) restored from \(r.repository), verified, "
              + (r.checks.isEmpty ? "no application checks defined" : "\(r.checks.filter(\.passed).count) of \(Plural.count(r.checks.count, "application check")) passed")
              + ", recovery \(String(format: "%.2f", r.recoverySeconds)) s (RTO \(DurationText.format(s.rto.value)))")
        }
      }
      if hour == 5 * 24 + 20 && !attacked {
        attacked = true
        let n = try ransomware(&rng)
        log("\(stamp(clock.now())): ransomware encrypts \(n) staff documents and leaves a ransom note")
      }
      let history = try catalog.jobs(kind: "backup", limit: 100_000)
      for s in PlanStatus.due(plan, history: history, now: clock.now(), timeZone: TimeZone(identifier: "UTC")!) {
        let r = await SystemRunner(context: context, system: s).run()
        runs += 1
        if r.outcome != .success {
          log("backup \(s.name) at \(stamp(clock.now())): \(r.outcome.rawValue) \(r.errors.first ?? "")")
        }
        if let j = r.jobs.first, j.warnings.contains(where: { $0.hasPrefix("suspicious") }) {
          log("backup \(s.name) at \(stamp(clock.now())) was flagged SUSPICIOUS: \(j.warnings.last ?? "")")
        }
      }
      // Each hour the agent would evaluate the alerts: what is new, changed or resolved.
      if alertWebhook != nil {
        for job in await Alerting.evaluate(context, backoff: [0.5]) {
          let what = job.outcome == .success ? job.warnings.first ?? "" : "NOT DELIVERED: \(job.errors.first ?? "")"
          log("  alert at \(stamp(clock.now())): \(what)")
        }
      }
    }
    log("a simulated week: \(runs) scheduled runs, each a backup, a copy offsite and retention")
    if alertWebhook != nil {
      let sent = try catalog.jobs(kind: "alert", limit: 1000).filter { $0.outcome == .success }
      log("alerts that fired during the week: \(Plural.count(sent.count, "message")) to the IT team's webhook")
    }

    // The clean restore point for the attacked system.
    let staff = plan.system(named: "Staff documents")!
    var drill = DrillRunner(context: context, system: staff)
    drill.clean = true
    drill.keepSandbox = true
    drill.sandboxRoot = directory + "/recovered"
    let clean = await drill.run()
    log("clean-point restore of Staff documents: \(clean.selection); \(clean.verdict.rawValue), \(clean.files) files in \(clean.sandbox)")
    let verify = try compareCleanRestore(clean.sandbox)
    log("the restored documents are the ones from before the attack: \(verify)")
    return plan
  }

  func stamp(_ d: Date) -> String {
    let f = DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "EEE HH:mm"
    f.locale = Locale(identifier: "en_US_POSIX")
    return f.string(from: d)
  }

  // MARK: - Data

  func write(_ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(
      atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
  }

  func generate(_ rng: inout DemoRandom) throws {
    let first = ["Ada", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemal", "Lena"]
    let last = ["Okafor", "Nguyen", "Garcia", "Smith", "Kowalski", "Haddad", "Ito", "Larsen", "Mensah", "Rossi"]
    // Student information system: a database and uploaded files.
    var sql = "CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT, grade INTEGER, school TEXT);\n"
    for i in 1...3000 {
      sql += "INSERT INTO students VALUES (\(i), '\(first[rng.int(first.count)]) \(last[rng.int(last.count)])', \(rng.int(12) + 1), 'School \(rng.int(9) + 1)');\n"
    }
    sql += "CREATE TABLE attendance (student INTEGER, day TEXT, present INTEGER);\n"
    for i in 0..<6000 { sql += "INSERT INTO attendance VALUES (\(i % 3000 + 1), '2026-11-\(10 + i % 5)', \(rng.int(10) > 0 ? 1 : 0));\n" }
    try write(data + "/sis/schema.sql", sql)
    if let pg = postgres {
      let conn = "-h \(pg.host) -p \(pg.port) -U \(pg.user)"
      try shell("\(pg.bin)/psql \(conn) -d postgres -qc 'DROP DATABASE IF EXISTS riverside_sis' -c 'CREATE DATABASE riverside_sis'")
      try shell("\(pg.bin)/psql \(conn) -d riverside_sis -q -v ON_ERROR_STOP=1 -f \(data)/sis/schema.sql")
    } else {
      try shell("sqlite3 \(data)/sis/sis.db < \(data)/sis/schema.sql")
    }
    for i in 0..<60 {
      try write(data + "/sis/files/transcripts/t\(i).txt", lorem(&rng, words: 300 + rng.int(400)))
    }
    for m in 1...12 {
      var csv = "date,account,description,amount\n"
      for d in 0..<80 { csv += "2026-\(String(format: "%02d", m))-\(String(format: "%02d", d % 28 + 1)),\(4000 + rng.int(60)),\(lorem(&rng, words: 4)),\(rng.int(90000)).\(rng.int(100))\n" }
      try write(data + "/finance/ledger-2026-\(String(format: "%02d", m)).csv", csv)
    }
    for i in 0..<150 {
      try write(data + "/staff/dept\(i % 6)/memo-\(i).txt", lorem(&rng, words: 200 + rng.int(500)))
    }
    for y in 2015...2024 {
      for i in 0..<20 { try write(data + "/archive/\(y)/board-minutes-\(i).txt", lorem(&rng, words: 400)) }
    }
    log("generated the district's data in \(data): SIS database (3,000 students, \(postgres == nil ? "SQLite" : "PostgreSQL")) and transcripts, finance ledgers, 150 staff documents, 10 years of archive")
  }

  func lorem(_ rng: inout DemoRandom, words: Int) -> String {
    let w = ["student", "grade", "teacher", "budget", "attendance", "district", "board", "policy", "meeting", "lesson",
      "transport", "lunch", "library", "invoice", "approved", "semester", "report", "parents", "safety", "curriculum"]
    var s = ""
    for i in 0..<words { s += w[rng.int(w.count)] + (i % 14 == 13 ? ".\n" : " ") }
    return s
  }

  func dailyChanges(_ rng: inout DemoRandom, day: Int, date: Date) throws {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd"
    f.timeZone = TimeZone(identifier: "UTC")
    let dayText = f.string(from: date)
    let insert = "INSERT INTO attendance SELECT id, '\(dayText)', 1 FROM students WHERE id % 7 <> \(day % 7)"
    if let pg = postgres {
      try shell("\(pg.bin)/psql -h \(pg.host) -p \(pg.port) -U \(pg.user) -d riverside_sis -qc \"\(insert)\"")
    } else {
      try shell("sqlite3 \(data)/sis/sis.db \"\(insert)\"")
    }
    try write(data + "/sis/files/transcripts/day\(day).txt", lorem(&rng, words: 500))
    try write(data + "/finance/ledger-2026-11.csv", (try String(contentsOfFile: data + "/finance/ledger-2026-11.csv", encoding: .utf8)) + "\(dayText),4010,\(lorem(&rng, words: 3)),\(rng.int(5000)).00\n")
    try write(data + "/staff/dept\(day % 6)/memo-day\(day).txt", lorem(&rng, words: 300))
  }

  /// Encrypts 30 % of the staff documents with random bytes, renames them, drops a note.
  func ransomware(_ rng: inout DemoRandom) throws -> Int {
    let root = data + "/staff"
    let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".txt") }.sorted()
    var n = 0
    for f in files where rng.int(10) < 3 {
      let path = root + "/" + f
      let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 2000
      var bytes = [UInt8](repeating: 0, count: size + 32)
      for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
      try Data(bytes).write(to: URL(fileURLWithPath: path + ".crypt"))
      try FileManager.default.removeItem(atPath: path)
      n += 1
    }
    try write(root + "/HOW_TO_DECRYPT_FILES.txt", "Your files are encrypted. Pay 40 BTC.")
    return n
  }

  func compareCleanRestore(_ sandbox: String) throws -> String {
    let restored = sandbox + data + "/staff"
    let files = FileManager.default.enumerator(atPath: restored)?.allObjects as? [String] ?? []
    let encrypted = files.filter { $0.hasSuffix(".crypt") || $0.contains("DECRYPT") }.count
    let text = files.filter { $0.hasSuffix(".txt") }.count
    return "\(text) readable documents, \(encrypted) encrypted files or ransom notes"
  }

  @discardableResult
  func shell(_ command: String) throws -> String {
    let p = Shell.process(command)
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      throw LifeboatError(.fatal, "demo step failed: \(command): \(String(decoding: out, as: UTF8.self))")
    }
    return String(decoding: out, as: UTF8.self)
  }

  // MARK: - Repositories and plan

  func initRepositories(password: String, env: [String: String]) async throws {
    _ = try await Repository.initialize(backend: LocalBackend(path: directory + "/onsite"), password: password)
    if let offsiteURL {
      let backend = try S3Backend.open(offsiteURL, environment: env)
      _ = try await backend.createBucketIfMissing(objectLock: true, region: S3Environment.region(env))
      var config = RepositoryConfig()
      config.immutability = .init(days: 30, mode: "compliance")
      _ = try await Repository.initialize(backend: backend, password: password, configuration: config)
    } else {
      _ = try await Repository.initialize(backend: LocalBackend(path: directory + "/offsite"), password: password)
    }
  }

  func writePlan() throws {
    let offsite =
      offsiteURL.map { "{ url: \"\($0)\", password: \"env:LIFEBOAT_DEMO_PASSWORD\", immutable_days: 30 }" }
      ?? "{ url: \(directory)/offsite, password: \"env:LIFEBOAT_DEMO_PASSWORD\", offsite: true }"
    // The SIS database is a database source: dumped, every table counted, and proven by each
    // drill in a throwaway server of its engine, without a script.
    let database: String
    if let pg = postgres {
      database = "postgres: { url: \"postgres://\(pg.user)@\(pg.host):\(pg.port)/riverside_sis\", globals: false }"
    } else {
      database = "sqlite: \(data)/sis/sis.db"
    }
    try write(
      planFile,
      """
      # Generated by `lifeboat demo`: a fictional school district.
      organization: Riverside Unified School District (demo)
      frameworks: [hipaa, nist-800-171, erate]
      downtime_cost_per_hour: 18000
      repositories:
        onsite: { url: \(directory)/onsite, password: "env:LIFEBOAT_DEMO_PASSWORD" }
        offsite: \(offsite)
      \(alertWebhook.map { "alerts:\n  - webhook: \"\($0)\"\nalert_policy: { remind_every: 24h }\n" } ?? "")systems:
        - name: Student Information System
          owner: Dana Whitfield <dwhitfield@riverside.example>
          tier: critical
          rpo: 6h
          rto: 4h
          schedule: every 6h
          downtime_cost_per_hour: 25000
          sources:
            - path: \(data)/sis/files
            - \(database)
          copies: [onsite, offsite]
          drill:
            checks: ["test -s {restored}\(data)/sis/files/transcripts/t0.txt"]
        - name: Finance
          owner: Omar Haddad <ohaddad@riverside.example>
          tier: important
          schedule: daily at 01:00
          sources: [{ path: \(data)/finance }]
          copies: [onsite, offsite]
          drill:
            checks: ["test -s {restored}\(data)/finance/ledger-2026-11.csv"]
        - name: Staff documents
          tier: important
          schedule: daily at 02:00
          sources: [{ path: \(data)/staff }]
          copies: [onsite, offsite]
          retention: { daily: 7, weekly: 4 }
        - name: Archive
          tier: archival
          schedule: weekly on sun at 03:00
          sources: [{ path: \(data)/archive }]
          copies: [offsite]
      """)
  }
}

/// The demo's data comes from a seeded generator: the same district every run.
public struct DemoRandom {
  var generator: SplitMix64
  public init(seed: UInt64) { generator = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }
  public mutating func next() -> UInt64 { generator.next() }
  mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
