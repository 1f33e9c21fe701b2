import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatPolicy
import LifeboatRepository
import LifeboatStorage

struct ForgetCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "forget",
    abstract: "Remove snapshots according to retention rules, with the reason for each decision.",
    discussion: """
      Snapshots are grouped by host and paths (--group-by), newest first. Each rule keeps snapshots independently and a snapshot is kept when any rule keeps it; every decision is printed with its reasons. Periods (hour, day, ISO week, month, year) are wall-clock periods in the local time zone (set TZ to change it).

        lifeboat forget --keep-daily 14 --keep-weekly 8 --keep-monthly 12 --keep-yearly 7 --dry-run
        lifeboat forget --keep-within 30d --keep-tag legal-hold

      Marks come first: a snapshot protected with `lifeboat protect` (until its end date, if any), and the clean restore point before a snapshot the ransomware signals flagged, are kept whatever the rules say, and the output says why ("protected (legal hold)", "the clean point before suspicious snapshot 1a2b3c4d"). Lift a protection with `lifeboat unprotect` first.

      forget removes snapshots only; the data they alone used is freed by `lifeboat prune`, or by --prune right after. Without any --keep rule nothing is removed.
      """)

  @OptionGroup var global: GlobalOptions

  @Option(help: "Keep the N newest snapshots.") var keepLast: Int?
  @Option(help: "Keep the newest snapshot of each of the last N hours.") var keepHourly: Int?
  @Option(help: "Keep the newest snapshot of each of the last N days.") var keepDaily: Int?
  @Option(help: "Keep the newest snapshot of each of the last N ISO weeks.") var keepWeekly: Int?
  @Option(help: "Keep the newest snapshot of each of the last N months.") var keepMonthly: Int?
  @Option(help: "Keep the newest snapshot of each of the last N years.") var keepYearly: Int?
  @Option(help: "Keep every snapshot within this duration of the newest one (e.g. 7d, 36h, 1y6mo).")
  var keepWithin: String?
  @Option(name: .customLong("keep-tag"), help: "Keep every snapshot with this tag (repeatable).")
  var keepTags: [String] = []
  @Option(help: "Group snapshots by any of host,paths,tags before applying the rules.")
  var groupBy: String = "host,paths"
  @Option(help: "Only consider snapshots of this host.") var host: String?
  @Flag(name: [.short, .customLong("dry-run")], help: "Show what would be removed; remove nothing.")
  var dryRun = false
  @Flag(help: "Prune right after removing snapshots (see `lifeboat prune`).") var prune = false
  @Option(help: "With --prune: unused share to tolerate before repacking.") var maxUnused: String = "5%"

  func validate() throws {
    for (name, v) in [("last", keepLast), ("hourly", keepHourly), ("daily", keepDaily), ("weekly", keepWeekly), ("monthly", keepMonthly), ("yearly", keepYearly)] {
      if let v, v < 0 { throw ValidationError("--keep-\(name) must be 0 or more") }
    }
    if let w = keepWithin, DurationText.parse(w) == nil {
      throw ValidationError("--keep-within takes a duration such as 7d, 36h or 1y6mo, not \(w)")
    }
    if RetentionGrouping(parsing: groupBy) == nil {
      throw ValidationError("--group-by takes a comma-separated subset of host,paths,tags")
    }
    if policy.isEmpty {
      throw ValidationError("no --keep rule given: forget would remove every snapshot, so it refuses")
    }
  }

  var policy: RetentionPolicy {
    RetentionPolicy(
      keepLast: keepLast, keepHourly: keepHourly, keepDaily: keepDaily, keepWeekly: keepWeekly,
      keepMonthly: keepMonthly, keepYearly: keepYearly, keepWithin: keepWithin.flatMap(DurationText.parse),
      keepTags: keepTags)
  }

  struct Result: Encodable {
    var dry_run: Bool
    var decisions: [RetentionDecision]
    var removed: [String]
  }

  func run() async throws {
    let repo = try await global.openRepository()
    let out = global.output
    let grouping = RetentionGrouping(parsing: groupBy)!
    let now = global.clock.now()
    let result = try await global.withLock(repo, exclusive: !dryRun, command: "forget") { _ -> Result in
      let list = try await repo.listSnapshots()
      for d in list.damaged { out.warn("snapshot \(d.name) cannot be read and is left alone: \(d.error)") }
      let marks = try await repo.loadMarks()
      for p in marks.problems { out.warn(p) }
      let candidates = list.snapshots.filter { host == nil || $0.snapshot.hostname == host }
      // The one retention executor: the rules, then the marks (protected, clean points).
      let decisions = Forgetting.decide(
        policy, snapshots: candidates, marks: marks, grouping: grouping, timeZone: .current, now: now)
      let removed = dryRun ? [] : try await Forgetting.execute(decisions, in: repo, marks: marks, now: now).map(\.hex)
      return Result(dry_run: dryRun, decisions: decisions, removed: removed)
    }
    if !result.removed.isEmpty {
      global.audit(
        "forget", subject: "\(result.removed.count) snapshots",
        details: ["removed": result.removed.joined(separator: ",")])
    }
    var group = ""
    for d in result.decisions {
      if d.group != group {
        group = d.group
        out.line("\n\(group)")
      }
      let verb = d.keep ? "keep  " : (dryRun ? "would remove" : "remove")
      out.line("  \(d.id.short)  \(Format.time(d.time))  \(verb)  \(d.reasons.joined(separator: "; "))")
    }
    let gone = result.decisions.filter { !$0.keep }.count
    out.line("\n\(result.decisions.count - gone) snapshots kept, \(gone) \(dryRun ? "would be removed (dry run)" : "removed")")
    try out.emit(result)
    if prune && !dryRun {
      guard let pct = PruneCommand.percent(maxUnused) else {
        throw LifeboatError(.usage, "--max-unused takes a percentage from 0 to 100")
      }
      let report = try await PruneCommand.prune(repo, global: global, options: PruneOptions(maxUnusedPercent: pct))
      PruneCommand.print(report, dryRun: false, output: out)
    }
  }
}
