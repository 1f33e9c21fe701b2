import Foundation
import LifeboatCore
import LifeboatTesting
import Testing

/// The vocabulary: IDs, the clock types, marks and seeded data.
@Suite struct CoreTests {
  @Test func idsRoundTripThroughHexAndRejectAnythingElse() {
    var rng = SeededRandom(seed: 1)
    for _ in 0..<200 {
      let id = ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
      #expect(ID(hex: id.hex) == id && id.hex.count == 64 && id.short == String(id.hex.prefix(8)))
    }
    for bad in ["", "abc", String(repeating: "g", count: 64), String(repeating: "0", count: 63),
      String(repeating: "0", count: 65)] {
      #expect(ID(hex: bad) == nil, "\(bad)")
    }
    #expect(ID(hex: String(repeating: "A", count: 64))?.hex == String(repeating: "a", count: 64), "typed IDs may be upper case")
  }

  @Test func clocksFixedAndMonotonic() {
    let t = Date(timeIntervalSince1970: 1_800_000_000)
    #expect(FixedClock(t).now() == t)
    let watch = Stopwatch()
    var last = 0.0
    for _ in 0..<1000 {
      let s = watch.seconds
      #expect(s >= last, "a stopwatch never runs backwards")
      last = s
    }
    #expect(Deadline.after(1) > Deadline.after(0))
  }

  @Test func marksKnowTheirKindsAndKeepUnknownOnesAsText() throws {
    let id = ID(w0: 1, w1: 2, w2: 3, w3: 4)
    var m = SnapshotMark(snapshot: id, kind: .protect, reason: "legal hold", time: Date(timeIntervalSince1970: 0), author: "a@b")
    #expect(m.knownKind == .protect && m.version == 1)
    m.kind = "hold"
    #expect(m.knownKind == nil, "a newer client's kind is kept as text, not guessed")
    let decoded = try JSONDecoder().decode(SnapshotMark.self, from: JSONEncoder().encode(m))
    #expect(decoded == m)
  }

  @Test func splitMixIsReproducible() {
    var a = SplitMix64(seed: 7)
    var b = SplitMix64(seed: 7)
    var c = SplitMix64(seed: 8)
    let xs = (0..<100).map { _ in a.next() }
    #expect(xs == (0..<100).map { _ in b.next() })
    #expect(xs != (0..<100).map { _ in c.next() })
  }
}
