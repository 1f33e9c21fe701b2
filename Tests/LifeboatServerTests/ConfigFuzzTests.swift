import Foundation
import LifeboatPlan
import LifeboatServer
@testable import LifeboatRemote
import LifeboatStorage
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

/// What a Lifeboat server answers, mutated (issue #19): object lists and error bodies decode
/// or are refused with a StorageError, never a crash; a list cannot smuggle a path into a URL.
@Suite struct RESTResponseFuzzTests {
  @Test func mutatedListsAndErrorBodies() throws {
    let name = String(repeating: "ab", count: 32)
    let list = Array("[{\"name\":\"\(name)\",\"size\":123},{\"name\":\"\(String(repeating: "0", count: 64))\",\"size\":0}]".utf8)
    #expect(try RESTBackend.decodeList(list, type: .pack).count == 2)
    var rng = SeededRandom(seed: 915)
    for m in Mutator.mutations(of: list, count: 3000, rng: &rng) + Mutator.randomInputs(count: 300, prefix: Array("[".utf8), rng: &rng) {
      do {
        let items = try RESTBackend.decodeList(m, type: .pack)
        #expect(items.allSatisfy { $0.name.count == 64 && $0.size >= 0 })
      } catch is StorageError {}
    }
    for hostile in ["[{\"name\":\"../../api/v1/tokens\",\"size\":1}]", "[{\"name\":\"\(name)\",\"size\":-5}]"] {
      #expect(throws: StorageError.self) { try RESTBackend.decodeList(Array(hostile.utf8), type: .pack) }
    }
    let error = Array("{\"error\":{\"message\":\"no such repository\"}}".utf8)
    for m in Mutator.mutations(of: error, count: 2000, rng: &rng) {
      _ = RemoteHTTP.Response(status: 404, headers: [:], body: m).message
    }
  }
}
