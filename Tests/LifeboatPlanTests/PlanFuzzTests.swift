import Foundation
import LifeboatPlan
import LifeboatTesting
import Testing

/// The plan loader on mutated and hostile YAML (issue #19): every input gives a plan or
/// diagnostics, never a crash, and an alias bomb does not expand.
@Suite struct PlanFuzzTests {
  static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("docs/examples/plan.yaml").path

  @Test func mutatedPlansGiveAPlanOrDiagnostics() throws {
    let seed = Array(try Data(contentsOf: URL(fileURLWithPath: Self.example)))
    #expect(PlanLoader.parse(String(decoding: seed, as: UTF8.self), file: "plan.yaml").plan != nil)
    var rng = SeededRandom(seed: 911)
    for m in Mutator.mutations(of: seed, count: 600, rng: &rng) {
      let r = PlanLoader.parse(String(decoding: m, as: UTF8.self), file: "plan.yaml")
      #expect(r.plan != nil || !r.errors.isEmpty, "no plan and no error")
    }
  }

  @Test func aliasBombsAreNotExpanded() {
    var yaml = "organization: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in 1..<12 { yaml += "k\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
    yaml += "systems: *a11\n"
    let r = PlanLoader.parse(yaml, file: "bomb.yaml")
    #expect(r.plan == nil && !r.errors.isEmpty)
  }
}
