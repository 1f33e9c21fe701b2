import Foundation
import LifeboatAlerts
import LifeboatCatalog
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatPosture
import LifeboatTesting
import Testing

/// Alerts against a real SMTP server (aiosmtpd, STARTTLS and AUTH required) and an HTTP
/// receiver on loopback: what arrives when a backup starts failing, when that becomes an RPO
/// breach, after the reminder interval and when it is fixed — each once, to every target —
/// and what happens when a receiver refuses, fails or never answers.
@Suite struct AlertTests {

  func alertPlan(_ f: OpsFixture, _ r: AlertReceivers, flag: String, hooks: [String], smtpUser: String = "lifeboat") throws -> Plan {
    try f.writePlan(
      """
        - name: Payroll
          rpo: 1h
          schedule: every 15m
          sources:
            - command: "test ! -e \(flag) && echo payroll data"
              as: payroll.txt
      """, repositories: ["onsite"],
      extra: "alerts:\n  - email: it-team@district.example\n" + hooks.map { "  - \($0)\n" }.joined()
        + "smtp: { host: 127.0.0.1, port: \(r.smtpPort), from: lifeboat@district.example, username: \(smtpUser), password: \"env:SMTP_PASS\", ca_file: \(r.caFile) }\n"
        + "alert_policy: { remind_every: 1h, dashboard: \"https://backup.district.example\" }\n")
  }

  @Test func aFailureThenABreachThenARemindThenAFixEachArriveOnceEverywhere() async throws {
    let r = try AlertReceivers()
    defer { r.stop() }
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let flag = f.dir.sub("broken")
    let base = "http://127.0.0.1:\(r.webPort)"
    let plan = try alertPlan(
      f, r, flag: flag,
      hooks: ["webhook: \(base)/json", "{ webhook: \"\(base)/slack\", format: slack }", "{ webhook: \"\(base)/teams\", format: teams }"])
    let clock = ManualClock()
    var context = try f.context(plan, clock: clock)
    context.environment["SMTP_PASS"] = "mail secret"
    let payroll = plan.systems[0]
    func evaluate() async -> [JobRecord] { await Alerting.evaluate(context, backoff: [0, 0]) }

    // A good backup: nothing to say.
    #expect(await SystemRunner(context: context, system: payroll).run().outcome == .success)
    #expect(await evaluate().isEmpty)

    // 10 minutes later the backup fails: one message to each of the four targets, then none.
    clock.advance(600)
    FileManager.default.createFile(atPath: flag, contents: Data())
    #expect(await SystemRunner(context: context, system: payroll).run().outcome == .failed)
    let fired = await evaluate()
    #expect(fired.count == 4 && fired.allSatisfy { $0.outcome == .success }, "\(fired.map(\.errors))")
    #expect(await evaluate().isEmpty)

    // Past the RPO, still failing: the same condition changed (amber → red): four more.
    clock.advance(3600)
    #expect(await SystemRunner(context: context, system: payroll).run().outcome == .failed)
    let changed = await evaluate()
    #expect(changed.count == 4)
    #expect(changed.allSatisfy { AlertBook.record(of: $0)?.event == .changed })
    #expect(await evaluate().isEmpty)

    // An hour later, unchanged: the reminder.
    clock.advance(3600)
    let reminded = await evaluate()
    #expect(reminded.count == 4 && reminded.allSatisfy { AlertBook.record(of: $0)?.event == .reminder })

    // Fixed: a good backup, and "resolved" once.
    clock.advance(60)
    try FileManager.default.removeItem(atPath: flag)
    #expect(await SystemRunner(context: context, system: payroll).run().outcome == .success)
    let resolved = await evaluate()
    #expect(resolved.count == 4 && resolved.allSatisfy { AlertBook.record(of: $0)?.event == .resolved })
    #expect(await evaluate().isEmpty)

    // What arrived by mail: four messages, each saying what, which system, since when, what to do.
    let mails = r.mails()
    #expect(mails.count == 4)
    #expect(mails[0].contains("Subject: [Lifeboat] AMBER Payroll: within the RPO, but the last backup attempt failed"), "\(mails[0])")
    #expect(mails[0].contains("What happened:") && mails[0].contains("Which system:  Payroll") && mails[0].contains("Since:"))
    #expect(mails[0].contains("What to do:    fix the cause of the failed backup"))
    #expect(mails[0].contains("Dashboard: https://backup.district.example\r\n") || mails[0].contains("Dashboard: https://backup.district.example\n"))
    #expect(mails[1].contains("Subject: [Lifeboat] RED Payroll:"))
    #expect(mails[2].contains("(reminder)"))
    #expect(mails[3].contains("Subject: [Lifeboat] RESOLVED Payroll"))
    #expect(mails.allSatisfy { $0.contains("To: it-team@district.example") && !$0.contains("mail secret") })
    // The subject is one header line, whatever the error text holds.
    #expect(mails.allSatisfy { $0.components(separatedBy: "\r\n").filter { $0.hasPrefix("Subject:") }.count == 1 })
    #expect(mails.allSatisfy { !$0.contains("\r\n  hint:") || $0.range(of: "\r\n\r\n")!.lowerBound < $0.range(of: "hint:")!.lowerBound })

    // What arrived by webhook: per format, fired, changed, reminder, resolved — none twice.
    let posts = r.posts()
    for path in ["/json", "/slack", "/teams"] {
      #expect(posts.filter { $0.path == path }.count == 4, "\(path)")
    }
    let json = posts.filter { $0.path == "/json" }.map(\.body)
    #expect(json.map { $0["event"] as? String } == ["fired", "changed", "reminder", "resolved"])
    #expect(json[0]["system"] as? String == "Payroll" && json[0]["key"] as? String == "Payroll")
    #expect(json[0]["reason"] as? String == "last-attempt-failed" && json[1]["reason"] as? String == "rpo-breached")
    #expect(json[0]["reasons"] as? [String] == ["last-attempt-failed", "copy-failing"], "one failure, one message: \(json[0])")
    #expect(json[0]["action"] as? String != nil && json[0]["since"] as? String != nil && json[0]["version"] as? Int == 1)
    #expect(posts.first { $0.path == "/slack" }?.body["text"] as? String != nil)
    #expect(posts.first { $0.path == "/teams" }?.body["@type"] as? String == "MessageCard")

    // Every delivery is a job in the catalog, with no system of its own (it judges none).
    let jobs = try context.catalog.jobs(kind: "alert", limit: 100)
    #expect(jobs.count == 16 && jobs.allSatisfy { $0.system == "" && $0.outcome == .success })
  }

  @Test func receiversThatFailAreRetriedRecordedAndNeverBlockTheBackup() async throws {
    let r = try AlertReceivers()
    defer { r.stop() }
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let flag = f.dir.sub("broken")
    let base = "http://127.0.0.1:\(r.webPort)"
    // A wrong SMTP user, a webhook that fails twice then answers, one that always answers 500.
    let plan = try alertPlan(f, r, flag: flag, hooks: ["webhook: \(base)/fail/2/x", "webhook: \(base)/always-500/y"], smtpUser: "intruder")
    let clock = ManualClock()
    var context = try f.context(plan, clock: clock)
    context.environment["SMTP_PASS"] = "mail secret"
    FileManager.default.createFile(atPath: flag, contents: Data())
    #expect(await SystemRunner(context: context, system: plan.systems[0]).run().outcome == .failed)
    let sent = await Alerting.evaluate(context, backoff: [0, 0])
    #expect(sent.count == 3)
    let byTarget = Dictionary(uniqueKeysWithValues: sent.map { (AlertBook.record(of: $0)?.target ?? "", $0) })
    let mail = try #require(byTarget["email it-team@district.example"])
    #expect(mail.outcome == .failed)
    #expect(mail.errors.first?.contains("refused the login of intruder (AUTH PLAIN): 535") == true, "\(mail.errors)")
    #expect(byTarget.count == 3, "two webhooks on one host are two targets")
    let retried = try #require(sent.first { $0.outcome == .success })
    #expect(AlertBook.record(of: retried)?.attempts == 3)
    let refused = try #require(sent.first { $0.outcome == .failed && $0.errors.first?.contains("answered 500") == true })
    #expect(refused.errors.first?.contains("/always-500") == false, "a webhook's path is a secret: \(refused.errors)")
    #expect(r.posts().filter { $0.path == "/always-500/y" }.count == 3)

    // Failed deliveries are tried again at the next evaluation; the delivered one is not.
    let again = await Alerting.evaluate(context, backoff: [0, 0])
    #expect(again.count == 2 && again.allSatisfy { $0.outcome == .failed })
  }

  @Test func aMailServerThatRefusesOrNeverAnswersIsRecorded() async throws {
    let r = try AlertReceivers(smtpMode: "refuse")
    defer { r.stop() }
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let flag = f.dir.sub("broken")
    var context = try f.context(try alertPlan(f, r, flag: flag, hooks: []), clock: ManualClock())
    context.environment["SMTP_PASS"] = "mail secret"
    FileManager.default.createFile(atPath: flag, contents: Data())
    _ = await SystemRunner(context: context, system: context.plan.systems[0]).run()
    let refused = await Alerting.evaluate(context, backoff: [])
    #expect(refused.count == 1 && refused[0].outcome == .failed)
    #expect(refused[0].errors.first?.contains("refused RCPT TO:<it-team@district.example>: 550") == true, "\(refused[0].errors)")

    // A server that accepts the connection and never greets: the attempt times out.
    let (silent, silentPort) = LoopbackPort.bound()
    defer { close(silent) }
    listen(silent, 4)
    var settings = try #require(context.plan.alerts.smtp)
    settings.port = silentPort
    var delivery = AlertDelivery(smtp: settings, smtpPassword: "mail secret")
    delivery.backoff = []
    delivery.timeout = 1
    let c = AlertCondition(key: "x", system: "x", reason: "rpo-breached", severity: .red, message: "m", action: "a")
    let message = AlertMessage(event: .fired, organization: "T", condition: c, since: Date(), time: Date(), link: nil)
    let silence = await #expect(throws: (any Error).self) {
      _ = try await delivery.deliver(message, to: AlertTarget(kind: .email("a@b.example"), line: 1), messageID: "t@lifeboat")
    }
    #expect("\(silence.map { "\($0)" } ?? "")".contains("did not answer the connection (no greeting) within 1 s"), "\(String(describing: silence))")
  }
}

/// The locks alert from what the runs recorded: the last keeping of an immutable repository
/// failed, or left data whose lock has ended.
@Suite struct LockAlertTests {
  @Test func theLastKeepingOfAnImmutableRepositoryDecidesTheLocksAlert() throws {
    let dir = TemporaryDirectory("lifeboat-lock-alerts")
    defer { dir.remove() }
    let plan = try #require(
      PlanLoader.parse(
        """
        organization: District
        repositories:
          vault: { url: "s3:https://s3.example.net/b/lb", password: "env:P", immutable_days: 8, offsite: true }
        systems:
          - name: Files
            sources: [{ path: /srv/files }]
        """, file: "plan.yaml"
      ).plan)
    let catalog = try Catalog(path: dir.sub("c.sqlite"))
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    func keep(_ outcome: JobRecord.Outcome, until: Date?, at t: Date, error: String? = nil) throws {
      var j = JobRecord(kind: "locks", system: "", repository: "vault", started: t, outcome: outcome)
      j.ended = t
      if let until { j.details = "{\"days\":8,\"earliestUntil\":\"\(ISO8601DateFormatter().string(from: until))\",\"extended\":0,\"missing\":0,\"objects\":9,\"short\":0}" }
      if let error { j.errors = [error] }
      j.id = try catalog.start(j)
      try catalog.finish(j)
    }
    func locks() throws -> [AlertCondition] { try Alerting.conditions(plan: plan, catalog: catalog, now: now).filter { $0.key == "locks/vault" } }
    #expect(try locks().isEmpty, "never kept yet: nothing to judge")
    try keep(.success, until: now.addingTimeInterval(7 * 86400), at: now.addingTimeInterval(-86400))
    #expect(try locks().isEmpty, "locked for a week more")
    try keep(.failed, until: nil, at: now.addingTimeInterval(-3600), error: "AccessDenied: s3:PutObjectRetention")
    #expect(try locks().map(\.severity) == [.amber])
    #expect(try locks().first?.message.contains("PutObjectRetention") == true)
    try keep(.success, until: now.addingTimeInterval(-600), at: now.addingTimeInterval(-60))
    #expect(try locks().map(\.severity) == [.red], "data in use no longer locked")
  }
}
