import ArgumentParser
import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatOps
import LifeboatDemo
import LifeboatPlan
import LifeboatReport

struct DemoCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Protect a fictional school district for a simulated week and write every report.",
    discussion: """
      Generates a student information system (a SQLite database dumped through a command source, or PostgreSQL with --pg-dump), finance ledgers, staff documents and an archive; writes a plan with three tiers and two repositories (local, and S3 with Object Lock when --s3 names a bucket location); runs a simulated week on schedule (a stepping clock) with copies and retention, a drill of every system, a ransomware attack that the signals catch, and a restore of the clean point; then writes the executive, compliance, drill and runbook reports. `make demo` runs it.
      """)

  @Option(help: "Working directory (default: a new temporary one).") var dir: String?
  @Option(help: "Offsite repository on S3 with Object Lock, e.g. s3:http://127.0.0.1:7480/lifeboat-demo/district (credentials from AWS_*).")
  var s3: String?
  @Option(help: "A PostgreSQL server for the SIS database instead of SQLite: BIN_DIR,HOST,PORT,USER (e.g. /usr/lib/postgresql/15/bin,127.0.0.1,54329,postgres).")
  var postgres: String?
  @Option(help: "A webhook that receives the week's alerts (Lifeboat's JSON), e.g. the receiver scripts/demo.sh starts.")
  var alertWebhook: String?

  func run() async throws {
    let directory = dir ?? (NSTemporaryDirectory() + "lifeboat-demo-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let started = Stopwatch()
    let say: @Sendable (String) -> Void = { line in
      FileHandle.standardOutput.write(Data("• \(line)\n".utf8))
    }
    var demo = DistrictDemo(
      directory: directory, environment: ProcessInfo.processInfo.environment, clock: CommandClock.system, log: say)
    demo.offsiteURL = s3
    demo.alertWebhook = alertWebhook
    if let postgres {
      let p = postgres.split(separator: ",").map(String.init)
      guard p.count == 4 else { throw ValidationError("--postgres takes BIN_DIR,HOST,PORT,USER") }
      demo.postgres = (p[0], p[1], p[2], p[3])
    }
    let plan = try await demo.run()
    let catalog = try Catalog(path: plan.catalog)
    let reports = directory + "/reports"
    var files: [String] = []
    for kind in ReportKind.allCases {
      files += try ReportWriter.write(
        kind, formats: [.html, .json], plan: plan, catalog: catalog,
        system: kind == .drill ? "Student Information System" : nil, directory: reports,
        now: try catalog.jobs(limit: 1).first?.ended ?? CommandClock.system.now())
    }
    let audit = try catalog.verifyAudit()
    say("audit log: \(audit.events) events, chain \(audit.isIntact ? "intact" : "BROKEN"), head \(audit.head.prefix(16))…")
    say("reports:")
    for f in files where f.hasSuffix(".html") { say("  \(f)") }
    say("the plan is \(plan.file); try: lifeboat status --plan \(plan.file)  (LIFEBOAT_DEMO_PASSWORD is not kept)")
    say(String(format: "demo finished in %.0f s", started.seconds))
  }
}
