// The recovery runbook: systems in recovery order with what to restore, from where, how to
// check it, who owns it and the RTO budget — generated from the plan. Executing it is
// `RunbookExecution` (LifeboatOps).

public import Foundation
import LifeboatPolicy

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
    public var commands: [String]
    public var checks: [String]
  }

  public var organization: String
  public var generated: Date
  public var steps: [Step]

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
      let quoted = "'\(s.name.replacingOccurrences(of: "'", with: "'\\''"))'"
      return Step(
        order: i + 1, system: s.name, tier: s.tier.value.rawValue, owner: s.owner, contacts: s.contacts,
        rtoSeconds: s.rto.value, dependsOn: s.dependsOn, repository: repo,
        commands: [
          "lifeboat restore --plan \(plan.file) --system \(quoted) --repository \(repo) --clean --target /srv/recovery",
          "lifeboat drill --plan \(plan.file) --system \(quoted) --repository \(repo)",
        ],
        checks: s.drill.value.checks.map(\.description))
    }
    return Runbook(organization: plan.organization, generated: now, steps: steps)
  }

  public var markdown: String {
    var out = "# Recovery runbook — \(organization)\n\nGenerated \(ISO8601DateFormatter().string(from: generated)) from the protection plan. "
    out += "Restore the systems in this order; each step lists the copy to restore from, the commands, the checks that prove it works, who owns it and its recovery time objective.\n\n"
    var total = 0.0
    for s in steps {
      total += s.rtoSeconds
      out += "## \(s.order). \(s.system) (\(s.tier))\n\n"
      out += "- **RTO**: \(DurationText.format(s.rtoSeconds))\n"
      if let o = s.owner { out += "- **Owner**: \(o)\n" }
      if !s.contacts.isEmpty { out += "- **Contacts**: \(s.contacts.joined(separator: "; "))\n" }
      if !s.dependsOn.isEmpty { out += "- **After**: \(s.dependsOn.joined(separator: ", "))\n" }
      out += "- **Restore from**: repository `\(s.repository)`\n\n"
      out += "```sh\n" + s.commands.joined(separator: "\n") + "\n```\n\n"
      if !s.checks.isEmpty {
        out += "Checks (`{restored}` is the restore target):\n\n" + s.checks.map { "- `\($0)`" }.joined(separator: "\n") + "\n\n"
      }
    }
    out += "Sum of the RTOs if restored one after another: \(DurationText.format(total)).\n"
    return out
  }
}

