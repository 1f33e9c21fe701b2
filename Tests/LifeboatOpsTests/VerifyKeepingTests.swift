import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatPosture
import LifeboatRepository
import LifeboatTesting
import Testing

/// A repository's `verify_age:` (#23): the agent's runs read back what is due, at most daily,
/// record a `verify` job, and damage they find alerts.
@Suite struct VerifyKeepingTests {
  @Test func runsVerifyWhatIsDueAndDamageAlerts() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let src = f.dir.sub("files")
    try FixtureTree.build(at: src, seed: 31, options: { var o = FixtureTree.Options(); o.files = 30; o.largeFiles = 2; return o }())
    let text = "organization: Test District\nrepositories:\n"
      + "  onsite: { url: \(f.dir.sub("onsite")), password: \"env:LB_TEST_PW\", verify_age: 30d }\n"
      + "systems:\n  - name: Files\n    sources: [{ path: \(src) }]\n    copies: [onsite]\n"
    try FixtureTree.write(f.dir.sub("plan.yaml"), Array(text.utf8))
    let plan = try #require(PlanLoader.load(file: f.dir.sub("plan.yaml")).plan)
    #expect(plan.repositories["onsite"]?.verifyAge.map { Int($0) } == 30 * 86_400)
    let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
    var environment = OpsFixture.environment
    environment["LIFEBOAT_CACHE_DIR"] = f.dir.sub("cache")
    let context = RunContext(plan: plan, catalog: try Catalog(path: plan.catalog), clock: clock, environment: environment, actor: "test")
    let system = try #require(plan.systems.first)
    func verifyJobs() throws -> [JobRecord] { try context.catalog.jobs(kind: "verify", limit: 100) }

    // The first run verifies every pack.
    _ = await SystemRunner(context: context, system: system).run()
    let packs = try FileManager.default.subpathsOfDirectory(atPath: f.dir.sub("onsite") + "/data").filter { $0.count > 64 }
    let first = try #require(try verifyJobs().first)
    #expect(first.outcome == .success, "\(first.errors)")
    #expect(VerifyKeeping.facts(of: first)?.packsRead == packs.count)
    // An hour later: not due again.
    clock.advance(3_600)
    _ = await SystemRunner(context: context, system: system).run()
    #expect(try verifyJobs().count == 1)
    // Two days later: the share of two days in thirty.
    clock.advance(2 * 86_400)
    _ = await SystemRunner(context: context, system: system).run()
    let third = try #require(try verifyJobs().first)
    let read = try #require(VerifyKeeping.facts(of: third)?.packsRead)
    #expect(third.outcome == .success && read >= 1 && read < packs.count, "\(read) of \(packs.count)")
    #expect(try Alerting.conditions(plan: plan, catalog: context.catalog, now: clock.now()).allSatisfy { !$0.key.hasPrefix("verify/") })

    // A flipped byte in a pack, and a lost record (everything due): found, and it alerts.
    let victim = f.dir.sub("onsite") + "/data/" + packs.sorted()[0]
    var bytes = try #require(FileManager.default.contents(atPath: victim))
    bytes[bytes.count / 3] ^= 0x40
    try bytes.write(to: URL(fileURLWithPath: victim))
    try FileManager.default.removeItem(atPath: f.dir.sub("cache") + "/verified")
    clock.advance(86_400)
    _ = await SystemRunner(context: context, system: system).run()
    let fourth = try #require(try verifyJobs().first)
    #expect(fourth.outcome == .failed)
    #expect(VerifyKeeping.facts(of: fourth)?.damagedPacks.count == 1)
    let alert = try Alerting.conditions(plan: plan, catalog: context.catalog, now: clock.now()).first { $0.key == "verify/onsite" }
    #expect(alert?.severity == .red && alert?.reason == "verification-found-damage", "\(String(describing: alert))")
  }
}
