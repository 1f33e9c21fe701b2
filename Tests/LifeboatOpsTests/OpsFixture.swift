import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatFormat
import LifeboatOps
import LifeboatPlan
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting

/// A temporary organization: repositories, source trees and a plan file.
struct OpsFixture {
  let dir: TemporaryDirectory
  static let password = "ops-test-password"
  static let environment = ["LB_TEST_PW": password]

  init(repositories: [String] = ["onsite", "offsite"]) async throws {
    dir = TemporaryDirectory("lifeboat-ops")
    for r in repositories {
      _ = try await Repository.initialize(
        backend: LocalBackend(path: dir.sub(r)), password: Self.password,
        derivation: .scrypt(logN: 10, r: 8, p: 1), configuration: RepositoryConfig(packSize: 1 << 20))
    }
  }

  func repositoriesYAML(_ names: [String]) -> String {
    "repositories:\n" + names.map { "  \($0): { url: \(dir.sub($0)), password: \"env:LB_TEST_PW\" }\n" }.joined()
  }

  func writePlan(_ systems: String, repositories: [String] = ["onsite", "offsite"], extra: String = "") throws -> Plan {
    let text = "organization: Test District\n" + repositoriesYAML(repositories) + extra + "systems:\n" + systems
    let file = dir.sub("plan.yaml")
    try FixtureTree.write(file, Array(text.utf8))
    let result = PlanLoader.load(file: file)
    guard let plan = result.plan else { throw PlanError("plan: \(result.errors)") }
    return plan
  }

  func context(_ plan: Plan, clock: any WallClock = SystemClock()) throws -> RunContext {
    RunContext(
      plan: plan, catalog: try Catalog(path: plan.catalog), clock: clock, environment: Self.environment,
      actor: "test")
  }

  func open(_ name: String) async throws -> Repository {
    let r = try await Repository.open(backend: LocalBackend(path: dir.sub(name)), password: Self.password)
    try await r.loadIndex()
    return r
  }

  func remove() { dir.remove() }
}
