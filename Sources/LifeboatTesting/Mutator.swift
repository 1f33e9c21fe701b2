// Mutation fuzzing for decoders of bytes from storage or the network: seeded, deterministic,
// run as ordinary tests. Each decoder is fed valid inputs changed in the ways storage and
// networks (and attackers) change bytes; it must never crash, never hang, and never let a
// declared length or count make it allocate more than the input could hold.

import Foundation

public enum Mutator {
  /// `count` variants of `seed`: bit flips, bytes set to extremes, inserted, deleted and
  /// duplicated runs, truncations, and runs of 0xff where a length or count may be.
  public static func mutations(of seed: [UInt8], count: Int, rng: inout SeededRandom) -> [[UInt8]] {
    var out: [[UInt8]] = []
    out.reserveCapacity(count)
    for i in 0..<count {
      var b = seed
      let edits = 1 + Int(rng.next() % 3)
      for _ in 0..<edits {
        let at = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
        switch (i + Int(rng.next() % 8)) % 8 {
        case 0 where !b.isEmpty: b[at] ^= UInt8(1 << (rng.next() % 8))
        case 1 where !b.isEmpty: b[at] = [0x00, 0xff, 0x7f, 0x80][Int(rng.next() % 4)]
        case 2: b.insert(contentsOf: rng.bytes(1 + Int(rng.next() % 16)), at: at)
        case 3 where !b.isEmpty: b.removeSubrange(at..<min(b.count, at + 1 + Int(rng.next() % 32)))
        case 4: b = Array(b.prefix(at))
        case 5 where !b.isEmpty:
          let run = Array(b[at..<min(b.count, at + 1 + Int(rng.next() % 64))])
          b.insert(contentsOf: run, at: at)
        case 6 where !b.isEmpty:
          for j in at..<min(b.count, at + 1 + Int(rng.next() % 10)) { b[j] = 0xff }
        default:
          if !b.isEmpty { b[at] = UInt8(truncatingIfNeeded: rng.next()) }
        }
      }
      // An edit can restore what was there (a byte set to its own value): such a variant is
      // the seed again, not a mutation.
      if b != seed { out.append(b) }
    }
    return out
  }

  /// Random inputs of random lengths, some starting with `prefix` (a magic number) so they
  /// get past the first check.
  public static func randomInputs(count: Int, prefix: [UInt8] = [], rng: inout SeededRandom) -> [[UInt8]] {
    (0..<count).map { i in
      let body = rng.bytes(Int(rng.next() % 512))
      return i % 2 == 0 ? prefix + body : body
    }
  }
}
