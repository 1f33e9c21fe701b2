// Reading a plan from YAML: every problem with its line and column and what to write
// instead; tier defaults filled in with their origin.

import Foundation
import enum LifeboatCore.Spelling
import enum LifeboatCore.CompressionMode
import LifeboatPolicy
import Yams

public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
  public enum Severity: String, Sendable { case error, warning }
  public var severity: Severity
  public var file: String
  public var line: Int
  public var column: Int
  public var message: String
  public var hint: String?

  public var description: String {
    "\(file):\(line):\(column): \(severity.rawValue): \(message)" + (hint.map { "\n  hint: \($0)" } ?? "")
  }
}

public struct PlanLoadResult: Sendable {
  /// The plan, when there is no error (warnings allowed).
  public var plan: Plan?
  public var diagnostics: [Diagnostic]
  public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
  public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

public enum PlanLoader {
  static let frameworks = ["hipaa", "nist-800-171", "cmmc", "erate"]

  public static func load(file: String) -> PlanLoadResult {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      return PlanLoadResult(
        plan: nil,
        diagnostics: [
          Diagnostic(
            severity: .error, file: file, line: 0, column: 0, message: "cannot read the plan file",
            hint: "check the path and permissions")
        ])
    }
    return parse(text, file: file)
  }

  public static func parse(_ text: String, file: String) -> PlanLoadResult {
    var reader = Reader(file: file)
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch let e as YamlError {
      reader.yamlError(e)
      return PlanLoadResult(plan: nil, diagnostics: reader.diagnostics)
    } catch {
      reader.error(nil, "the plan is not valid YAML: \(error)")
      return PlanLoadResult(plan: nil, diagnostics: reader.diagnostics)
    }
    guard let root, root.mapping != nil else {
      reader.error(root, "the plan must be a mapping with organization, repositories and systems")
      return PlanLoadResult(plan: nil, diagnostics: reader.diagnostics)
    }
    let plan = reader.plan(root, text: text)
    let sorted = reader.diagnostics.enumerated().sorted {
      ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset)
    }.map(\.element)
    return PlanLoadResult(plan: reader.hasErrors ? nil : plan, diagnostics: sorted)
  }
}

/// Walks the YAML tree, collecting diagnostics.
struct Reader {
  let file: String
  var diagnostics: [Diagnostic] = []
  var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

  init(file: String) { self.file = file }

  mutating func add(_ severity: Diagnostic.Severity, _ node: Node?, _ message: String, hint: String?) {
    diagnostics.append(
      Diagnostic(
        severity: severity, file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1,
        message: message, hint: hint))
  }
  mutating func error(_ node: Node?, _ message: String, hint: String? = nil) { add(.error, node, message, hint: hint) }
  mutating func warning(_ node: Node?, _ message: String, hint: String? = nil) { add(.warning, node, message, hint: hint) }

  mutating func yamlError(_ e: YamlError) {
    var line = 1
    var column = 1
    var message = "\(e)"
    switch e {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      line = mark.line
      column = mark.column
      message = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
    default: break
    }
    diagnostics.append(
      Diagnostic(
        severity: .error, file: file, line: line, column: column, message: "not valid YAML: \(message)",
        hint: "check the indentation and quoting at this line"))
  }

  /// The mapping's entries by key, reporting unknown keys with the closest known one.
  mutating func entries(_ node: Node, known: [String], what: String) -> [String: (key: Node, value: Node)] {
    var out: [String: (key: Node, value: Node)] = [:]
    guard let mapping = node.mapping else {
      error(node, "\(what) must be a mapping (key: value lines)")
      return out
    }
    for (k, v) in mapping {
      guard let name = k.string else {
        error(k, "keys must be plain words")
        continue
      }
      if !known.contains(name) {
        let suggestion = Spelling.closest(name, in: known)
        error(
          k, "unknown key '\(name)' in \(what)",
          hint: (suggestion.map { "did you mean '\($0)'? " } ?? "") + "known keys: \(known.joined(separator: ", "))")
        continue
      }
      if out[name] != nil { error(k, "'\(name)' is given twice in \(what)") }
      out[name] = (k, v)
    }
    return out
  }

  mutating func string(_ node: Node, _ what: String) -> String? {
    guard node.scalar != nil, let s = node.string, !s.isEmpty else {
      error(node, "\(what) must be a text value")
      return nil
    }
    return s
  }

  mutating func strings(_ node: Node, _ what: String) -> [String] {
    if node.scalar != nil, let s = node.string { return [s] }
    guard let seq = node.sequence else {
      error(node, "\(what) must be a list, e.g. [a, b]")
      return []
    }
    return seq.compactMap { string($0, "an entry of \(what)") }
  }

  mutating func duration(_ node: Node, _ what: String) -> TimeInterval? {
    guard let s = node.string, let d = DurationText.parse(s), d > 0 else {
      error(node, "\(what) must be a duration such as 15m, 4h, 7d or 1y", hint: "units: s, m, h, d, w, mo, y")
      return nil
    }
    return d
  }

  mutating func number(_ node: Node, _ what: String) -> Double? {
    guard let d = node.float ?? node.int.map(Double.init), d >= 0 else {
      error(node, "\(what) must be a non-negative number")
      return nil
    }
    return d
  }

  /// Drill checks: a string is a script; a mapping is `{script: CMD, timeout: D}` or
  /// `{http: URL, expect: STATUS, timeout: D}`.
  mutating func checks(_ node: Node) -> [DrillCheck] {
    guard let seq = node.sequence else {
      error(node, "checks must be a list of commands or { http: URL } entries")
      return []
    }
    var out: [DrillCheck] = []
    for item in seq {
      if item.scalar != nil, let s = string(item, "a check") {
        out.append(.script(s, timeout: nil))
        continue
      }
      let e = entries(item, known: PlanKeys.check, what: "a check")
      let timeout = e["timeout"].flatMap { duration($0.value, "timeout") }
      if let s = e["script"], let c = string(s.value, "script") {
        out.append(.script(c, timeout: timeout))
      } else if let h = e["http"], let url = string(h.value, "http") {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
          error(h.value, "an http check needs an http:// or https:// URL")
          continue
        }
        let expect = e["expect"].flatMap { $0.value.int } ?? 200
        out.append(.http(url, expect: expect, timeout: timeout))
      } else if item.mapping != nil {
        error(item, "a check needs `script:` or `http:`")
      }
    }
    return out
  }

  mutating func schedule(_ node: Node) -> Schedule? {
    guard let s = node.string, let schedule = Schedule(parsing: s) else {
      error(
        node, "schedule '\(node.string ?? "")' is not understood",
        hint: "write every 1h, every 15m, hourly, daily at 01:30 or weekly on sun at 02:00")
      return nil
    }
    return schedule
  }

  mutating func retention(_ node: Node) -> RetentionPolicy? {
    let e = entries(node, known: PlanKeys.retention, what: "retention")
    var p = RetentionPolicy()
    func count(_ key: String) -> Int? {
      guard let v = e[key]?.value else { return nil }
      guard let n = v.int, n >= 0 else {
        diagnostics.append(
          Diagnostic(severity: .error, file: file, line: v.mark?.line ?? 1, column: v.mark?.column ?? 1,
            message: "retention \(key) must be a whole number of snapshots", hint: nil))
        return nil
      }
      return n
    }
    p.keepLast = count("last")
    p.keepHourly = count("hourly")
    p.keepDaily = count("daily")
    p.keepWeekly = count("weekly")
    p.keepMonthly = count("monthly")
    p.keepYearly = count("yearly")
    if let w = e["within"] { p.keepWithin = duration(w.value, "retention within") }
    if let t = e["tags"] { p.keepTags = strings(t.value, "retention tags") }
    if p.isEmpty {
      error(node, "retention keeps nothing", hint: "give at least one of last, hourly, daily, weekly, monthly, yearly, within")
      return nil
    }
    return p
  }

  // MARK: - The plan

  mutating func plan(_ root: Node, text: String) -> Plan {
    let top = entries(
      root,
      known: PlanKeys.plan,
      what: "the plan")
    var organization = ""
    if let o = top["organization"] { organization = string(o.value, "organization") ?? "" } else {
      error(root, "the plan names no organization", hint: "add `organization: Your Organization` at the top")
    }
    var frameworks: [String] = []
    if let f = top["frameworks"] {
      frameworks = strings(f.value, "frameworks")
      for (i, name) in frameworks.enumerated() where !PlanLoader.frameworks.contains(name) {
        error(f.value.sequence.map { $0[i] } ?? f.value, "unknown framework '\(name)'",
          hint: "known: \(PlanLoader.frameworks.joined(separator: ", "))")
      }
    }
    let cost = top["downtime_cost_per_hour"].flatMap { number($0.value, "downtime_cost_per_hour") } ?? 0
    let costLine = top["downtime_cost_per_hour"]?.key.mark?.line
    let planDir = URL(fileURLWithPath: file).deletingLastPathComponent().path
    var catalog = planDir + "/" + URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent + ".catalog.sqlite"
    if let c = top["catalog"], let s = string(c.value, "catalog") {
      catalog = s.hasPrefix("/") ? s : planDir + "/" + s
    }

    var repositories: [String: RepositoryTarget] = [:]
    var declared = 0
    if let r = top["repositories"] {
      if let mapping = r.value.mapping {
        declared = mapping.count
        for (k, v) in mapping {
          guard let name = k.string else { continue }
          if let target = repository(name, v) { repositories[name] = target }
        }
      } else {
        error(r.value, "repositories must map names to { url, password }")
      }
    }
    if declared == 0 {
      error(top["repositories"]?.value ?? root, "the plan defines no repository",
        hint: "add repositories: { onsite: { url: /srv/lifeboat, password: \"file:/etc/lifeboat/pass\" } }")
    }

    var tierDefaults: [Tier: (TierDefaults, [String: Int])] = [:]
    for t in Tier.allCases { tierDefaults[t] = (TierDefaults.builtIn(t), [:]) }
    if let tiers = top["tiers"] {
      for (name, entry) in entries(tiers.value, known: Tier.allCases.map(\.rawValue), what: "tiers") {
        let tier = Tier(rawValue: name)!
        var (d, lines) = tierDefaults[tier]!
        let e = entries(entry.value, known: PlanKeys.tier, what: "tier \(name)")
        if let v = e["rpo"], let x = duration(v.value, "rpo") { d.rpo = x; lines["rpo"] = v.key.mark?.line }
        if let v = e["rto"], let x = duration(v.value, "rto") { d.rto = x; lines["rto"] = v.key.mark?.line }
        if let v = e["schedule"], let x = schedule(v.value) { d.schedule = x; lines["schedule"] = v.key.mark?.line }
        if let v = e["retention"], let x = retention(v.value) { d.retention = x; lines["retention"] = v.key.mark?.line }
        if let v = e["drill_every"], let x = duration(v.value, "drill_every") { d.drillEvery = x; lines["drill"] = v.key.mark?.line }
        if let v = e["compression"], let x = compression(v.value) { d.compression = x; lines["compression"] = v.key.mark?.line }
        tierDefaults[tier] = (d, lines)
      }
    }

    var systems: [ProtectedSystem] = []
    if let s = top["systems"], let seq = s.value.sequence {
      for node in seq {
        if let sys = system(node, repositories: repositories, tiers: tierDefaults, defaultCost: cost, costLine: costLine) {
          if systems.contains(where: { $0.name == sys.name || $0.snapshotSystem == sys.snapshotSystem }) {
            error(node, "two systems are named '\(sys.name)'", hint: "system names must be unique")
          }
          systems.append(sys)
        }
      }
      // Dependencies and drill repositories name things that exist.
      for sys in systems {
        for d in sys.dependsOn where !systems.contains(where: { $0.name == d }) {
          diagnostics.append(Diagnostic(severity: .error, file: file, line: sys.line, column: 1,
            message: "system '\(sys.name)' depends on '\(d)', which the plan does not define", hint: nil))
        }
      }
    } else {
      error(top["systems"]?.value ?? root, "the plan lists no systems", hint: "add systems: with at least one - name: …")
    }

    var server: ServerLink?
    if let sv = top["server"] {
      let e = entries(sv.value, known: PlanKeys.server, what: "server")
      let url = e["url"].flatMap { string($0.value, "server url") }
      let tenant = e["tenant"].flatMap { string($0.value, "server tenant") }
      let tokenText = e["token"].flatMap { string($0.value, "server token") }
      if url == nil || tenant == nil || tokenText == nil {
        error(sv.value, "server needs url, tenant and token", hint: "server: { url: https://backup.provider.net:8443, tenant: your-id, token: \"file:/etc/lifeboat/server-token\" }")
      } else if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
        error(e["url"]!.value, "the server url must start with https:// (or http:// on a trusted network)")
      } else if let tokenText, SecretReference(tokenText) == nil {
        error(e["token"]!.value, "the server token must be a reference (env:NAME or file:/path), never the token itself")
      } else if let url, let tenant, let tokenText, let ref = SecretReference(tokenText) {
        server = ServerLink(url: url, tenant: tenant, token: ref)
      }
    }

    // A repository on a Lifeboat server signs in with its own token, else the plan's server's —
    // only when it is on that same server: a token is never sent to another host.
    func origin(_ url: String) -> String? {
      guard let u = URL(string: url), let scheme = u.scheme, let host = u.host else { return nil }
      return "\(scheme)://\(host.lowercased()):\(u.port ?? (scheme == "https" ? 443 : 80))"
    }
    for (name, r) in repositories where r.url.hasPrefix("rest:") && r.token == nil {
      if let server, let mine = origin(String(r.url.dropFirst("rest:".count))), mine == origin(server.url) {
        repositories[name]?.token = server.token
      } else if let server {
        diagnostics.append(Diagnostic(severity: .warning, file: file, line: r.line, column: 1,
          message: "repository \(name) is on another server than server: (\(server.url)), so it does not get server.token",
          hint: "give it its own token: reference; until then LIFEBOAT_SERVER_TOKEN[_FILE] must be set where the plan runs"))
      } else {
        diagnostics.append(Diagnostic(severity: .warning, file: file, line: r.line, column: 1,
          message: "repository \(name) is on a Lifeboat server but names no token",
          hint: "add token: \"file:/etc/lifeboat/server-token\" to it (or server: with a token); until then LIFEBOAT_SERVER_TOKEN[_FILE] must be set where the plan runs"))
      }
    }

    var risk = RiskAssumptions()
    if let a = top["assessment"] {
      let e = entries(a.value, known: PlanKeys.assessment, what: "assessment")
      for (key, entry) in e {
        guard let v = number(entry.value, key) else { continue }
        let isShare = key == "untested_restore_failure"
        if v < 0 || (isShare && v > 1) {
          error(entry.value, "\(key) must be \(isShare ? "between 0 and 1" : "zero or more")")
        } else {
          risk.set(key, v, line: entry.key.mark?.line ?? 1)
        }
      }
    }

    var kit: [String: String] = [:]
    if let k = top["recovery_kit"] {
      for (key, entry) in entries(k.value, known: PlanKeys.recoveryKit, what: "recovery_kit") {
        if let text = string(entry.value, key) { kit[key] = text }
      }
    }

    var plan = Plan(
      file: file, organization: organization, frameworks: frameworks, downtimeCostPerHour: cost,
      catalog: catalog, repositories: repositories, systems: systems)
    plan.server = server
    plan.risk = risk
    plan.recoveryKit = kit
    plan.alerts = alertSettings(top, server: server)
    return plan
  }

  mutating func repository(_ name: String, _ node: Node) -> RepositoryTarget? {
    let e = entries(node, known: PlanKeys.repository, what: "repository \(name)")
    guard let u = e["url"], let url = string(u.value, "url") else {
      error(node, "repository \(name) has no url", hint: "url: /srv/lifeboat or url: s3:https://host/bucket/prefix")
      return nil
    }
    guard let p = e["password"], let text = string(p.value, "password") else {
      error(node, "repository \(name) has no password reference",
        hint: "password: \"env:LIFEBOAT_\(name.uppercased())_PASSWORD\" or password: \"file:/etc/lifeboat/\(name).pass\"")
      return nil
    }
    guard let secret = SecretReference(text) else {
      error(p.value, "the password of repository \(name) is written inline",
        hint: "never put secrets in the plan: write env:NAME or file:/path")
      return nil
    }
    var days: Int?
    if let d = e["immutable_days"] {
      if let n = d.value.int, n > 0 { days = n } else { error(d.value, "immutable_days must be a whole number of days") }
    }
    var offsite = url.hasPrefix("s3:") || url.hasPrefix("rest:")
    if let o = e["offsite"] {
      if let b = o.value.bool { offsite = b } else { error(o.value, "offsite must be true or false") }
    }
    var token: SecretReference?
    if let t = e["token"], let text = string(t.value, "token") {
      if !url.hasPrefix("rest:") {
        error(t.value, "only a repository on a Lifeboat server (rest:) takes a token", hint: "remove token: from repository \(name)")
      } else if let ref = SecretReference(text) {
        token = ref
      } else {
        error(t.value, "the token of repository \(name) is written inline", hint: "never put secrets in the plan: write env:NAME or file:/path")
      }
    }
    var target = RepositoryTarget(
      name: name, url: url, password: secret, immutableDays: days, offsite: offsite, token: token,
      line: node.mark?.line ?? 1)
    if let v = e["verify_age"], let age = duration(v.value, "verify_age") {
      if age >= 86_400 { target.verifyAge = age } else { error(v.value, "verify_age must be a day or more (e.g. 30d)") }
    }
    return target
  }

  mutating func system(
    _ node: Node, repositories: [String: RepositoryTarget], tiers: [Tier: (TierDefaults, [String: Int])],
    defaultCost: Double, costLine: Int?
  ) -> ProtectedSystem? {
    let e = entries(
      node,
      known: PlanKeys.system,
      what: "a system")
    guard let n = e["name"], let name = string(n.value, "name") else {
      error(node, "a system has no name", hint: "add - name: Student Information System")
      return nil
    }
    let line = node.mark?.line ?? 1
    func here(_ key: String) -> Provenance { .plan(line: e[key]?.key.mark?.line ?? line) }

    var tier = Sourced(Tier.important, .builtIn)
    if let t = e["tier"] {
      if let s = t.value.string, let v = Tier(rawValue: s) { tier = Sourced(v, here("tier")) } else {
        error(t.value, "tier must be critical, important or archival")
      }
    }
    let (defaults, lines) = tiers[tier.value]!
    func fromTier(_ key: String) -> Provenance { .tier(tier.value.rawValue, line: lines[key]) }

    var rpo = Sourced(defaults.rpo, fromTier("rpo"))
    if let v = e["rpo"], let d = duration(v.value, "rpo") { rpo = Sourced(d, here("rpo")) }
    var rto = Sourced(defaults.rto, fromTier("rto"))
    if let v = e["rto"], let d = duration(v.value, "rto") { rto = Sourced(d, here("rto")) }
    var sched = Sourced(defaults.schedule, fromTier("schedule"))
    if let v = e["schedule"], let s = schedule(v.value) { sched = Sourced(s, here("schedule")) }
    var keep = Sourced(defaults.retention, fromTier("retention"))
    if let v = e["retention"], let r = retention(v.value) { keep = Sourced(r, here("retention")) }
    var cost = Sourced(defaultCost, costLine.map { Provenance.plan(line: $0) } ?? .builtIn)
    if let v = e["downtime_cost_per_hour"], let c = number(v.value, "downtime_cost_per_hour") {
      cost = Sourced(c, here("downtime_cost_per_hour"))
    }

    // RPO vs schedule: a schedule slower than the RPO cannot meet it.
    if sched.value.interval > rpo.value {
      let at = e["rpo"]?.value ?? e["schedule"]?.value ?? node
      error(
        at,
        "the RPO of \(name) (\(DurationText.format(rpo.value)), \(rpo.source)) is shorter than its schedule "
          + "'\(sched.value)' (\(sched.source)): backups would come too rarely to meet it",
        hint: "schedule every \(DurationText.format(rpo.value)) or more often, or raise rpo to \(DurationText.format(sched.value.interval))")
    }

    // By default every repository: local ones first (the first copy takes the backup), then
    // offsite ones (copied to; the last is where drills restore from).
    let allRepositories = repositories.values.sorted { ($0.offsite ? 1 : 0, $0.name) < ($1.offsite ? 1 : 0, $1.name) }.map(\.name)
    var copies = Sourced(allRepositories, Provenance.builtIn)
    if let c = e["copies"] {
      let names = strings(c.value, "copies")
      for (i, r) in names.enumerated() where repositories[r] == nil {
        error(
          c.value.sequence.map { $0[i] } ?? c.value, "copy '\(r)' of \(name) names no repository",
          hint: repositories.isEmpty ? "define it under repositories:" : "defined repositories: \(repositories.keys.sorted().joined(separator: ", "))")
      }
      if names.isEmpty { error(c.value, "\(name) lists no copies") }
      copies = Sourced(names, here("copies"))
    }
    if tier.value == .critical {
      let targets = copies.value.compactMap { repositories[$0] }
      if !targets.contains(where: \.offsite) {
        warning(
          e["copies"]?.value ?? node, "critical system \(name) has no offsite copy",
          hint: "add a copy on object storage or another site (3-2-1: one copy offsite)")
      }
      if !targets.contains(where: { $0.immutableDays != nil }) {
        warning(
          e["copies"]?.value ?? node, "critical system \(name) has no immutable copy",
          hint: "add a repository with immutable_days on an S3 bucket with Object Lock (3-2-1-1-0)")
      }
    }

    var sources: [Source] = []
    if let s = e["sources"], let seq = s.value.sequence {
      for src in seq {
        let se = entries(src, known: PlanKeys.source, what: "a source")
        let srcLine = src.mark?.line ?? line
        let kinds = se.keys.filter { PlanKeys.sourceKinds.contains($0) }.sorted()
        if kinds.count > 1 {
          error(src, "a source is one of \(PlanKeys.sourceKinds.joined(separator: ", ")), not \(kinds.joined(separator: " and "))")
          continue
        }
        if let engineName = kinds.first, let engine = DatabaseSource.Engine(rawValue: engineName), let d = se[engineName] {
          if let db = database(engine, d.value) { sources.append(Source(kind: .database(db), line: srcLine)) }
        } else if let d = se["smb"] {
          if let share = share(d.value) { sources.append(Source(kind: .smb(share), line: srcLine)) }
        } else if let p = se["path"], let path = string(p.value, "path") {
          if se["command"] != nil { error(src, "a source is either a path or a command, not both") }
          if !path.hasPrefix("/") { error(p.value, "source path \(path) must be absolute") }
          let ex = se["exclude"].map { strings($0.value, "exclude") } ?? []
          sources.append(Source(kind: .path(path, excludes: ex), line: srcLine))
        } else if let c = se["command"], let command = string(c.value, "command") {
          guard let a = se["as"], let file = string(a.value, "as"), !file.contains("/") else {
            error(src, "the command source needs `as: FILENAME` (no slashes): the name its output is stored under")
            continue
          }
          let timeout = se["timeout"].flatMap { duration($0.value, "timeout") }
          sources.append(Source(kind: .command(command, as: file, timeout: timeout), line: srcLine))
        } else if kinds.isEmpty {
          error(src, "a source needs one of \(PlanKeys.sourceKinds.joined(separator: ", "))")
        }
      }
    }
    if sources.isEmpty {
      error(e["sources"]?.value ?? node, "\(name) has no sources",
        hint: "add sources: [{ path: /srv/data }] or a command such as { command: \"pg_dump -Fc db\", as: db.dump }")
    }

    var hooks = Hooks()
    if let h = e["hooks"] {
      let he = entries(h.value, known: PlanKeys.hooks, what: "hooks")
      hooks.before = he["before"].flatMap { string($0.value, "before") }
      hooks.after = he["after"].flatMap { string($0.value, "after") }
      hooks.onFailure = he["on_failure"].flatMap { string($0.value, "on_failure") }
      hooks.onAlert = he["on_alert"].flatMap { string($0.value, "on_alert") }
    }

    var drill = Sourced(
      DrillSettings(every: defaults.drillEvery, repository: copies.value.last), fromTier("drill"))
    if let d = e["drill"] {
      let de = entries(d.value, known: PlanKeys.drill, what: "drill")
      var settings = drill.value
      if let v = de["every"], let x = duration(v.value, "drill every") { settings.every = x }
      if let v = de["checks"] { settings.checks = checks(v.value) }
      if let v = de["repository"], let r = string(v.value, "repository") {
        if repositories[r] == nil { error(v.value, "drill repository '\(r)' names no repository") }
        settings.repository = r
      }
      drill = Sourced(settings, here("drill"))
    }

    var system = ProtectedSystem(
      name: name, line: line, owner: e["owner"].flatMap { string($0.value, "owner") },
      contacts: e["contacts"].map { strings($0.value, "contacts") } ?? [], tier: tier, rpo: rpo, rto: rto,
      schedule: sched, retention: keep, copies: copies, drill: drill, downtimeCostPerHour: cost,
      sources: sources, hooks: hooks, dependsOn: e["depends_on"].map { strings($0.value, "depends_on") } ?? [])
    if let r = e["restore_to"], let path = string(r.value, "restore_to") {
      if path.hasPrefix("/") { system.restoreTo = path } else { error(r.value, "restore_to must be an absolute path") }
    }
    system.compression = Sourced(defaults.compression, defaults.compression == nil ? .builtIn : fromTier("compression"))
    if let v = e["compression"], let c = compression(v.value) { system.compression = Sourced(c, here("compression")) }
    return system
  }

  /// A compression mode: auto, off, fastest, default or max.
  mutating func compression(_ node: Node) -> CompressionMode? {
    guard let s = node.string, let mode = CompressionMode(name: s) else {
      error(node, "compression must be one of \(CompressionMode.names)",
        hint: "auto (zstd 3, chunks that will not compress stored raw) suits most data; max spends more CPU for smaller archives")
      return nil
    }
    return mode
  }
}

/// Every key a plan may use, by where it appears: the loader accepts exactly these, and the
/// example plan (docs/examples/plan.yaml) shows each of them (PlanTests checks it).
public enum PlanKeys {
  public static let plan = [
    "organization", "frameworks", "downtime_cost_per_hour", "catalog", "repositories", "tiers", "systems", "server",
    "assessment", "recovery_kit", "alerts", "smtp", "alert_policy",
  ]
  public static let assessment = RiskAssumptions.keys
  /// What a recovery needs from outside the servers, with the words the runbook uses.
  public static let recoveryKitItems = [
    ("plan", "the plan file"), ("passwords", "the repository passwords"), ("binary", "the lifeboat program"),
    ("runbook", "this runbook"),
  ]
  public static var recoveryKit: [String] { recoveryKitItems.map(\.0) }
  public static let repository = ["url", "password", "immutable_days", "offsite", "token", "verify_age"]
  public static let server = ["url", "tenant", "token"]
  public static let tier = ["rpo", "rto", "schedule", "retention", "drill_every", "compression"]
  public static let system = [
    "name", "owner", "contacts", "tier", "rpo", "rto", "sources", "schedule", "retention", "copies",
    "hooks", "drill", "downtime_cost_per_hour", "depends_on", "restore_to", "compression",
  ]
  public static let source = ["path", "exclude", "command", "as", "timeout", "postgres", "mariadb", "sqlite", "smb"]
  /// The key that says what a source is; each source has exactly one.
  public static let sourceKinds = ["path", "command", "postgres", "mariadb", "sqlite", "smb"]
  public static let share = ["url", "username", "password", "domain", "exclude", "timeout"]
  public static let database = ["url", "path", "password", "databases", "globals", "timeout"]
  public static let alert = ["email", "webhook", "format"]
  public static let smtp = ["host", "port", "from", "username", "password", "security", "ca_file"]
  public static let alertPolicy = ["remind_every", "digest", "dashboard"]
  public static let retention = ["last", "hourly", "daily", "weekly", "monthly", "yearly", "within", "tags"]
  public static let hooks = ["before", "after", "on_failure", "on_alert"]
  public static let drill = ["every", "checks", "repository"]
  public static let check = ["script", "http", "expect", "timeout"]

  public static var all: [String: [String]] {
    [
      "plan": plan, "repository": repository, "server": server, "tier": tier, "system": system, "source": source,
      "retention": retention, "hooks": hooks, "drill": drill, "check": check, "assessment": assessment,
      "recovery_kit": recoveryKit, "database": database, "share": share, "alert": alert, "smtp": smtp, "alert_policy": alertPolicy,
    ]
  }
}
