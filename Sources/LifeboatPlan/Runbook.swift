// The recovery runbook: what to have before starting, then the systems in recovery order with
// what to restore, from where, to where, how to check it, who owns it and the RTO budget —
// generated from the plan. One document model (`blocks`) renders as Markdown here and as HTML in
// LifeboatReport, so both say the same. Executing it is `RunbookExecution` (LifeboatOps).

public import Foundation
import LifeboatPolicy
import enum LifeboatCore.DateText

public struct Runbook: Sendable, Codable {
  public struct Step: Sendable, Codable {
    public var order: Int
    public var system: String
    public var tier: String
    public var owner: String?
    public var contacts: [String]
    public var rtoSeconds: Double
    public var dependsOn: [String]
    /// The copy to restore from: the drill repository (by default the last, offsite copy).
    public var repository: String
    /// Where the recovery restores it (`restore_to:`, else /srv/recovery/<system>).
    public var restoreTo: String
    /// To recover: restore the clean point into `restoreTo`.
    public var commands: [String]
    /// To rehearse: a drill into a sandbox, verified and timed; changes nothing.
    public var drillCommands: [String]
    public var checks: [String]
  }

  /// A piece of the document, rendered the same way in Markdown and HTML.
  public enum Block: Sendable, Codable, Equatable {
    case heading(level: Int, text: String)
    case paragraph(String)
    case items([String])
    case commands([String])
    /// Something missing from the plan that a recovery will need.
    case warning(String)
  }

  public var organization: String
  public var generated: Date
  /// The plan file, for the commands and for "before you start".
  public var planFile: String
  /// Where each part of the recovery kit is kept (`recovery_kit:` in the plan).
  public var recoveryKit: [String: String]
  /// The repositories with their password references (never the passwords).
  public var passwords: [String: String]
  public var steps: [Step]
  /// What the plan does not say that a recovery needs: owners, where the passwords are kept.
  public var missing: [String]

  /// Recovery order: dependencies first; among systems that are ready, critical before
  /// important before archival, then the shorter RTO, then the plan's order.
  public static func make(_ plan: Plan, now: Date) throws -> Runbook {
    let rank: [Tier: Int] = [.critical: 0, .important: 1, .archival: 2]
    var done: [String] = []
    var left = plan.systems.enumerated().map { ($0.offset, $0.element) }
    while !left.isEmpty {
      let ready = left.filter { (_, s) in s.dependsOn.allSatisfy { done.contains($0) } }
      guard let next = ready.min(by: { a, b in
        (rank[a.1.tier.value]!, a.1.rto.value, a.0) < (rank[b.1.tier.value]!, b.1.rto.value, b.0)
      }) else {
        throw PlanError(
          "the systems \(left.map(\.1.name).joined(separator: ", ")) depend on each other in a cycle",
          hint: "remove one of the depends_on entries")
      }
      done.append(next.1.name)
      left.removeAll { $0.0 == next.0 }
    }
    let steps = done.enumerated().map { (i, name) -> Step in
      let s = plan.system(named: name)!
      let repo = s.drill.value.repository ?? s.copies.value.last ?? ""
      func quoted(_ text: String) -> String { "'\(text.replacingOccurrences(of: "'", with: "'\\''"))'" }
      return Step(
        order: i + 1, system: s.name, tier: s.tier.value.rawValue, owner: s.owner, contacts: s.contacts,
        rtoSeconds: s.rto.value, dependsOn: s.dependsOn, repository: repo, restoreTo: s.recoveryTarget,
        commands: [
          "lifeboat restore --plan \(quoted(plan.file)) --system \(quoted(s.name)) --repository \(quoted(repo)) --clean "
            + "--target \(quoted(s.recoveryTarget)) --verify"
        ],
        drillCommands: ["lifeboat drill --plan \(quoted(plan.file)) --system \(quoted(s.name)) --repository \(quoted(repo))"],
        checks: s.drill.value.checks.map(\.description))
    }
    var missing = steps.filter { $0.owner == nil }.map { "\($0.system) has no owner: add owner: to it in the plan" }
    for (key, what) in PlanKeys.recoveryKitItems where plan.recoveryKit[key] == nil {
      missing.append("the plan does not say where \(what) is kept when the servers are gone: add recovery_kit: { \(key): … }")
    }
    return Runbook(
      organization: plan.organization, generated: now, planFile: plan.file, recoveryKit: plan.recoveryKit,
      passwords: plan.repositories.mapValues { "\($0.password)" }, steps: steps, missing: missing)
  }

  /// The document: before you start, then per system what to recover and how to rehearse it.
  public var blocks: [Block] {
    var b: [Block] = [
      .heading(level: 1, text: "Recovery runbook — \(organization)"),
      .paragraph(
        "Generated \(DateText.day(generated)) from the protection plan \(planFile). Restore the systems in this order; each "
          + "step says what to restore, from which copy, to where, how to check it, who owns it and its recovery time objective."),
      .heading(level: 2, text: "Before you start"),
      .paragraph("A recovery needs these, from outside the servers that are down:"),
      .items([
        "The lifeboat program (\(recoveryKit["binary"] ?? "location not stated in the plan")).",
        "The protection plan \(planFile) (\(recoveryKit["plan"] ?? "location not stated in the plan")).",
        "The repository passwords (\(recoveryKit["passwords"] ?? "location not stated in the plan")): "
          + passwords.keys.sorted().map { "\($0) from \(passwords[$0]!)" }.joined(separator: ", ") + ".",
        "This runbook (\(recoveryKit["runbook"] ?? "location not stated in the plan")).",
        "Credentials for the offsite storage (S3 keys or the server token) named in the plan.",
      ]),
    ]
    for m in missing { b.append(.warning(m)) }
    var total = 0.0
    for s in steps {
      total += s.rtoSeconds
      b.append(.heading(level: 2, text: "\(s.order). \(s.system) (\(s.tier))"))
      var facts = ["RTO: \(DurationText.format(s.rtoSeconds))"]
      facts.append("Owner: " + (s.owner ?? "NOT NAMED in the plan"))
      if !s.contacts.isEmpty { facts.append("Contacts: \(s.contacts.joined(separator: "; "))") }
      if !s.dependsOn.isEmpty { facts.append("After: \(s.dependsOn.joined(separator: ", "))") }
      facts.append("Restore from: repository \(s.repository)")
      facts.append("Restore to: \(s.restoreTo)")
      b.append(.items(facts))
      b.append(.heading(level: 3, text: "To recover"))
      b.append(.commands(s.commands))
      if s.checks.isEmpty {
        b.append(.paragraph("No application checks are defined: check the restored data by hand before going live."))
      } else {
        b.append(.paragraph("Then check it ({restored} is \(s.restoreTo)):"))
        b.append(.items(s.checks))
      }
      b.append(.heading(level: 3, text: "To rehearse (a drill: restores into a sandbox, changes nothing)"))
      b.append(.commands(s.drillCommands))
    }
    b.append(.paragraph("Sum of the RTOs if restored one after another: \(DurationText.format(total))."))
    return b
  }

  public var markdown: String {
    var out: [String] = []
    for block in blocks {
      switch block {
      case .heading(let level, let text): out.append(String(repeating: "#", count: level) + " " + text)
      case .paragraph(let text): out.append(text)
      case .items(let items): out.append(items.map { "- \($0)" }.joined(separator: "\n"))
      case .commands(let lines): out.append("```sh\n" + lines.joined(separator: "\n") + "\n```")
      case .warning(let text): out.append("> **Missing:** \(text)")
      }
    }
    return out.joined(separator: "\n\n") + "\n"
  }
}
