// The compliance pack: each control with its status (met / partial / gap), the evidence behind
// it and what is missing. Evidence supports a control; it does not certify compliance.

public import Foundation
public import LifeboatCatalog
import LifeboatCore
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

  /// What the report covers, said once at the top.
  public struct Scope: Sendable, Codable {
    public struct System: Sendable, Codable {
      public var name: String
      public var tier: String
      public var owner: String?
      /// What is backed up: paths and commands' outputs.
      public var data: [String]
      public var copies: [String]
    }
    public var systems: [System]
    public var frameworks: [String]
    public var statement: String
  }

  /// Of the jobs of a kind in the period, how many succeeded.
  public struct Rate: Sendable, Codable {
    public var kind: String
    public var system: String?
    public var succeeded: Int
    public var attempted: Int
    public var percent: Double?
  }

  /// A job an auditor can check against the repository: its catalog ID, the snapshot it made
  /// or restored, where, when.
  public struct Sample: Sendable, Codable {
    public var job: Int64?
    public var kind: String
    public var system: String
    public var repository: String?
    public var snapshot: String?
    public var time: Date
    public var outcome: String
  }

  public var organization: String
  public var generated: Date
  public var periodStart: Date
  public var periodEnd: Date
  public var lifeboatVersion = LifeboatVersion.number
  public var scope: Scope
  public var rates: [Rate]
  public var samples: [Sample]
  public var frameworks: [String]
  public var controls: [Control]
  public var auditChain: AuditVerification
  /// Who signs: left blank for the people who prepare and review the report.
  public var signOff = ["Prepared by", "Reviewed by", "Accepted by (assessor)"]
  public var disclaimer =
    "This report lists evidence that supports each control. It does not certify compliance; an assessor decides."

  /// What each framework is called in the report.
  static let frameworkNames = [
    "hipaa": "HIPAA Security Rule", "nist-800-171": "NIST SP 800-171 r2 / CMMC Level 2", "erate": "E-Rate Cybersecurity Pilot",
  ]

  /// The reporting period: the twelve months before `now` unless given.
  public static let defaultPeriod: TimeInterval = 365 * 86400

  public static func make(
    plan: Plan, history: [JobRecord], audit: AuditVerification, events: [AuditEvent], now: Date,
    since: Date? = nil
  ) -> ComplianceReport {
    let periodStart = since ?? now.addingTimeInterval(-defaultPeriod)
    // Controls judge today's posture on all the history; rates and samples cover the period.
    let inPeriod = history.filter { $0.started >= periodStart && $0.started <= now }
    // The systems' standing comes from the posture; this report decides only each control's status.
    let posture = Posture.judge(plan: plan, history: history, auditIntact: audit.isIntact, now: now)
    let statuses = zip(plan.systems, posture.systems).map { ($0, $1) }
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
    let lastBackup = backups.map(\.started).max().map { "last successful backup \(HTML.dateTime($0))" }
    let lastDrill = passedDrills.map(\.started).max().map { "last passed drill \(HTML.dateTime($0))" }

    func share(_ n: Int, _ total: Int) -> Status { total == 0 || n == 0 ? .gap : n == total ? .met : .partial }
    func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }
    var c: [Control] = []
    func add(_ fw: String, _ id: String, _ title: String, _ status: Status, _ evidence: [String?], _ missing: [String]) {
      let shown = evidence.compactMap { $0 }.filter { !$0.isEmpty }
      // A control never shows empty evidence, and is never short of "met" without saying what
      // is missing.
      c.append(
        Control(
          framework: fw, id: id, title: title, status: shown.isEmpty && status == .met ? .gap : status,
          evidence: shown.isEmpty ? ["none"] : shown,
          missing: status != .met && missing.isEmpty ? ["evidence of \(title.lowercased())"] : missing))
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
       "offsite repositories: \(list(offsiteRepos))", "immutable repositories: \(list(immutableRepos))"],
      critical.filter { s in !criticalProtected.contains { $0.name == s.name } }.map { "\($0.name): no offsite immutable copy" })
    add("hipaa", "164.308(a)(7)(ii)(C)", "Emergency mode operation plan", runbookRuns.isEmpty ? .partial : .met,
      ["clean restore point selection after ransomware (restore --clean)",
       runbookRuns.last.map { "runbook executed as a drill \(HTML.dateTime($0.time))" }],
      runbookRuns.isEmpty ? ["execute the runbook as a drill (`lifeboat runbook run --drill`)"] : [])
    add("hipaa", "164.308(a)(7)(ii)(D)", "Testing and revision procedures", share(drilledOK.count, statuses.count),
      ["\(drills.count) restore drills recorded, \(passedDrills.count) passed", lastDrill],
      notDrilled.map { "\($0): no recent passing restore drill" })
    add("hipaa", "164.308(a)(7)(ii)(E)", "Applications and data criticality analysis", plan.systems.isEmpty ? .gap : .met,
      ["every system has a tier, RPO and RTO in the plan: "
        + Tier.allCases.map { t in "\(plan.systems.filter { $0.tier.value == t }.count) \(t.rawValue)" }.joined(separator: ", ")],
      [])
    add("hipaa", "164.312(a)(2)(iv)", "Encryption and decryption", .met,
      ["every repository object is encrypted and authenticated with AES-256-GCM under a one-time key before it is stored"], [])
    add("hipaa", "164.312(b)", "Audit controls", audit.isIntact && audit.events > 0 ? .met : .gap,
      [chain], audit.isIntact ? (audit.events == 0 ? ["no audit events recorded yet"] : []) : audit.problems)
    add("hipaa", "164.312(c)", "Integrity", passedDrills.isEmpty ? .partial : .met,
      ["content-addressed, authenticated storage: every blob checked on restore",
       lastDrill.map { "\($0): every restored byte and file's metadata verified against the snapshot" }],
      passedDrills.isEmpty ? ["run restore drills to prove integrity end to end"] : [])

    // NIST SP 800-171 r2.
    add("nist-800-171", "3.8.9", "Protect the confidentiality of backup CUI at storage locations",
      immutableRepos.isEmpty ? .partial : .met,
      ["backups encrypted with AES-256-GCM before they leave the host", "immutable copies: \(list(immutableRepos))"],
      immutableRepos.isEmpty ? ["no immutable copy (S3 Object Lock)"] : [])
    add("nist-800-171", "3.6.1", "Operational incident-handling capability",
      backups.isEmpty || drills.isEmpty ? .partial : .met,
      ["ransomware signals evaluated on every backup; \(suspicious.count) suspicious events", "runbook and clean restore point"],
      (backups.isEmpty ? ["no successful backup recorded"] : []) + (drills.isEmpty ? ["no restore drill recorded"] : []))
    add("nist-800-171", "3.6.2", "Track, document and report incidents", audit.isIntact ? .met : .gap,
      ["suspicious backups, failures and destructive actions recorded in the \(chain)"], audit.isIntact ? [] : audit.problems)
    add("nist-800-171", "3.6.3", "Test the incident response capability",
      runbookRuns.isEmpty ? (passedDrills.isEmpty ? .gap : .partial) : .met,
      [runbookRuns.last.map { "runbook drill \(HTML.dateTime($0.time))" }, lastDrill],
      runbookRuns.isEmpty ? ["execute the runbook as a drill"] : [])
    add("nist-800-171", "3.3.1", "Create and retain system audit logs", audit.events > 0 && audit.isIntact ? .met : .gap,
      [chain], audit.events == 0 ? ["no audit events recorded yet"] : audit.isIntact ? [] : audit.problems)
    let anonymous = events.filter { $0.actor.isEmpty }.count
    add("nist-800-171", "3.3.2", "Trace actions to individual users", anonymous == 0 && !events.isEmpty ? .met : .partial,
      ["every audit event names its actor (user@host or agent@host)"],
      anonymous > 0 ? ["\(anonymous) events without actor"] : events.isEmpty ? ["no audit events recorded yet"] : [])
    add("nist-800-171", "3.13.11", "FIPS-validated cryptography", .partial,
      ["AES-256-GCM, SHA-256, HMAC and PBKDF2-HMAC-SHA256 (`init --kdf pbkdf2`) are FIPS-approved algorithms"],
      ["the validation status of the cryptographic module depends on the platform build; confirm it for the deployment"])
    add("nist-800-171", "3.13.16", "Protect the confidentiality of CUI at rest", .met,
      ["repository data at rest is encrypted; passwords never stored, only wrapped keys"], [])

    // E-Rate Cybersecurity Pilot reporting.
    add("erate", "pilot-backups", "Backups of critical systems, offsite", critical.isEmpty ? .partial : share(criticalProtected.count, critical.count),
      ["\(critical.count) critical systems; offsite: \(list(offsiteRepos))"],
      critical.isEmpty
        ? ["no system is marked critical in the plan"]
        : critical.filter { s in !criticalProtected.contains { $0.name == s.name } }.map { "\($0.name): no offsite immutable copy" })
    add("erate", "pilot-immutable", "Immutable, isolated backup copies", immutableRepos.isEmpty ? .gap : .met,
      ["S3 Object Lock repositories: \(list(immutableRepos))"], immutableRepos.isEmpty ? ["add an immutable copy"] : [])
    add("erate", "pilot-recovery-tests", "Recovery testing", share(drilledOK.count, statuses.count),
      ["\(passedDrills.count) passed drills", lastDrill], notDrilled.map { "\($0): not drilled recently" })
    add("erate", "pilot-incidents", "Incident detection and reporting", .met,
      ["ransomware signals on every backup; \(suspicious.count) suspicious snapshots recorded"], [])

    let wanted = plan.frameworks.isEmpty ? ["hipaa", "nist-800-171", "erate"] : plan.frameworks.map { $0 == "cmmc" ? "nist-800-171" : $0 }
    let names = frameworkNames
    let scope = Scope(
      systems: plan.systems.map { s in
        Scope.System(
          name: s.name, tier: s.tier.value.rawValue, owner: s.owner,
          data: s.sources.map {
            switch $0.kind {
            case .path(let p, _): p
            case .command(let command, let name, _): "\(name) (the output of `\(command)`)"
            case .database(let d): "\(d.title) (dumped, every table counted, proven by each drill)"
            case .smb(let share): "\(share.title) (a file share, with its Windows access lists)"
            }
          }, copies: s.copies.value)
      }, frameworks: wanted.map { names[$0] ?? $0 },
      statement: "This report covers the \(Plural.count(plan.systems.count, "system")) of \(plan.organization)'s protection plan "
        + "(\(plan.file)), the data each backs up, and their copies, against "
        + wanted.map { names[$0] ?? $0 }.joined(separator: ", ")
        + ". Systems, data and sites outside the plan are outside its scope.")
    return ComplianceReport(
      organization: plan.organization, generated: now, periodStart: periodStart, periodEnd: now, scope: scope,
      rates: rates(inPeriod, systems: plan.systems.map(\.name)), samples: samples(inPeriod), frameworks: wanted,
      controls: c.filter { wanted.contains($0.framework) }, auditChain: audit)
  }

  /// Success rates of backups, copies and drills in the period, overall and per system.
  static func rates(_ jobs: [JobRecord], systems: [String]) -> [Rate] {
    var out: [Rate] = []
    for kind in ["backup", "copy", "drill"] {
      let all = jobs.filter { $0.kind == kind && $0.outcome != .running }
      func rate(_ js: [JobRecord], _ system: String?) -> Rate {
        let ok = js.filter { $0.outcome == .success || (kind == "backup" && $0.outcome == .partial) }.count
        return Rate(kind: kind, system: system, succeeded: ok, attempted: js.count,
          percent: js.isEmpty ? nil : (Double(ok) / Double(js.count) * 1000).rounded() / 10)
      }
      out.append(rate(all, nil))
      for s in systems { out.append(rate(all.filter { $0.system == s }, s)) }
    }
    return out
  }

  /// Up to three of the newest successful backups and copies of each system, and its newest
  /// drills: jobs an auditor can check (`lifeboat snapshots`, `lifeboat cat snapshot ID`).
  static func samples(_ jobs: [JobRecord]) -> [Sample] {
    var out: [Sample] = []
    let systems = Array(Set(jobs.map(\.system))).sorted()
    for s in systems {
      let mine = jobs.filter { $0.system == s }.sorted { $0.started > $1.started }
      let picked = mine.filter { ($0.kind == "backup" || $0.kind == "copy") && $0.succeeded && $0.snapshot != nil }.prefix(3)
        + mine.filter { $0.kind == "drill" && $0.outcome != .running }.prefix(2)
      out += picked.map {
        Sample(job: $0.id, kind: $0.kind, system: $0.system, repository: $0.repository, snapshot: $0.snapshot,
          time: $0.started, outcome: $0.verdict?.rawValue ?? $0.outcome.rawValue)
      }
    }
    return out
  }

  public var html: String {
    let names = Self.frameworkNames
    var body = "<header><h1>Control evidence — \(HTML.escape(organization))</h1><p class=\"sub\">Period \(HTML.date(periodStart)) to \(HTML.date(periodEnd)); generated \(HTML.date(generated)) by Lifeboat \(lifeboatVersion). \(HTML.escape(disclaimer))</p></header>"
    body += "<section id=\"scope\"><h2>Scope</h2><p>\(HTML.escape(scope.statement))</p><table><tr><th>System</th><th>Tier</th><th>Owner</th><th>Data</th><th>Copies</th></tr>"
    for s in scope.systems {
      body += "<tr><td>\(HTML.escape(s.name))</td><td>\(s.tier)</td><td>\(HTML.escape(s.owner ?? "not named"))</td><td>\(s.data.map(HTML.escape).joined(separator: "<br>"))</td><td>\(HTML.escape(s.copies.joined(separator: ", ")))</td></tr>"
    }
    body += "</table></section><section id=\"rates\"><h2>Success over the period</h2><table><tr><th>Jobs</th><th>System</th><th>Succeeded</th><th>Rate</th></tr>"
    for r in rates where r.attempted > 0 || r.system == nil {
      body += "<tr><td>\(r.kind)</td><td>\(HTML.escape(r.system ?? "all systems"))</td><td>\(r.succeeded) of \(r.attempted)</td><td>\(r.percent.map { "\($0) %" } ?? "no jobs")</td></tr>"
    }
    body += "</table></section><section id=\"samples\"><h2>Samples to test</h2><p class=\"small\">Each is a job in the catalog with the snapshot it made or restored in the named repository (`lifeboat snapshots`, `lifeboat cat snapshot ID`); retention removes old snapshots in time, so test the newest first.</p><table><tr><th>Job</th><th>System</th><th>Kind</th><th>Repository</th><th>Snapshot</th><th>When</th><th>Outcome</th></tr>"
    for s in samples {
      body += "<tr><td>\(s.job.map(String.init) ?? "—")</td><td>\(HTML.escape(s.system))</td><td>\(s.kind)</td><td>\(HTML.escape(s.repository ?? "—"))</td><td><code>\(s.snapshot.map { String($0.prefix(16)) } ?? "—")</code></td><td>\(HTML.date(s.time))</td><td>\(s.outcome)</td></tr>"
    }
    if samples.isEmpty { body += "<tr><td colspan=\"7\">No job in the period.</td></tr>" }
    body += "</table></section>"
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
    body += "<section id=\"signoff\"><h2>Sign-off</h2><table>"
    for role in signOff { body += "<tr><td style=\"width:30%\">\(HTML.escape(role))</td><td>Name, title:</td><td>Signature:</td><td>Date:</td></tr>" }
    body += "</table></section>"
    body += "<footer>Audit chain: \(auditChain.events) events, \(auditChain.isIntact ? "intact" : "BROKEN"), head \(auditChain.head).</footer>"
    return HTML.page(title: "Control evidence — \(organization)", body: body)
  }
}
