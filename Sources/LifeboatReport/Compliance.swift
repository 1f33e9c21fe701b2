// The compliance pack: each control with its status (met / partial / gap), the evidence behind
// it and what is missing. Evidence supports a control; it does not certify compliance.

public import Foundation
public import LifeboatCatalog
public import LifeboatPlan
import LifeboatPolicy
import LifeboatPosture

public struct ComplianceReport: Sendable, Codable {
  public enum Status: String, Sendable, Codable {
    case met, partial, gap

    var light: Light {
      switch self {
      case .met: .green
      case .partial: .amber
      case .gap: .red
      }
    }
  }

  public struct Control: Sendable, Codable {
    public var framework: String
    public var id: String
    public var title: String
    public var status: Status
    public var evidence: [String]
    public var missing: [String]
  }

  public var organization: String
  public var generated: Date
  public var frameworks: [String]
  public var controls: [Control]
  public var auditChain: AuditVerification
  public var disclaimer =
    "This report lists evidence that supports each control. It does not certify compliance; an assessor decides."

  public static func make(plan: Plan, history: [JobRecord], audit: AuditVerification, events: [AuditEvent], now: Date)
    -> ComplianceReport
  {
    // The systems' standing comes from the posture; this report decides only each control's status.
    let posture = Posture.judge(plan: plan, history: history, auditIntact: audit.isIntact, now: now)
    let statuses = zip(plan.systems, posture.systems).map { ($0, $1) }
    let df = ISO8601DateFormatter()
    let backups = history.filter { $0.kind == "backup" && $0.succeeded }
    let drills = history.filter { $0.kind == "drill" && $0.outcome != .running }
    let passedDrills = drills.filter { $0.outcome == .success }
    let withinRPO = statuses.filter { $0.1.backups.light != .red }
    let drilledOK = statuses.filter { $0.1.recovery.light == .green }
    let critical = plan.systems.filter { $0.tier.value == .critical }
    let immutableRepos = plan.repositories.values.filter { $0.immutableDays != nil }.map(\.name).sorted()
    let offsiteRepos = plan.repositories.values.filter(\.offsite).map(\.name).sorted()
    let criticalProtected = critical.filter { s in
      s.copies.value.contains { plan.repositories[$0]?.immutableDays != nil }
        && s.copies.value.contains { plan.repositories[$0]?.offsite == true }
    }
    let runbookRuns = events.filter { $0.kind == "runbook-end" }
    let suspicious = events.filter { $0.kind == "suspicious" }
    let chain = "audit chain of \(audit.events) events \(audit.isIntact ? "verified intact" : "BROKEN"), head \(audit.head.prefix(16))…"
    let lastBackup = backups.map(\.started).max().map { "last successful backup \(df.string(from: $0))" }
    let lastDrill = passedDrills.map(\.started).max().map { "last passed drill \(df.string(from: $0))" }

    func share(_ n: Int, _ total: Int) -> Status { total == 0 || n == 0 ? .gap : n == total ? .met : .partial }
    var c: [Control] = []
    func add(_ fw: String, _ id: String, _ title: String, _ status: Status, _ evidence: [String?], _ missing: [String]) {
      c.append(Control(framework: fw, id: id, title: title, status: status, evidence: evidence.compactMap { $0 }, missing: missing))
    }
    let notWithinRPO = statuses.filter { $0.1.backups.light == .red }.map(\.0.name)
    let notDrilled = statuses.filter { $0.1.recovery.light != .green }.map(\.0.name)

    // HIPAA Security Rule, contingency plan and technical safeguards.
    add("hipaa", "164.308(a)(7)(ii)(A)", "Data backup plan", share(withinRPO.count, statuses.count),
      ["\(backups.count) successful backups in the catalog", lastBackup,
       "\(withinRPO.count) of \(statuses.count) systems have a good backup within their RPO"],
      notWithinRPO.map { "\($0): no good backup within its RPO" })
    add("hipaa", "164.308(a)(7)(ii)(B)", "Disaster recovery plan",
      critical.isEmpty ? .partial : share(criticalProtected.count, critical.count),
      ["runbook generated from the plan: \(plan.systems.count) systems in recovery order with copies, commands, checks and owners",
       "offsite repositories: \(offsiteRepos.joined(separator: ", "))", "immutable repositories: \(immutableRepos.joined(separator: ", "))"],
      critical.filter { s in !criticalProtected.contains { $0.name == s.name } }.map { "\($0.name): no offsite immutable copy" })
    add("hipaa", "164.308(a)(7)(ii)(C)", "Emergency mode operation plan", runbookRuns.isEmpty ? .partial : .met,
      ["clean restore point selection after ransomware (restore --clean)",
       runbookRuns.last.map { "runbook executed as a drill \(df.string(from: $0.time))" }],
      runbookRuns.isEmpty ? ["execute the runbook as a drill (`lifeboat runbook run --drill`)"] : [])
    add("hipaa", "164.308(a)(7)(ii)(D)", "Testing and revision procedures", share(drilledOK.count, statuses.count),
      ["\(drills.count) restore drills recorded, \(passedDrills.count) passed", lastDrill],
      notDrilled.map { "\($0): no recent passing restore drill" })
    add("hipaa", "164.308(a)(7)(ii)(E)", "Applications and data criticality analysis", plan.systems.isEmpty ? .gap : .met,
      ["every system has a tier, RPO and RTO in the plan: "
        + Tier.allCases.map { t in "\(plan.systems.filter { $0.tier.value == t }.count) \(t.rawValue)" }.joined(separator: ", ")],
      [])
    add("hipaa", "164.312(a)(2)(iv)", "Encryption and decryption", .met,
      ["every repository object is encrypted and authenticated with AES-256-GCM (one-time keys, docs/design.md §3)"], [])
    add("hipaa", "164.312(b)", "Audit controls", audit.isIntact && audit.events > 0 ? .met : .gap,
      [chain], audit.isIntact ? [] : audit.problems)
    add("hipaa", "164.312(c)", "Integrity", passedDrills.isEmpty ? .partial : .met,
      ["content-addressed, authenticated storage: every blob checked on restore",
       lastDrill.map { "\($0): every restored byte and file's metadata verified against the snapshot" }],
      passedDrills.isEmpty ? ["run restore drills to prove integrity end to end"] : [])

    // NIST SP 800-171 r2.
    add("nist-800-171", "3.8.9", "Protect the confidentiality of backup CUI at storage locations",
      immutableRepos.isEmpty ? .partial : .met,
      ["backups encrypted with AES-256-GCM before they leave the host", "immutable copies: \(immutableRepos.joined(separator: ", "))"],
      immutableRepos.isEmpty ? ["no immutable copy (S3 Object Lock)"] : [])
    add("nist-800-171", "3.6.1", "Operational incident-handling capability",
      backups.isEmpty || drills.isEmpty ? .partial : .met,
      ["ransomware signals evaluated on every backup; \(suspicious.count) suspicious events", "runbook and clean restore point"],
      drills.isEmpty ? ["no restore drill recorded"] : [])
    add("nist-800-171", "3.6.2", "Track, document and report incidents", audit.isIntact ? .met : .gap,
      ["suspicious backups, failures and destructive actions recorded in the \(chain)"], [])
    add("nist-800-171", "3.6.3", "Test the incident response capability",
      runbookRuns.isEmpty ? (passedDrills.isEmpty ? .gap : .partial) : .met,
      [runbookRuns.last.map { "runbook drill \(df.string(from: $0.time))" }, lastDrill],
      runbookRuns.isEmpty ? ["execute the runbook as a drill"] : [])
    add("nist-800-171", "3.3.1", "Create and retain system audit logs", audit.events > 0 && audit.isIntact ? .met : .gap,
      [chain], [])
    let anonymous = events.filter { $0.actor.isEmpty }.count
    add("nist-800-171", "3.3.2", "Trace actions to individual users", anonymous == 0 && !events.isEmpty ? .met : .partial,
      ["every audit event names its actor (user@host or agent@host)"], anonymous > 0 ? ["\(anonymous) events without actor"] : [])
    add("nist-800-171", "3.13.11", "FIPS-validated cryptography", .partial,
      ["AES-256-GCM, SHA-256, HMAC and PBKDF2-HMAC-SHA256 (`init --kdf pbkdf2`) are FIPS-approved algorithms"],
      ["the validation status of the cryptographic module depends on the platform build; confirm it for the deployment"])
    add("nist-800-171", "3.13.16", "Protect the confidentiality of CUI at rest", .met,
      ["repository data at rest is encrypted; passwords never stored, only wrapped keys"], [])

    // E-Rate Cybersecurity Pilot reporting.
    add("erate", "pilot-backups", "Backups of critical systems, offsite", critical.isEmpty ? .partial : share(criticalProtected.count, critical.count),
      ["\(critical.count) critical systems; offsite: \(offsiteRepos.joined(separator: ", "))"], [])
    add("erate", "pilot-immutable", "Immutable, isolated backup copies", immutableRepos.isEmpty ? .gap : .met,
      ["S3 Object Lock repositories: \(immutableRepos.joined(separator: ", "))"], immutableRepos.isEmpty ? ["add an immutable copy"] : [])
    add("erate", "pilot-recovery-tests", "Recovery testing", share(drilledOK.count, statuses.count),
      ["\(passedDrills.count) passed drills", lastDrill], notDrilled.map { "\($0): not drilled recently" })
    add("erate", "pilot-incidents", "Incident detection and reporting", .met,
      ["ransomware signals on every backup; \(suspicious.count) suspicious snapshots recorded"], [])

    let wanted = plan.frameworks.isEmpty ? ["hipaa", "nist-800-171", "erate"] : plan.frameworks.map { $0 == "cmmc" ? "nist-800-171" : $0 }
    return ComplianceReport(
      organization: plan.organization, generated: now, frameworks: wanted,
      controls: c.filter { wanted.contains($0.framework) }, auditChain: audit)
  }

  public var html: String {
    let names = ["hipaa": "HIPAA Security Rule", "nist-800-171": "NIST SP 800-171 r2 / CMMC Level 2", "erate": "E-Rate Cybersecurity Pilot"]
    var body = "<header><h1>Control evidence — \(HTML.escape(organization))</h1><p class=\"sub\">Generated \(ISO8601DateFormatter().string(from: generated)). \(HTML.escape(disclaimer))</p></header>"
    for fw in frameworks {
      let cs = controls.filter { $0.framework == fw }
      let met = cs.filter { $0.status == .met }.count
      body += "<section id=\"\(fw)\"><h2>\(HTML.escape(names[fw] ?? fw)) — \(met) of \(cs.count) supported</h2><table><colgroup><col style=\"width:18%\"><col style=\"width:10%\"><col style=\"width:46%\"><col style=\"width:26%\"></colgroup>"
      body += "<tr><th>Control</th><th>Status</th><th>Evidence</th><th>Missing</th></tr>"
      for ctl in cs {
        let light = ctl.status.light
        body += "<tr><td><b>\(HTML.escape(ctl.id))</b><br><span class=\"small muted\">\(HTML.escape(ctl.title))</span></td>"
        body += "<td>\(HTML.light(light))\(ctl.status.rawValue)</td>"
        body += "<td>" + ctl.evidence.map(HTML.escape).joined(separator: "<br>") + "</td>"
        body += "<td>" + (ctl.missing.isEmpty ? "—" : ctl.missing.map(HTML.escape).joined(separator: "<br>")) + "</td></tr>"
      }
      body += "</table></section>"
    }
    body += "<footer>Audit chain: \(auditChain.events) events, \(auditChain.isIntact ? "intact" : "BROKEN"), head \(auditChain.head).</footer>"
    return HTML.page(title: "Control evidence — \(organization)", body: body)
  }
}
