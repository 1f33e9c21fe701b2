// The data-protection assessment: for each system and source, how big it is, how fast it
// changes, how long a backup and a restore take at the throughput measured here, how much
// storage each copy needs for the retention, and the gaps ranked by risk.

public import Foundation
public import LifeboatCatalog
import LifeboatCore
import LifeboatPosture
public import LifeboatPlan
import LifeboatPolicy

public struct Assessment: Sendable, Codable {
  public struct SourceFacts: Sendable, Codable {
    public var source: String
    public var bytes: UInt64?
    public var files: Int?
    /// `scanned` (walked now), `history` (the last backup), or `unknown`.
    public var measuredBy: String
  }

  public struct SystemFacts: Sendable, Codable {
    public var system: String
    public var tier: String
    public var sources: [SourceFacts]
    public var bytes: UInt64
    public var files: Int
    /// New data per day, from the backup history (nil without two backups).
    public var changeBytesPerDay: Double?
    public var backupBytesPerSecond: Double
    public var restoreBytesPerSecond: Double
    /// Where the throughputs come from: `measured` or `assumed`.
    public var throughputSource: String
    public var fullBackupSeconds: Double
    public var incrementalBackupSeconds: Double?
    public var scheduleSeconds: Double
    public var rpoSeconds: Double
    public var restoreSeconds: Double
    public var rtoSeconds: Double
    /// Stored bytes per copy to keep the retention (first copy + changes over the retained span).
    public var storagePerCopyBytes: Double
    public var copies: [String]
    public var retentionDays: Double
  }

  /// A gap and its expected loss a year: the system's downtime cost per hour × the hours the
  /// gap would cost (beyond the objective, or to rebuild) × how often a year it would bite.
  /// A longer RTO never raises it by itself: only hours beyond the objective count.
  public struct Gap: Sendable, Codable {
    public var system: String
    public var gap: String
    public var expectedLossPerYear: Double
    public var costPerHour: Double
    public var hours: Double
    /// Times a year the gap would bite (may exceed 1 for frequent events; 1 for what happened).
    public var likelihood: Double
    /// The figure's arithmetic with the name of every factor, for an auditor to follow.
    public var reasoning: String
  }

  /// A system's gaps summed: the order in which to fix them.
  public struct SystemRisk: Sendable, Codable {
    public var system: String
    public var expectedLossPerYear: Double
    public var gaps: Int
  }

  /// The factors the likelihoods and hours come from, with their source (the plan's line or
  /// Lifeboat's default assumption).
  public struct Factor: Sendable, Codable {
    public var key: String
    public var value: Double
    public var source: String
    public var meaning: String
  }

  public var organization: String
  public var generated: Date
  public var systems: [SystemFacts]
  public var gaps: [Gap]
  /// Systems by expected loss, largest first.
  public var ranking: [SystemRisk]
  public var factors: [Factor]
  public var assumptions: [String]

  /// Assumed when nothing was measured yet (this project's reference machine measures more;
  /// see docs/BENCHMARKS.md).
  static let assumedBackup = 100e6
  static let assumedRestore = 150e6
  static let assumedRatio = 0.6

  public static func make(
    plan: Plan, history: [JobRecord], now: Date, scan: Bool = true
  ) -> Assessment {
    var facts: [SystemFacts] = []
    var gaps: [Gap] = []
    for s in plan.systems {
      let mine = history.filter { $0.system == s.name }
      let backups = mine.filter { $0.kind == "backup" && $0.succeeded }.sorted { $0.started < $1.started }
      let last = backups.last
      var sources: [SourceFacts] = []
      for src in s.sources {
        switch src.kind {
        case .path(let p, _):
          if scan, let (bytes, files) = Self.scan(p) {
            sources.append(SourceFacts(source: p, bytes: bytes, files: files, measuredBy: "scanned"))
          } else {
            sources.append(SourceFacts(source: p, bytes: nil, files: nil, measuredBy: "unknown"))
          }
        case .command(let c, let name, _):
          sources.append(SourceFacts(source: "\(name) ← \(c)", bytes: nil, files: 1, measuredBy: last == nil ? "unknown" : "history"))
        case .database(let d):
          sources.append(SourceFacts(source: d.title, bytes: nil, files: nil, measuredBy: last == nil ? "unknown" : "history"))
        case .smb(let share):
          sources.append(SourceFacts(source: share.title, bytes: nil, files: nil, measuredBy: last == nil ? "unknown" : "history"))
        }
      }
      let scanned = sources.compactMap(\.bytes).reduce(0, +)
      let bytes = max(scanned, UInt64(max(0, last?.bytes ?? 0)))
      let files = max(sources.compactMap(\.files).reduce(0, +), Int(last?.files ?? 0))
      // Throughput measured here: backups (bytes over wall time) and drills (restore rate).
      let backupRates = backups.compactMap { j -> Double? in
        guard let e = j.ended, e > j.started, j.bytes > 0 else { return nil }
        return Double(j.bytes) / e.timeIntervalSince(j.started)
      }.sorted()
      let restoreRates = mine.filter { $0.kind == "drill" }.compactMap { j in
        j.details.flatMap { try? JSONDecoder.drill.decode(DrillReport.self, from: Data($0.utf8)) }?.bytesPerSecond
      }.filter { $0 > 0 }.sorted()
      let measured = !backupRates.isEmpty && !restoreRates.isEmpty
      let backupRate = backupRates.isEmpty ? assumedBackup : backupRates[backupRates.count / 2]
      let restoreRate = restoreRates.isEmpty ? assumedRestore : restoreRates[restoreRates.count / 2]
      // Change rate: new data per backup from the signals, spread over the time between backups.
      let signals = backups.compactMap { $0.details.flatMap { try? JSONDecoder.drill.decode(BackupSignals.self, from: Data($0.utf8)) } }
      var changePerDay: Double?
      if backups.count >= 2, let first = backups.first, let lastB = backups.last, lastB.started > first.started {
        let added = signals.dropFirst().map { Double($0.newDataBytes) }.reduce(0, +)
        changePerDay = added / lastB.started.timeIntervalSince(first.started) * 86400
      }
      let ratios = signals.map(\.newDataRatio).filter { $0 > 0 }.sorted()
      let ratio = ratios.isEmpty ? assumedRatio : ratios[ratios.count / 2]
      let span = Self.retentionDays(s.retention.value, interval: s.schedule.value.interval)
      let storage = Self.storage(
        size: Double(bytes), changePerDay: changePerDay ?? Double(bytes) * 0.01, ratio: ratio,
        retention: s.retention.value, interval: s.schedule.value.interval)
      let incremental = changePerDay.map { $0 * s.schedule.value.interval / 86400 / backupRate }
      let f = SystemFacts(
        system: s.name, tier: s.tier.value.rawValue, sources: sources, bytes: bytes, files: files,
        changeBytesPerDay: changePerDay, backupBytesPerSecond: backupRate, restoreBytesPerSecond: restoreRate,
        throughputSource: measured ? "measured" : "assumed", fullBackupSeconds: Double(bytes) / backupRate,
        incrementalBackupSeconds: incremental, scheduleSeconds: s.schedule.value.interval, rpoSeconds: s.rpo.value,
        restoreSeconds: Double(bytes) / restoreRate, rtoSeconds: s.rto.value, storagePerCopyBytes: storage,
        copies: s.copies.value, retentionDays: span)
      facts.append(f)

      gaps += Self.gaps(of: s, facts: f, plan: plan, history: history, now: now)
    }
    gaps.sort { ($0.expectedLossPerYear, $1.system) > ($1.expectedLossPerYear, $0.system) }
    var ranking = plan.systems.map { s in
      let mine = gaps.filter { $0.system == s.name }
      return SystemRisk(system: s.name, expectedLossPerYear: mine.map(\.expectedLossPerYear).reduce(0, +), gaps: mine.count)
    }
    ranking.sort { ($0.expectedLossPerYear, $1.system) > ($1.expectedLossPerYear, $0.system) }
    return Assessment(
      organization: plan.organization, generated: now, systems: facts, gaps: gaps, ranking: ranking,
      factors: plan.risk.all.map {
        Factor(key: $0.key, value: $0.value, source: $0.source == .builtIn ? "assumed (Lifeboat's default)" : "\($0.source)", meaning: $0.meaning)
      },
      assumptions: [
        "throughput measured from this catalog's backups and drills where they exist; otherwise assumed: "
          + "backup 100 MB/s, restore 150 MB/s",
        "storage per copy: the data once, plus for each snapshot the retention keeps the change since the previous "
          + "kept one (measured daily change, else 1 % a day; never more than the data), at the measured compression "
          + "ratio (else 0.6); deduplication usually makes it smaller",
        "expected loss a year = the system's downtime cost per hour × the hours a gap would cost × how often a year "
          + "it would bite; the factors are listed with their source, and the plan's assessment: section changes them",
        "hours: beyond the RTO or RPO for a slow restore, a long backup or a stale backup (a longer objective never "
          + "raises the figure by itself); rebuild_hours when no usable backup would be left",
      ])
  }

  /// The gaps of one system, each with its expected loss a year and the arithmetic behind it.
  static func gaps(of s: ProtectedSystem, facts f: SystemFacts, plan: Plan, history: [JobRecord], now: Date) -> [Gap] {
    let risk = plan.risk
    let cost = s.downtimeCostPerHour.value
    var out: [Gap] = []
    func gap(_ text: String, hours: Double, hoursWhy: String, _ likelihood: [RiskAssumptions.Factor], fixed: Double? = nil) {
      let l = fixed ?? likelihood.map(\.value).reduce(1, *)
      let why = fixed != nil ? "\(Self.number(l)) (it happened)" : likelihood.map { "\(Self.number($0.value)) (\($0.key))" }.joined(separator: " × ")
      out.append(
        Gap(
          system: s.name, gap: text, expectedLossPerYear: cost * hours * l, costPerHour: cost, hours: hours, likelihood: l,
          reasoning: "\(HTML.money(cost)) an hour × \(Self.number(hours)) h (\(hoursWhy)) × \(why)"))
    }
    let rebuild = risk.rebuildHours.value
    let judged = Posture.judge(PlanStatus.status(s, history: history, now: now), in: plan, now: now)
    let reasons = Set(judged.judgements.flatMap { $0.causes.map(\.reason) })
    let restoreSource = f.throughputSource == "measured" ? "measured" : "estimated"
    if f.restoreSeconds > s.rto.value {
      let over = (f.restoreSeconds - s.rto.value) / 3600
      gap(
        "a restore would take \(ExecutiveReport.age(f.restoreSeconds)) (\(restoreSource)), \(ExecutiveReport.age(over * 3600)) over the RTO of \(DurationText.format(s.rto.value))",
        hours: over, hoursWhy: "beyond the RTO", [risk.incidentsPerYear])
    }
    if let inc = f.incrementalBackupSeconds, inc > s.schedule.value.interval {
      let over = (inc - s.schedule.value.interval) / 3600
      gap("a backup would run \(ExecutiveReport.age(inc)), longer than the schedule's interval", hours: over,
        hoursWhy: "of changes beyond the schedule", [risk.incidentsPerYear])
    }
    if judged.backups.light == .red {
      if let age = judged.status.ageSeconds {
        let over = min(rebuild, max(0, age - s.rpo.value) / 3600)
        gap("no good backup within the RPO: the last is \(ExecutiveReport.age(age)) old against \(DurationText.format(s.rpo.value))",
          hours: over, hoursWhy: "of data beyond the RPO", [risk.incidentsPerYear])
      } else {
        gap("no good backup within the RPO: never backed up", hours: rebuild, hoursWhy: "rebuild_hours", [risk.incidentsPerYear])
      }
    }
    if reasons.contains(.neverDrilled) {
      gap("recovery never tested by a drill", hours: rebuild, hoursWhy: "rebuild_hours, when the untested restore fails",
        [risk.incidentsPerYear, risk.untestedRestoreFailure])
    }
    if reasons.contains(.drillFailed) {
      gap("the last drill failed", hours: rebuild, hoursWhy: "rebuild_hours", [risk.incidentsPerYear])
    }
    let targets = s.copies.value.compactMap { plan.repositories[$0] }
    if !targets.contains(where: \.offsite) {
      gap("no offsite copy (a site loss takes the backups too)", hours: rebuild, hoursWhy: "rebuild_hours", [risk.siteLossPerYear])
    }
    if !targets.contains(where: { $0.immutableDays != nil }) {
      gap("no immutable copy (ransomware holding the credentials can delete the backups)", hours: rebuild,
        hoursWhy: "rebuild_hours", [risk.ransomwarePerYear])
    }
    if targets.count < 2 {
      gap("only one copy (losing it loses every backup)", hours: rebuild, hoursWhy: "rebuild_hours", [risk.copyLossPerYear])
    }
    if judged.integrity.light != .green {
      let n = judged.status.suspiciousSnapshots
      gap(n == 1 ? "a backup looked like an attack" : "\(n) backups looked like an attack", hours: f.restoreSeconds / 3600,
        hoursWhy: "to restore the clean point", [], fixed: 1)
    }
    return out
  }

  /// 0.3, 168, 0.06: as short as the value needs.
  static func number(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e12 { return String(Int(v)) }
    var text = String(format: "%.3f", v)
    while text.hasSuffix("0") { text.removeLast() }
    return text
  }

  /// Files and bytes under a path (regular files, not following links); nil when unreadable.
  static func scan(_ path: String) -> (UInt64, Int)? {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return nil }
    guard isDir.boolValue else {
      let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
      return (size, 1)
    }
    guard let e = FileManager.default.enumerator(at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
    else { return nil }
    var bytes: UInt64 = 0
    var files = 0
    for case let url as URL in e {
      guard let v = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), v.isRegularFile == true else { continue }
      bytes += UInt64(v.fileSize ?? 0)
      files += 1
    }
    return (bytes, files)
  }

  /// Stored bytes for one copy: the data once, plus for every snapshot the retention keeps the
  /// change since the previous kept one — never more than the data itself — at the measured
  /// compression ratio.
  static func storage(
    size: Double, changePerDay: Double, ratio: Double, retention p: RetentionPolicy, interval: TimeInterval
  ) -> Double {
    func kept(_ n: Int?, every seconds: Double) -> Double {
      Double(n ?? 0) * min(size, changePerDay * max(seconds, interval) / 86400)
    }
    var total = size
    total += kept(p.keepLast, every: interval)
    total += kept(p.keepHourly, every: 3600)
    total += kept(p.keepDaily, every: 86400)
    total += kept(p.keepWeekly, every: 7 * 86400)
    total += kept(p.keepMonthly, every: 30 * 86400)
    total += kept(p.keepYearly, every: 365 * 86400)
    if let w = p.keepWithin { total += min(size * 10, changePerDay * w / 86400) }
    return total * ratio
  }

  /// The span of time the retention keeps snapshots for, in days.
  static func retentionDays(_ p: RetentionPolicy, interval: TimeInterval) -> Double {
    var d = 0.0
    if let n = p.keepLast { d = max(d, Double(n) * interval / 86400) }
    if let n = p.keepHourly { d = max(d, Double(n) / 24) }
    if let n = p.keepDaily { d = max(d, Double(n)) }
    if let n = p.keepWeekly { d = max(d, Double(n) * 7) }
    if let n = p.keepMonthly { d = max(d, Double(n) * 30) }
    if let n = p.keepYearly { d = max(d, Double(n) * 365) }
    if let w = p.keepWithin { d = max(d, w / 86400) }
    return d
  }

  public var html: String {
    func size(_ b: Double) -> String { ByteCount.format(b) }
    var b = "<header><h1>Data-protection assessment — \(HTML.escape(organization))</h1><p class=\"sub\">Generated \(HTML.dateTime(generated)) by Lifeboat \(LifeboatVersion.number). Sizes scanned now; change rates and throughput from the catalog's history.</p></header>"
    b += "<section id=\"gaps\"><h2>Gaps ranked by expected loss</h2>"
    b += "<p class=\"small\">Expected loss a year = the system's downtime cost per hour × the hours the gap would cost × how often a year it would bite. "
      + "The factors and their sources are listed under Assumptions; the plan's <code>assessment:</code> section changes them.</p>"
    b += "<table><colgroup><col style=\"width:22%\"><col style=\"width:56%\"><col style=\"width:22%\"></colgroup><tr><th>System</th><th>Gap, and how the figure is made</th><th>Expected loss a year</th></tr>"
    for g in gaps {
      b += "<tr><td>\(HTML.escape(g.system))</td><td>\(HTML.escape(g.gap))<br><span class=\"small muted\">\(HTML.escape(g.reasoning))</span></td><td>\(HTML.money(g.expectedLossPerYear))</td></tr>"
    }
    if gaps.isEmpty { b += "<tr><td colspan=\"3\">No gap found.</td></tr>" }
    b += "</table><h3>Systems in the order to fix them</h3><table><tr><th>System</th><th>Gaps</th><th>Expected loss a year</th></tr>"
    for r in ranking {
      b += "<tr><td>\(HTML.escape(r.system))</td><td>\(r.gaps)</td><td>\(HTML.money(r.expectedLossPerYear))</td></tr>"
    }
    b += "</table></section><section id=\"systems\"><h2>Systems</h2><table><colgroup><col style=\"width:20%\"><col style=\"width:16%\"><col style=\"width:16%\"><col style=\"width:24%\"><col style=\"width:24%\"></colgroup>"
    b += "<tr><th>System</th><th>Size</th><th>Change a day</th><th>Backup window vs schedule</th><th>Restore vs RTO</th></tr>"
    for f in systems {
      let window = f.incrementalBackupSeconds.map { ExecutiveReport.age($0) } ?? "first: \(ExecutiveReport.age(f.fullBackupSeconds))"
      let restoreLight = Posture.projectedRecovery(seconds: f.restoreSeconds, rto: f.rtoSeconds)
      b += "<tr><td><b>\(HTML.escape(f.system))</b><br><span class=\"small muted\">\(f.tier), \(f.throughputSource) throughput</span></td>"
      b += "<td>\(size(Double(f.bytes)))<br><span class=\"small muted\">\(f.files) files</span></td>"
      b += "<td>\(f.changeBytesPerDay.map { size($0) } ?? "unknown")</td>"
      b += "<td>\(window) per backup; every \(DurationText.format(f.scheduleSeconds))</td>"
      b += "<td>\(HTML.light(restoreLight))\(ExecutiveReport.age(f.restoreSeconds)) of \(DurationText.format(f.rtoSeconds))</td></tr>"
    }
    b += "</table></section><section id=\"storage\"><h2>Storage per copy for the retention</h2>"
    b += HTML.bars(systems.map { f in
      (f.system, f.storagePerCopyBytes, systems.map(\.storagePerCopyBytes).max() ?? 1,
       "\(size(f.storagePerCopyBytes)) × \(f.copies.count), kept \(Int(f.retentionDays)) d")
    })
    b += "</section><section id=\"assumptions\"><h2>Assumptions</h2><table><tr><th>Factor</th><th>Value</th><th>Source</th></tr>"
    for f in factors {
      b += "<tr><td><code>\(HTML.escape(f.key))</code><br><span class=\"small muted\">\(HTML.escape(f.meaning))</span></td><td>\(Self.number(f.value))</td><td>\(HTML.escape(f.source))</td></tr>"
    }
    b += "</table><ul>" + assumptions.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul></section>"
    return HTML.page(title: "Data-protection assessment — \(organization)", body: b)
  }
}
