import Foundation
import LifeboatCore
import LifeboatPlan
import LifeboatPolicy
import Testing

@Suite struct PlanTests {
  static let example: String = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/examples/plan.yaml")
    return url.path
  }()

  func line(of needle: String, in text: String) -> Int {
    text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(needle) }! + 1
  }

  /// A new user writes a plan from the example: every key the loader accepts is shown there
  /// (as a setting or, for the optional ones, a commented line).
  @Test func theExampleShowsEveryKeyTheLoaderAccepts() throws {
    let text = try String(contentsOfFile: Self.example, encoding: .utf8)
    for (place, keys) in PlanKeys.all {
      for key in keys {
        let shown = text.contains("\(key):") || text.contains("\(key) :") || text.contains("{ \(key):")
        #expect(shown, "the example plan shows no \(place) key \(key)")
      }
    }
  }

  /// A `rest:` repository inherits the plan's server token only on that same server.
  @Test func theServerTokenGoesOnlyToItsServer() throws {
    let r = PlanLoader.parse("""
      organization: O
      server: { url: "https://backup.provider.net:8443", tenant: t, token: "file:/etc/lifeboat/server-token" }
      repositories:
        same: { url: "rest:https://BACKUP.provider.net:8443/t/files", password: "env:P" }
        other: { url: "rest:https://other.example/t/files", password: "env:P" }
        own: { url: "rest:https://other.example/t/docs", password: "env:P", token: "env:OTHER_TOKEN" }
      systems:
        - name: Files
          sources: [{ path: /srv/files }]
          copies: [same]
      """, file: "/tmp/plan.yaml")
    let plan = try #require(r.plan)
    #expect(plan.repositories["same"]?.token == .file("/etc/lifeboat/server-token"))
    #expect(plan.repositories["other"]?.token == nil, "never sent to another host")
    #expect(plan.repositories["own"]?.token == .environment("OTHER_TOKEN"))
    #expect(r.warnings.contains { $0.message.contains("repository other is on another server") })
  }

  /// A system's snapshots: by their `system` field, or by the host name older snapshots
  /// carried it in — never another system's, never an ad-hoc backup of the same host.
  @Test func aSystemOwnsItsSnapshotsOldAndNew() throws {
    let plan = try #require(PlanLoader.load(file: Self.example).plan)
    let sis = try #require(plan.system(named: "Student Information System"))
    func snapshot(host: String, system: String?, tags: [String] = ["plan"]) -> Snapshot {
      var s = Snapshot(time: Date(timeIntervalSince1970: 0), tree: ID(w0: 1, w1: 2, w2: 3, w3: 4), paths: ["/srv"], hostname: host, username: "root", tags: tags, programVersion: "t")
      s.system = system
      return s
    }
    #expect(sis.owns(snapshot(host: "sis-db-01", system: "student-information-system")))
    #expect(sis.owns(snapshot(host: "student-information-system", system: nil)), "a plan backup written before the field existed")
    #expect(!sis.owns(snapshot(host: "student-information-system", system: nil, tags: [])), "an ad-hoc backup of a host named like the system")
    #expect(!sis.owns(snapshot(host: "sis-db-01", system: nil)), "an ad-hoc backup of the same host")
    // Retention groups by system, not host: two systems on one host never share a group.
    let finance = snapshot(host: "sis-db-01", system: "finance")
    let mine = snapshot(host: "sis-db-01", system: "student-information-system")
    let old = snapshot(host: "student-information-system", system: nil)
    let byHost = RetentionGrouping(host: true, paths: false, tags: false)
    #expect(Retention.groupKey(finance, byHost) != Retention.groupKey(mine, byHost))
    #expect(Retention.groupKey(old, byHost) == Retention.groupKey(mine, byHost), "a system's old and new snapshots are one group")
    #expect(!sis.owns(snapshot(host: "student-information-system", system: "finance")))
  }

  @Test func theDocumentedExampleIsValidAndEveryValueKnowsItsOrigin() throws {
    let result = PlanLoader.load(file: Self.example)
    #expect(result.errors.isEmpty, "\(result.errors)")
    let plan = try #require(result.plan)
    let text = try String(contentsOfFile: Self.example, encoding: .utf8)
    #expect(plan.organization == "Riverside Unified School District")
    #expect(plan.frameworks == ["hipaa", "nist-800-171", "erate"])
    #expect(plan.catalog.hasSuffix("/docs/examples/riverside.catalog.sqlite"))
    #expect(plan.repositories["offsite"]?.offsite == true && plan.repositories["offsite"]?.immutableDays == 30)
    #expect(plan.repositories["onsite"]?.offsite == false)
    #expect(plan.repositories["offsite"]?.password == .environment("LIFEBOAT_OFFSITE_PASSWORD"))

    let sis = try #require(plan.system(named: "Student Information System"))
    #expect(sis.tier == Sourced(.critical, .plan(line: line(of: "tier: critical", in: text))))
    #expect(sis.rpo.value == 3600 && sis.rpo.source == .plan(line: line(of: "rpo: 1h", in: text)))
    #expect(sis.schedule == Sourced(.every(3600), .tier("critical", line: nil)), "not stated: the tier's default")
    #expect(sis.downtimeCostPerHour.value == 25000)
    #expect(sis.sources.count == 3)
    #expect(
      sis.sources[1].kind
        == .database(DatabaseSource(
          engine: .postgres, location: "postgres://backup@db1:5432/sis", password: .file("/etc/lifeboat/pg.pass"), timeout: 7200)))
    #expect(sis.sources[2].kind == .command("tar -C /srv/sis -cf - config", as: "sis-config.tar", timeout: 600))
    #expect(sis.drill.value.repository == "offsite" && sis.drill.value.checks.count == 2)
    #expect(sis.drill.value.checks.last == .script("test $(find {restored}/srv/sis/files -type f | wc -l) -gt 100", timeout: 300))
    #expect(sis.hooks.onAlert?.contains("looks attacked") == true)
    #expect(sis.snapshotSystem == "student-information-system")

    let finance = try #require(plan.system(named: "Finance"))
    #expect(finance.schedule == Sourced(.daily(hour: 1, minute: 0), .tier("important", line: nil)))
    #expect(finance.rpo.source == .tier("important", line: nil))
    #expect(finance.downtimeCostPerHour == Sourced(18000, .plan(line: line(of: "downtime_cost_per_hour: 18000", in: text))))
    #expect(finance.dependsOn == ["Student Information System"])

    let staff = try #require(plan.system(named: "Staff documents"))
    #expect(staff.copies.value == ["onsite", "offsite"] && staff.copies.source == .builtIn, "all repositories, local first")

    let archive = try #require(plan.system(named: "Archive"))
    #expect(archive.drill.value.every == 180 * 86400)
    #expect(archive.drill.source == .tier("archival", line: line(of: "drill_every: 180d", in: text)))
    #expect(result.warnings.isEmpty, "the critical system has an offsite, immutable copy: \(result.warnings)")
  }

  func check(_ yaml: String) -> PlanLoadResult { PlanLoader.parse(yaml, file: "plan.yaml") }

  static let base = """
    organization: Test
    repositories:
      local: { url: /srv/r, password: "env:P" }
    systems:

    """

  @Test func errorsNameTheLineTheColumnAndWhatToWrite() {
    let r = check(
      Self.base + """
        - name: Mail
          tier: critical
          shedule: every 1h
          sources: [{ path: /srv/mail }]
          copies: [local, offsite]
        """)
    let unknown = r.errors.first { $0.message.contains("shedule") }
    #expect(unknown?.line == 7 && unknown?.column == 3, "\(r.errors)")
    #expect(unknown?.hint?.contains("did you mean 'schedule'") == true)
    let copy = r.errors.first { $0.message.contains("offsite") }
    #expect(copy?.line == 9, "\(r.errors)")
    #expect(copy?.hint?.contains("local") == true)
    #expect(r.plan == nil)
    #expect(r.diagnostics.allSatisfy { "\($0)".hasPrefix("plan.yaml:") })
  }

  /// `compression:` per tier and per system (#23): the system's wins, then its tier's, else
  /// each repository's own mode; a value that is not a mode is an error at its line.
  @Test func compressionComesFromTheSystemItsTierOrTheRepository() throws {
    let r = check("""
      organization: Test
      repositories:
        local: { url: /srv/r, password: "env:P" }
      tiers:
        archival: { compression: max }
      systems:
        - name: Archive
          tier: archival
          sources: [{ path: /srv/archive }]
        - name: Media
          tier: archival
          compression: off
          sources: [{ path: /srv/media }]
        - name: Files
          sources: [{ path: /srv/files }]
      """)
    let plan = try #require(r.plan, "\(r.errors)")
    #expect(plan.system(named: "Archive")?.compression.value == .max)
    #expect("\(plan.system(named: "Archive")!.compression.source)" == "tier archival (plan line 5)")
    #expect(plan.system(named: "Media")?.compression.value == .off)
    #expect(plan.system(named: "Files")?.compression.value == nil)
    #expect(plan.system(named: "Files")?.compression.source == .builtIn)

    let bad = check(Self.base + """
      - name: Mail
        compression: zip
        sources: [{ path: /srv/mail }]
      """)
    let e = bad.errors.first { $0.message.contains("compression must be one of") }
    #expect(e?.line == 6, "\(bad.errors)")
    #expect(bad.plan == nil)
  }

  @Test func anRPOShorterThanTheScheduleIsAnError() {
    let r = check(
      Self.base + """
        - name: Mail
          rpo: 4h
          schedule: daily at 02:00
          sources: [{ path: /srv/mail }]
        """)
    let e = r.errors.first { $0.message.contains("shorter than its schedule") }
    #expect(e?.line == 6, "\(r.errors)")
    #expect(e?.hint?.contains("every 4h") == true)
  }

  @Test func secretsMustBeReferences() {
    let r = check(
      """
      organization: Test
      repositories:
        local: { url: /srv/r, password: hunter2 }
      systems:
        - name: Mail
          sources: [{ path: /srv/mail }]
      """)
    let e = r.errors.first { $0.message.contains("inline") }
    #expect(e?.line == 3, "\(r.errors)")
    #expect(!r.diagnostics.contains { "\($0)".contains("hunter2") }, "the secret is never echoed")
  }

  @Test func criticalSystemsWithoutOffsiteOrImmutableCopiesAreWarnedAbout() {
    let r = check(
      Self.base + """
        - name: SIS
          tier: critical
          sources: [{ path: /srv/sis }]
        """)
    #expect(r.errors.isEmpty, "\(r.errors)")
    #expect(r.plan != nil)
    #expect(r.warnings.contains { $0.message.contains("no offsite copy") })
    #expect(r.warnings.contains { $0.message.contains("no immutable copy") })
  }

  @Test func otherMistakes() {
    let r = check(
      """
      organization: Test
      frameworks: [hipaa, sox]
      repositories:
        local: { url: /srv/r, password: "env:P" }
      systems:
        - name: A
          sources: []
        - name: B
          sources: [{ path: relative/path }, { command: "pg_dump x" }]
          retention: { daily: many }
          schedule: sometimes
        - name: A
          sources: [{ path: /x }]
          depends_on: [Nobody]
      """)
    let messages = r.errors.map(\.message).joined(separator: "\n")
    #expect(messages.contains("unknown framework 'sox'"))
    #expect(messages.contains("A has no sources"))
    #expect(messages.contains("must be absolute"))
    #expect(messages.contains("needs `as: FILENAME`"))
    #expect(messages.contains("whole number"))
    #expect(messages.contains("'sometimes' is not understood"))
    #expect(messages.contains("two systems are named 'A'"))
    #expect(messages.contains("depends on 'Nobody'"))
    let yaml = check("organization: [unclosed\n")
    #expect(yaml.errors.first?.message.contains("not valid YAML") == true)
    #expect(yaml.errors.first?.line == 2 || yaml.errors.first?.line == 1)
  }

  @Test func schedulesParseAndPrint() {
    #expect(Schedule(parsing: "every 15m") == .every(900))
    #expect(Schedule(parsing: "hourly") == .every(3600))
    #expect(Schedule(parsing: "daily at 01:30") == .daily(hour: 1, minute: 30))
    #expect(Schedule(parsing: "weekly on sunday at 02:00") == .weekly(weekday: 1, hour: 2, minute: 0))
    #expect(Schedule(parsing: "daily at 25:00") == nil)
    #expect(Schedule(parsing: "every 0s") == nil)
    #expect(Schedule(parsing: "every 1h")?.description == "every 1h")
    #expect(Schedule.weekly(weekday: 1, hour: 2, minute: 0).description == "weekly on sun at 02:00")
  }

  @Test func whatIsDueIsAPureFunctionOfHistoryAndNow() throws {
    let utc = TimeZone(identifier: "UTC")!
    let t0 = try #require(ISO8601DateFormatter().date(from: "2026-03-02T10:15:00Z"))  // a Monday
    let hourly = Schedule.every(3600)
    #expect(hourly.isDue(lastRun: nil, now: t0, timeZone: utc), "never ran: due now")
    #expect(!hourly.isDue(lastRun: t0, now: t0.addingTimeInterval(3599), timeZone: utc))
    #expect(hourly.isDue(lastRun: t0, now: t0.addingTimeInterval(3600), timeZone: utc))

    let nightly = Schedule.daily(hour: 1, minute: 30)
    let next = nightly.nextDue(lastRun: t0, now: t0, timeZone: utc)
    #expect(ISO8601DateFormatter().string(from: next) == "2026-03-03T01:30:00Z")
    let ranAt = try #require(ISO8601DateFormatter().date(from: "2026-03-03T01:31:10Z"))
    #expect(ISO8601DateFormatter().string(from: nightly.nextDue(lastRun: ranAt, now: ranAt, timeZone: utc)) == "2026-03-04T01:30:00Z")
    // Missed slots (machine off for three days): due once, right away.
    #expect(nightly.isDue(lastRun: t0, now: t0.addingTimeInterval(3 * 86400), timeZone: utc))

    let weekly = Schedule.weekly(weekday: 1, hour: 2, minute: 0)
    #expect(ISO8601DateFormatter().string(from: weekly.nextDue(lastRun: t0, now: t0, timeZone: utc)) == "2026-03-08T02:00:00Z")
    // Local time: 01:30 in New York is 06:30 UTC in winter.
    let ny = TimeZone(identifier: "America/New_York")!
    #expect(ISO8601DateFormatter().string(from: nightly.nextDue(lastRun: t0, now: t0, timeZone: ny)) == "2026-03-03T06:30:00Z")
  }
}

/// The interface of #22, written exactly as the issue fixes it, and the mistakes plan check
/// names by line.
@Suite struct DatabaseAndAlertPlanTests {
  static let interface = """
    organization: District
    repositories:
      local: { url: /srv/r, password: "env:P" }
    systems:
      - name: SIS
        sources:
          - postgres: { url: "postgres://backup@db1:5432/sis", password: "file:/etc/lifeboat/pg.pass" }
          - mariadb:  { url: "mariadb://backup@db2:3306/finance", password: "env:FIN_DB_PASS" }
          - sqlite: /srv/app/app.db
          - smb: { url: "smb://fileserver/staff", username: "backup", password: "file:/etc/lifeboat/smb.pass" }
    alerts:
      - email: it-team@district.example
      - webhook: https://hooks.example.net/lifeboat       # format: json (default) | slack | teams
    smtp: { host: mail.district.example, port: 587, from: lifeboat@district.example, username: lifeboat, password: "env:SMTP_PASS" }
    """

  @Test func theFixedInterfaceLoadsAsWritten() throws {
    let result = PlanLoader.parse(Self.interface, file: "plan.yaml")
    let plan = try #require(result.plan, "\(result.diagnostics)")
    let kinds = plan.systems[0].sources.map(\.kind)
    guard case .database(let pg) = kinds[0], case .database(let my) = kinds[1], case .database(let lite) = kinds[2],
      case .smb(let share) = kinds[3]
    else {
      Issue.record("not three database sources and a share: \(kinds)")
      return
    }
    #expect(share.url == "smb://fileserver/staff" && share.username == "backup" && share.password == .file("/etc/lifeboat/smb.pass"))
    #expect(pg.engine == .postgres && pg.password == .file("/etc/lifeboat/pg.pass") && pg.globals)
    let c = try #require(try pg.connection())
    #expect(c.user == "backup" && c.host == "db1" && c.port == 5432 && c.database == "sis")
    #expect(my.engine == .mariadb && my.password == .environment("FIN_DB_PASS"))
    #expect(try my.connection()?.server == "db2:3306")
    #expect(lite.engine == .sqlite && lite.location == "/srv/app/app.db")
    #expect(plan.alerts.targets.map(\.kind) == [.email("it-team@district.example"), .webhook("https://hooks.example.net/lifeboat", format: .json)])
    let smtp = try #require(plan.alerts.smtp)
    #expect(smtp.host == "mail.district.example" && smtp.port == 587 && smtp.security == .starttls)
    #expect(smtp.username == "lifeboat" && smtp.password == .environment("SMTP_PASS"))
  }

  func errors(_ yaml: String) -> [Diagnostic] { PlanLoader.parse(yaml, file: "plan.yaml").errors }

  @Test func badTargetsAndInlineSecretsAreNamedByLine() {
    let badEmail = Self.interface.replacingOccurrences(of: "email: it-team@district.example", with: "email: it-team at district")
    #expect(errors(badEmail).map { "\($0.line): \($0.message)" } == ["12: 'it-team at district' is not an e-mail address"])
    let badHook = Self.interface.replacingOccurrences(of: "webhook: https://hooks.example.net/lifeboat", with: "webhook: hooks.example.net/x")
    #expect(errors(badHook).map { "\($0.line): \($0.message)" } == ["13: 'hooks.example.net/x' is not a webhook URL"])
    let badFormat = Self.interface.replacingOccurrences(
      of: "- webhook: https://hooks.example.net/lifeboat", with: "- { webhook: \"https://h.example/x\", format: discord }")
    #expect(errors(badFormat).first?.message == "unknown webhook format 'discord'")
    let inline = Self.interface.replacingOccurrences(of: "password: \"env:FIN_DB_PASS\"", with: "password: hunter2")
    #expect(errors(inline).map { "\($0.line): \($0.message)" } == ["8: the database password is written inline"])
    let inURL = Self.interface.replacingOccurrences(of: "postgres://backup@db1", with: "postgres://backup:hunter2@db1")
    #expect(errors(inURL).first?.message == "the PostgreSQL URL carries a password")
    let noSMTP = Self.interface.replacingOccurrences(of: "smtp: {", with: "# smtp: {")
    #expect(errors(noSMTP).map { "\($0.line): \($0.message)" } == ["12: e-mail alerts need a mail server"])
    let both = Self.interface.replacingOccurrences(of: "- sqlite: /srv/app/app.db", with: "- { sqlite: /srv/app/app.db, path: /srv }")
    #expect(errors(both).first?.message.hasPrefix("a source is one of") == true)
    let clear = Self.interface.replacingOccurrences(of: "password: \"env:SMTP_PASS\" }", with: "password: \"env:SMTP_PASS\", security: none }")
    #expect(errors(clear).first?.message == "smtp would send its password unencrypted")
    let smbInline = Self.interface.replacingOccurrences(of: "password: \"file:/etc/lifeboat/smb.pass\"", with: "password: hunter2")
    #expect(errors(smbInline).map { "\($0.line): \($0.message)" } == ["10: the share's password is written inline"])
    let smbCredentials = Self.interface.replacingOccurrences(of: "smb://fileserver/staff", with: "smb://backup:hunter2@fileserver/staff")
    #expect(errors(smbCredentials).first?.message == "the SMB URL carries a user name or password")
    let noShare = Self.interface.replacingOccurrences(of: "smb://fileserver/staff", with: "smb://fileserver")
    #expect(errors(noShare).first?.message == "'smb://fileserver' names no share")
    let notSMB = Self.interface.replacingOccurrences(of: "smb://fileserver/staff", with: "//fileserver/staff")
    #expect(errors(notSMB).first?.message == "'//fileserver/staff' is not an smb:// URL")
  }
}
