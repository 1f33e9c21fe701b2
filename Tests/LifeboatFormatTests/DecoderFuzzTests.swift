import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatTesting
import Testing

/// Every decoder of bytes read from storage, fed mutated and random inputs (issue #19): it
/// throws a LifeboatError or returns something no larger than its input allows; it never
/// crashes (which would end this test process) and never trusts a declared count.
@Suite struct DecoderFuzzTests {
  let keys: RepositoryKeys

  init() throws { keys = try RepositoryKeys(masterSecret: Array(repeating: 9, count: 64)) }

  /// Runs `decode` on every input; returns how many decoded. Only LifeboatError may escape.
  static func feed<T>(_ inputs: [[UInt8]], _ decode: ([UInt8]) throws -> T, bound: (T, [UInt8]) -> Bool = { _, _ in true }) -> Int {
    var decoded = 0
    for input in inputs {
      do {
        let v = try decode(input)
        decoded += 1
        #expect(bound(v, input), "a decoded value larger than its \(input.count)-byte input allows")
      } catch is LifeboatError {
      } catch {
        Issue.record("a decoder threw \(type(of: error)) instead of a LifeboatError: \(error)")
      }
    }
    return decoded
  }

  static func tree(_ rng: inout SeededRandom) -> Tree {
    Tree(nodes: (0..<12).map { i in
      var n = CodecTests.randomNode(&rng, name: Array("entry-\(i)".utf8))
      if n.kind == .directory && n.subtree == nil { n.subtree = ID(w0: 1, w1: 2, w2: 3, w3: 4) }
      return n
    })
  }

  @Test func trees() throws {
    var rng = SeededRandom(seed: 901)
    var seeds: [[UInt8]] = []
    for _ in 0..<8 {
      let t = Self.tree(&rng)
      if let bytes = try? TreeFormat.decode(TreeFormat.encode(t)).nodes.count, bytes > 0 { seeds.append(TreeFormat.encode(t)) }
    }
    #expect(!seeds.isEmpty)
    var inputs = seeds.flatMap { Mutator.mutations(of: $0, count: 400, rng: &rng) }
    inputs += Mutator.randomInputs(count: 400, prefix: Array("LBTR".utf8) + [1], rng: &rng)
    _ = Self.feed(inputs, TreeFormat.decode) { t, input in t.nodes.count <= input.count }
  }

  @Test func indexFiles() throws {
    var rng = SeededRandom(seed: 902)
    var packs: [IndexFile.Pack] = []
    for _ in 0..<6 {
      var entries: [PackEntry] = []
      for i in 0..<8 {
        let type: BlobType = i % 3 == 0 ? .tree : .data
        entries.append(PackEntry(type: type, compressed: i % 2 == 0, offset: UInt32(i * 100), length: 100, rawLength: 120,
          id: CodecTests.randomID(&rng)))
      }
      packs.append(IndexFile.Pack(id: CodecTests.randomID(&rng), entries: entries))
    }
    let seed = IndexFile(packs: packs, supersedes: [CodecTests.randomID(&rng)]).encode()
    #expect(try IndexFile.decode(seed).packs.count == 6)
    var inputs = Mutator.mutations(of: seed, count: 3000, rng: &rng)
    inputs += Mutator.randomInputs(count: 500, prefix: Array("LBIX".utf8) + [1], rng: &rng)
    // A count of 2^63 where the pack count goes: refused, not reserved.
    inputs.append(Array("LBIX".utf8) + [1] + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
    _ = Self.feed(inputs, IndexFile.decode) { f, input in f.packs.reduce(0) { $0 + 1 + $1.entries.count } <= input.count }
  }

  @Test func packHeaders() throws {
    var rng = SeededRandom(seed: 903)
    var builder = PackBuilder(capacity: 1 << 16)
    for _ in 0..<20 {
      let plain = rng.bytes(200)
      let sealed = plain.withUnsafeBytes { PackFormat.sealBlob($0, keys: keys, compressor: nil) }
      _ = builder.add(id: keys.blobID(plain), type: .data, sealed: sealed.bytes, compressed: sealed.compressed, rawLength: plain.count)
    }
    let pack = builder.finish(keys: keys)
    #expect(try PackFormat.parseHeader(tail: pack.bytes, packLength: pack.bytes.count, keys: keys) == pack.entries)
    let plainHeader = PackFormat.encodeHeader(pack.entries)
    var inputs = Mutator.mutations(of: plainHeader, count: 2000, rng: &rng)
    inputs += Mutator.randomInputs(count: 300, rng: &rng)
    _ = Self.feed(inputs, PackFormat.decodeHeader) { e, input in e.count <= input.count }
    // The sealed tail as read from storage, damaged anywhere, with any claimed pack length.
    let tail = Array(pack.bytes.suffix(4096))
    for m in Mutator.mutations(of: tail, count: 1500, rng: &rng) {
      let claimed = [pack.bytes.count, m.count, Int(rng.next() % UInt64(1 << 30)), 0][Int(rng.next() % 4)]
      _ = Self.feed([m]) { try PackFormat.parseHeader(tail: $0, packLength: claimed, keys: keys) }
    }
  }

  @Test func envelopesSnapshotsAndConfigs() throws {
    var rng = SeededRandom(seed: 904)
    let snapshot = Snapshot(time: Date(timeIntervalSince1970: 1_800_000_000), tree: CodecTests.randomID(&rng), paths: ["/srv"],
      hostname: "fs1", username: "root", tags: ["nightly"], programVersion: "test")
    let sealed = try SnapshotFormat.seal(snapshot, keys: keys)
    #expect(try SnapshotFormat.open(sealed, keys: keys).hostname == "fs1")
    // Damage to the sealed bytes is always caught by authentication.
    var inputs = Mutator.mutations(of: sealed, count: 1500, rng: &rng)
    inputs += Mutator.randomInputs(count: 300, rng: &rng)
    #expect(Self.feed(inputs, { try SnapshotFormat.open($0, keys: keys) }) == 0, "a damaged envelope never opens")
    // Authenticated but malformed JSON (a buggy or hostile writer holding the key).
    let plain = try Envelope.open(sealed, key: keys.metadataKey, purpose: .snapshot)
    let resealed = Mutator.mutations(of: plain, count: 1500, rng: &rng).map {
      Envelope.seal($0, key: keys.metadataKey, purpose: .snapshot)
    }
    _ = Self.feed(resealed) { try SnapshotFormat.open($0, keys: keys) }
    let config = try RepositoryConfig().sealed(keys: keys)
    let configPlain = try Envelope.open(config, key: keys.metadataKey, purpose: .config)
    let configs = Mutator.mutations(of: configPlain, count: 1500, rng: &rng).map {
      Envelope.seal($0, key: keys.metadataKey, purpose: .config)
    }
    _ = Self.feed(configs + Mutator.mutations(of: config, count: 300, rng: &rng)) { try RepositoryConfig.open($0, keys: keys) }
  }

  @Test func marks() throws {
    var rng = SeededRandom(seed: 905)
    let mark = SnapshotMark(
      snapshot: CodecTests.randomID(&rng), kind: .protect, reason: "legal hold", until: Date(timeIntervalSince1970: 1_900_000_000),
      time: Date(timeIntervalSince1970: 1_800_000_000), author: "dana@fs1")
    let sealed = try MarkFormat.seal(mark, keys: keys)
    #expect(try MarkFormat.open(sealed, keys: keys) == mark)
    #expect(throws: LifeboatError.self, "a mark is not a snapshot: the purposes differ") {
      try SnapshotFormat.open(sealed, keys: keys)
    }
    var inputs = Mutator.mutations(of: sealed, count: 1000, rng: &rng)
    inputs += Mutator.randomInputs(count: 200, rng: &rng)
    #expect(Self.feed(inputs, { try MarkFormat.open($0, keys: keys) }) == 0, "a damaged mark never opens")
    let plain = try Envelope.open(sealed, key: keys.metadataKey, purpose: .mark)
    let resealed = Mutator.mutations(of: plain, count: 1000, rng: &rng).map {
      Envelope.seal($0, key: keys.metadataKey, purpose: .mark)
    }
    _ = Self.feed(resealed) { try MarkFormat.open($0, keys: keys) }
  }

  @Test func keyFiles() throws {
    var rng = SeededRandom(seed: 905)
    let file = try KeyFile.create(masterSecret: Array(repeating: 1, count: 64), password: "pw",
      derivation: .scrypt(logN: 10, r: 1, p: 1), created: Date(timeIntervalSince1970: 1_800_000_000), hostname: "h", username: "u")
    let seed = try file.encoded()
    var inputs = Mutator.mutations(of: seed, count: 3000, rng: &rng)
    inputs += Mutator.randomInputs(count: 300, prefix: Array("{".utf8), rng: &rng)
    _ = Self.feed(inputs) { bytes -> KeyDerivation? in
      let f = try KeyFile.decode(bytes)
      // Whatever decodes is judged by its parameters before any derivation.
      _ = f.derivation?.limitProblem
      return f.derivation
    }
  }

  @Test func timestamps() {
    var rng = SeededRandom(seed: 906)
    let seed = Array(Rfc3339.format(Date(timeIntervalSince1970: 1_800_000_000.5)).utf8)
    for m in Mutator.mutations(of: seed, count: 3000, rng: &rng) {
      _ = Rfc3339.parse(String(decoding: m, as: UTF8.self))
    }
  }
}
