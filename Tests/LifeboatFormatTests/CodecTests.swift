import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatTesting
import PropertyBased
import Testing

@Suite struct CodecTests {
  let keys = try! RepositoryKeys(masterSecret: Array(repeating: 5, count: 64))

  static func randomID(_ rng: inout SeededRandom) -> ID {
    ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
  }

  static func randomNode(_ rng: inout SeededRandom, name: [UInt8]) -> Node {
    let kind = Node.Kind.allCases[Int(rng.next() % 7)]
    func ts() -> Timespec { Timespec(seconds: Int64(bitPattern: rng.next()) >> 20, nanoseconds: Int32(rng.next() % 1_000_000_000)) }
    return Node(
      name: name, kind: kind, mode: UInt32(rng.next() % 0o7777), uid: UInt32(truncatingIfNeeded: rng.next()),
      gid: UInt32(truncatingIfNeeded: rng.next()), size: rng.next() >> 10, mtime: ts(), atime: ts(), ctime: ts(),
      inode: rng.next(), device: rng.next(), links: rng.next() % 5, rdev: rng.next() % 1000,
      linkTarget: kind == .symlink ? rng.bytes(Int(rng.next() % 100)) : [],
      content: kind == .file ? (0..<Int(rng.next() % 5)).map { _ in randomID(&rng) } : [],
      subtree: kind == .directory ? randomID(&rng) : nil,
      xattrs: rng.next() % 3 == 0 ? [ExtendedAttribute(name: Array("user.a".utf8), value: rng.bytes(10))] : [])
  }

  @Test func idHexRoundTripAndOrdering() throws {
    var rng = SeededRandom(seed: 1)
    let ids = (0..<200).map { _ in Self.randomID(&rng) }
    for id in ids {
      #expect(ID(hex: id.hex) == id)
      #expect(ID(bytes: id.bytes) == id)
    }
    #expect(ids.sorted().map(\.hex) == ids.map(\.hex).sorted())
    #expect(ID(hex: "zz") == nil)
    #expect(ID(hex: String(repeating: "g", count: 64)) == nil)
  }

  @Test func treesRoundTripIncludingNonUTF8Names() throws {
    var rng = SeededRandom(seed: 2)
    for round in 0..<50 {
      var names = Set<[UInt8]>()
      while names.count < round % 20 {
        var n = rng.bytes(Int(rng.next() % 30) + 1).map { $0 == 0 || $0 == 47 ? 65 : $0 }
        if n == [46] || n == [46, 46] { n = [66] }
        names.insert(n)
      }
      let tree = Tree(nodes: names.map { Self.randomNode(&rng, name: $0) })
      #expect(try TreeFormat.decode(TreeFormat.encode(tree)) == tree)
    }
  }

  @Test func treeDecoderRejectsNodesWhoseFieldsDoNotFitTheirKind() {
    let id = ID(w0: 1, w1: 2, w2: 3, w3: 4)
    for bad in [
      Node(name: [97], kind: .file, subtree: id),
      Node(name: [97], kind: .directory),
      Node(name: [97], kind: .symlink, content: [id]),
      Node(name: [97], kind: .fifo, linkTarget: [98]),
    ] {
      #expect(throws: LifeboatError.self) { try TreeFormat.decode(TreeFormat.encode(Tree(nodes: [bad]))) }
    }
  }

  @Test func treeDecoderRejectsBadNames() {
    for bad: [UInt8] in [[46], [46, 46], [97, 47, 98], [], [97, 0]] {
      let encoded = TreeFormat.encode(Tree(nodes: [Node(name: bad, kind: .file)]))
      #expect(throws: LifeboatError.self) { try TreeFormat.decode(encoded) }
    }
  }

  @Test func indexFilesRoundTrip() throws {
    var rng = SeededRandom(seed: 3)
    var packs = [IndexFile.Pack]()
    for _ in 0..<20 {
      var offset: UInt32 = 0
      let entries = (0..<Int(rng.next() % 50)).map { _ -> PackEntry in
        let len = UInt32(rng.next() % 1_000_000)
        defer { offset += len }
        return PackEntry(type: rng.next() % 2 == 0 ? .data : .tree, compressed: rng.next() % 2 == 0, offset: offset, length: len, rawLength: UInt32(rng.next() % 8_000_000), id: Self.randomID(&rng))
      }
      packs.append(IndexFile.Pack(id: Self.randomID(&rng), entries: entries))
    }
    let f = IndexFile(packs: packs, supersedes: [Self.randomID(&rng)])
    #expect(try IndexFile.decode(f.encode()) == f)
  }

  @Test func packHeaderRoundTripAndTamperDetection() throws {
    var rng = SeededRandom(seed: 4)
    var builder = PackBuilder(capacity: 1 << 20)
    var expected = [(ID, [UInt8])]()
    let c = ZstdCompressor()
    for i in 0..<30 {
      let data = i % 2 == 0 ? rng.bytes(Int(rng.next() % 20_000)) : rng.compressibleBytes(Int(rng.next() % 20_000))
      let (sealed, compressed) = data.withUnsafeBytes { PackFormat.sealBlob($0, keys: keys, compressor: c) }
      let id = keys.blobID(data)
      _ = builder.add(id: id, type: .data, sealed: sealed, compressed: compressed, rawLength: data.count)
      expected.append((id, data))
    }
    let (packID, bytes, entries) = builder.finish(keys: keys)
    #expect(StorageHash.id(bytes) == packID)
    let parsed = try #require(try PackFormat.parseHeader(tail: bytes, packLength: bytes.count, keys: keys))
    #expect(parsed == entries)
    let d = ZstdDecompressor()
    for (e, (id, data)) in zip(parsed, expected) {
      #expect(e.id == id)
      let blob = try bytes.withUnsafeBytes { raw in
        try PackFormat.openBlob(UnsafeRawBufferPointer(rebasing: raw[Int(e.offset)..<Int(e.offset + e.length)]), entry: e, keys: keys, decompressor: d)
      }
      #expect(blob == data)
    }
    // A short tail asks for more; a flipped header bit fails.
    #expect(try PackFormat.parseHeader(tail: Array(bytes.suffix(10)), packLength: bytes.count, keys: keys) == nil)
    var t = bytes
    t[t.count - 20] ^= 1
    #expect(throws: LifeboatError.self) { try PackFormat.parseHeader(tail: t, packLength: t.count, keys: keys) }
  }

  @Test func snapshotAndConfigRoundTrip() throws {
    var rng = SeededRandom(seed: 5)
    var s = Snapshot(time: Date(timeIntervalSince1970: 1_800_000_000.25), tree: Self.randomID(&rng), paths: ["/srv"], hostname: "h", username: "u", tags: ["t"], programVersion: "x")
    s.summary = .init(backupStart: s.time, backupEnd: s.time + 5)
    let back = try SnapshotFormat.open(SnapshotFormat.seal(s, keys: keys), keys: keys)
    #expect(back.tree == s.tree && back.paths == s.paths && back.tags == s.tags)
    #expect(abs(back.time.timeIntervalSince(s.time)) < 1e-6)
    let cfg = RepositoryConfig()
    #expect(try RepositoryConfig.open(cfg.sealed(keys: keys), keys: keys) == cfg)
  }

  @Test func rfc3339() {
    let d = Date(timeIntervalSince1970: 1_800_000_000.5)
    #expect(Rfc3339.format(d) == "2027-01-15T08:00:00.500000000Z")
    #expect(Rfc3339.parse(Rfc3339.format(d)) == d)
    for bad in ["garbage", "", "Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+01:00",
      "2026-13-01T00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z"] {
      #expect(Rfc3339.parse(bad) == nil, "\(bad)")
    }
    #expect(Rfc3339.parse("2026-11-29T01:02:03Z") == Date(timeIntervalSince1970: 1_795_914_123))
  }

  // MARK: decoders given random bytes fail cleanly, never crash

  @Test func decodersSurviveRandomBytes() async {
    let k = keys
    await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...300)) { bytes in
      _ = try? TreeFormat.decode(bytes)
      _ = try? TreeFormat.decode(Array("LBTR".utf8) + [1] + bytes)
      _ = try? IndexFile.decode(bytes)
      _ = try? IndexFile.decode(Array("LBIX".utf8) + [1] + bytes)
      _ = try? PackFormat.decodeHeader(Array("LBPH".utf8) + [1] + bytes)
      _ = try? PackFormat.parseHeader(tail: bytes, packLength: bytes.count, keys: k)
      _ = try? KeyFile.decode(bytes)
      _ = try? SnapshotFormat.open(bytes, keys: k)
      var r = ByteReader(bytes)
      while (try? r.varint()) != nil {}
    }
  }

  /// Mutating valid encodings (the inputs most likely to reach deep decoder paths).
  @Test func decodersSurviveMutatedValidData() throws {
    var rng = SeededRandom(seed: 6)
    let tree = Tree(nodes: (0..<10).map { Self.randomNode(&rng, name: Array("n\($0)".utf8)) })
    let encodings = [
      TreeFormat.encode(tree),
      IndexFile(packs: [.init(id: Self.randomID(&rng), entries: [PackEntry(type: .data, compressed: true, offset: 0, length: 100, rawLength: 300, id: Self.randomID(&rng))])]).encode(),
    ]
    for e in encodings {
      for _ in 0..<2000 {
        var m = e
        for _ in 0..<Int(rng.next() % 4 + 1) {
          m[Int(rng.next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: rng.next())
        }
        if rng.next() % 4 == 0 { m = Array(m.prefix(Int(rng.next() % UInt64(m.count)))) }
        _ = try? TreeFormat.decode(m)
        _ = try? IndexFile.decode(m)
      }
    }
  }
}
