import Foundation
import LifeboatPlan
import LifeboatServer
import LifeboatTesting
import Testing

/// The server configuration parser on mutated and hostile YAML (issue #19).
@Suite struct ConfigFuzzTests {
  static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("docs/examples/server.yaml").path

  @Test func mutatedConfigurationsLoadOrNameTheirLine() throws {
    let seed = Array(try Data(contentsOf: URL(fileURLWithPath: Self.example)))
    _ = try ServerConfiguration.parse(String(decoding: seed, as: UTF8.self), file: "server.yaml")
    var rng = SeededRandom(seed: 912)
    for m in Mutator.mutations(of: seed, count: 800, rng: &rng) {
      do {
        _ = try ServerConfiguration.parse(String(decoding: m, as: UTF8.self), file: "server.yaml")
      } catch let e as PlanError {
        #expect(e.message.hasPrefix("server.yaml"), "\(e.message)")
      }
    }
  }

  @Test func anAliasBombIsRefused() {
    var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in 1..<12 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
    yaml += "retention: *a11\n"
    #expect(throws: PlanError.self) { try ServerConfiguration.parse(yaml, file: "bomb.yaml") }
  }
}
