import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatRepository

/// `lifeboat protect` and `lifeboat unprotect`: marks in the repository, honoured by `forget`,
/// plan retention, server retention and approved deletions alike (docs/design.md §18).
struct ProtectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "protect",
    abstract: "Protect a snapshot from every deletion, with a reason (and an end date).",
    discussion: """
      Writes a protect mark into the repository. `forget`, plan retention and the server's retention keep the snapshot until the mark ends (--until) or `lifeboat unprotect` lifts it; every protection stands on its own (a second, shorter one never shortens the first). An approved deletion on a Lifeboat server, which cannot read marks, refuses any snapshot with a protect mark, whatever its end date. Marks travel with `lifeboat copy`. On a Lifeboat server's append-only repository a client can protect, but only the provider can lift a protection (an approval of unprotect-snapshots).

        lifeboat protect 1a2b3c4d --reason "legal hold, matter 2026-114"
        lifeboat protect latest --reason "before the ERP upgrade" --until 2027-03-31

      With --plan (or LIFEBOAT_PLAN) the protection is recorded in the plan's audit log.
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The snapshot: an ID, a unique prefix, or `latest`.") var snapshot: String
  @Option(help: "Why the snapshot must be kept (shown by `snapshots`, `forget` and the reports).") var reason: String
  @Option(help: "When the protection ends: a date (2027-03-31) or an ISO 8601 time. Default: until lifted.")
  var until: String?

  func validate() throws {
    if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      throw ValidationError("--reason must say why the snapshot is protected")
    }
    if let u = until, Self.parseDate(u) == nil {
      throw ValidationError("--until takes a date such as 2027-03-31 or an ISO 8601 time, not \(u)")
    }
  }

  static func parseDate(_ text: String) -> Date? {
    let full = ISO8601DateFormatter()
    if let d = full.date(from: text) { return d }
    let day = ISO8601DateFormatter()
    day.formatOptions = [.withFullDate]
    return day.date(from: text)
  }

  func run() async throws {
    let now = global.clock.now()
    let end = until.flatMap(Self.parseDate)
    if let end, end <= now {
      throw LifeboatError(
        .usage, "--until \(until!) is in the past: the protection would end before it starts; nothing was written",
        hint: "give a future date, or leave --until out to protect until `lifeboat unprotect`")
    }
    let repo = try await global.openRepository()
    let (id, _) = try await repo.findSnapshot(snapshot)
    let marks = try await repo.loadMarks()
    if let p = marks.protection(of: id, now: now), p.reason == reason, p.until == end {
      global.output.line("\(id.short) is already protected: \(p.reason)")
      return
    }
    try await repo.addMark(
      SnapshotMark(snapshot: id, kind: .protect, reason: reason, until: end, time: now, author: PlanOptions.actor))
    global.audit("protect", subject: id.hex, details: ["reason": reason, "until": end.map { Format.time($0) } ?? "released"])
    global.output.line("protected \(id.short): \(reason)" + (end.map { " (until \(Format.time($0)))" } ?? ""))
    try global.output.emit(["snapshot": id.hex, "protected": "true", "reason": reason])
  }
}

struct UnprotectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unprotect",
    abstract: "Lift a snapshot's protection (a later mark; nothing is deleted).",
    discussion: """
      Writes a release mark, which supersedes the snapshot's protect mark: after it, retention and `forget` decide about the snapshot again. The protect mark stays, so the history of the protection can be read (and works on append-only and Object-Locked repositories). A Lifeboat server refuses a release from its clients: there the provider lifts a protection through four eyes.

      With --plan (or LIFEBOAT_PLAN) the release is recorded in the plan's audit log.
      """)

  @OptionGroup var global: GlobalOptions
  @Argument(help: "The snapshot: an ID, a unique prefix, or `latest`.") var snapshot: String
  @Option(help: "Why the protection is lifted.") var reason: String = "released"

  func run() async throws {
    let now = global.clock.now()
    let repo = try await global.openRepository()
    let (id, _) = try await repo.findSnapshot(snapshot)
    let marks = try await repo.loadMarks()
    guard let p = marks.protection(of: id, now: now) else {
      throw LifeboatError(
        .usage, "snapshot \(id.short) is not protected: nothing to lift, nothing was written",
        hint: "`lifeboat snapshots` shows which snapshots are protected")
    }
    try await repo.addMark(SnapshotMark(snapshot: id, kind: .release, reason: reason, time: now, author: PlanOptions.actor))
    global.audit("unprotect", subject: id.hex, details: ["reason": reason, "was": p.reason])
    global.output.line("lifted the protection of \(id.short) (\(p.reason))")
    try global.output.emit(["snapshot": id.hex, "protected": "false", "reason": reason])
  }
}
