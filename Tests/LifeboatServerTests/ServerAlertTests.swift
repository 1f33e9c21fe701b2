import Foundation
import LifeboatCatalog
import LifeboatConsole
import LifeboatCore
import LifeboatServer
import LifeboatTesting
import Testing

/// The server's alerts per tenant (`alerts:` in its configuration), delivered to a real HTTP
/// receiver: a failure an agent reported, then the agent falling silent, then both resolved
/// when it reports a good backup — each message once; and a configuration with a bad target
/// or an inline secret is refused with its line.
@Suite struct ServerAlertTests {
  static func configuration(_ r: AlertReceivers, extra: String = "") throws -> ServerConfiguration {
    try ServerConfiguration.parse(
      """
      dashboard: https://console.provider.example
      smtp: { host: 127.0.0.1, port: \(r.smtpPort), from: alerts@provider.example, username: lifeboat, password: "env:SMTP_PASS", ca_file: \(r.caFile) }
      alerts:
        - tenant: acme
          targets:
            - webhook: http://127.0.0.1:\(r.webPort)/acme
            - email: oncall@provider.example
          silent_after: 2h
          alert_policy: { remind_every: 24h }
      \(extra)
      """, file: "server.yaml")
  }

  @Test func aReportedFailureAndASilentAgentAlertOnceAndResolve() async throws {
    let r = try AlertReceivers()
    defer { r.stop() }
    let clock = ManualClock()
    let f = try ServerFixture(clock: clock)
    defer { f.remove() }
    try f.console.storePlan(
      tenant: "acme",
      text: """
        organization: Acme Family Clinic
        repositories:
          files: { url: /srv/unused, password: "env:P" }
        systems:
          - name: EHR
            rpo: 4h
            schedule: every 1h
            sources: [{ path: /srv/ehr }]
        """, actor: "test")
    var good = JobRecord(kind: "backup", system: "EHR", repository: "files", started: clock.now().addingTimeInterval(-600), outcome: .success)
    good.id = 1
    good.ended = clock.now().addingTimeInterval(-590)
    try f.console.ingest(tenant: "acme", source: "agent-1", job: good, actor: "agent")
    clock.advance(3600)
    var failed = JobRecord(kind: "backup", system: "EHR", repository: "files", started: clock.now().addingTimeInterval(-60), outcome: .failed)
    failed.id = 2
    failed.ended = clock.now()
    failed.errors = ["files: permission denied"]
    try f.console.ingest(tenant: "acme", source: "agent-1", job: failed, actor: "agent")

    let config = try Self.configuration(r)
    let environment = ["SMTP_PASS": "mail secret"]
    var sent = await ServerAlerts.evaluate(console: f.console, configuration: config, environment: environment, backoff: [])
    #expect(sent["acme"]?.count == 2 && sent["acme"]?.allSatisfy { $0.outcome == .success } == true, "\(sent)")
    var posts = r.posts()
    #expect(posts.count == 1)
    #expect(posts.first?.path == "/acme")
    #expect(posts.first?.body["key"] as? String == "EHR" && posts.first?.body["event"] as? String == "fired", "\(posts)")
    #expect(posts.first?.body["organization"] as? String == "Acme Clinic")
    #expect(posts.first?.body["link"] as? String == "https://console.provider.example/ui/tenants/acme", "the tenant's page")
    #expect(r.mails().count == 1 && r.mails()[0].contains("EHR"), "\(r.mails())")
    // Nothing new: nothing sent again.
    sent = await ServerAlerts.evaluate(console: f.console, configuration: config, environment: environment, backoff: [])
    #expect(sent["acme"] == nil)

    // The agent falls silent past silent_after: one more alert, about the agent.
    clock.advance(3 * 3600)
    sent = await ServerAlerts.evaluate(console: f.console, configuration: config, environment: environment, backoff: [])
    posts = r.posts()
    let silent = posts.filter { $0.body["key"] as? String == "agent" }
    #expect(silent.count == 1, "\(posts.map(\.body))")
    #expect(silent.first?.body["reason"] as? String == "agent-silent")
    #expect((silent.first?.body["message"] as? String)?.contains("no agent of acme has reported since") == true)

    // It reports a good backup: both conditions resolve, each said once.
    var back = JobRecord(kind: "backup", system: "EHR", repository: "files", started: clock.now().addingTimeInterval(-120), outcome: .success)
    back.id = 3
    back.ended = clock.now().addingTimeInterval(-60)
    try f.console.ingest(tenant: "acme", source: "agent-1", job: back, actor: "agent")
    sent = await ServerAlerts.evaluate(console: f.console, configuration: config, environment: environment, backoff: [])
    let resolved = r.posts().filter { $0.body["event"] as? String == "resolved" }.compactMap { $0.body["key"] as? String }.sorted()
    #expect(resolved == ["EHR", "agent"], "\(r.posts().map(\.body))")
    sent = await ServerAlerts.evaluate(console: f.console, configuration: config, environment: environment, backoff: [])
    #expect(sent["acme"] == nil, "resolved once")
    // Every delivery is a job in the tenant's catalog.
    #expect(try f.console.catalog("acme").jobs(kind: "alert").count == r.posts().count + r.mails().count)
  }

  @Test func aBadTargetOrAnInlinePasswordIsRefusedWithItsLine() throws {
    let bad = """
      alerts:
        - tenant: acme
          targets:
            - email: not an address
      """
    #expect(throws: (any Error).self) { try ServerConfiguration.parse(bad, file: "server.yaml") }
    do {
      _ = try ServerConfiguration.parse(bad, file: "server.yaml")
    } catch {
      #expect("\(error)".contains("server.yaml:4") && "\(error)".contains("is not an e-mail address"), "\(error)")
    }
    let inline = """
      smtp: { host: mail.example, port: 587, from: a@b.example, username: u, password: hunter2 }
      alerts:
        - tenant: acme
          targets: [{ email: oncall@provider.example }]
      """
    do {
      _ = try ServerConfiguration.parse(inline, file: "server.yaml")
      Issue.record("an inline SMTP password was accepted")
    } catch {
      #expect("\(error)".contains("written inline") || "\(error)".contains("password"), "\(error)")
    }
  }
}
