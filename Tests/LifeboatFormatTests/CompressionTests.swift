import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatTesting
import Testing

/// Compression modes (#23): each mode's level, the probe of `auto`, and which compressor a
/// repository's config and a backup's override make.
@Suite struct CompressionTests {
  static func text(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededRandom(seed: seed)
    let words = ["school", "district", "student", "record", "attendance", "grade", "teacher", "room", "\n"]
    var out = [UInt8]()
    out.reserveCapacity(count)
    while out.count < count { out += Array((words[Int(rng.next() % UInt64(words.count))] + " ").utf8) }
    return Array(out.prefix(count))
  }

  @Test func autoStoresIncompressibleChunksRawAndCompressesTheRest() throws {
    var rng = SeededRandom(seed: 5)
    let random = rng.bytes(1 << 20)
    let text = Self.text(1 << 20, seed: 6)
    let auto = ZstdCompressor(level: 3, probe: true)
    let plain = ZstdCompressor(level: 3)
    // Random data: the probe says no; without it zstd runs and finds no gain either.
    #expect(random.withUnsafeBytes { auto.compress($0) } == nil)
    #expect(random.withUnsafeBytes { plain.compress($0) } == nil)
    // Text compresses the same with and without the probe: the probe only decides.
    let a = try #require(text.withUnsafeBytes { auto.compress($0) })
    let p = try #require(text.withUnsafeBytes { plain.compress($0) })
    #expect(a == p)
    #expect(a.count < text.count / 2)
    // Small inputs are not probed (compressing them outright costs little).
    let small = Self.text(10_000, seed: 7)
    #expect(small.withUnsafeBytes { auto.compress($0) } != nil)
    // A quarter of text before random data: worth compressing (a fifth smaller), and the
    // probe, which samples across the whole chunk, sees the text slice and says so.
    let mixed = Array(text.prefix(1 << 18)) + Array(random.prefix(3 << 18))
    let m = try #require(mixed.withUnsafeBytes { auto.compress($0) })
    #expect(m.count < mixed.count * 85 / 100)
  }

  @Test func modesLevelsAndTheRepositoryDefault() {
    #expect(CompressionMode.allCases.map(\.level) == [0, 1, 3, 12, 3])
    #expect(CompressionMode(name: "MAX") == .max)
    #expect(CompressionMode(name: "9") == nil)
    // A new repository compresses with auto.
    let fresh = RepositoryConfig()
    #expect(fresh.compressionMode == .auto && fresh.compressionLevel == 3)
    #expect(fresh.compressor()?.probe == true)
    // A repository from before modes: its level alone, no probe.
    var old = RepositoryConfig()
    old.compression = nil
    old.compressionLevel = 5
    #expect(old.compressionMode == nil)
    #expect(old.compressor()?.level == 5 && old.compressor()?.probe == false)
    #expect(old.compressionText == "zstd level 5")
    // A mode name this version does not know, or one that disagrees with the level: the level.
    old.compression = "ultra"
    #expect(old.compressor()?.level == 5)
    // A backup's override wins; off stores raw.
    #expect(fresh.compressor(.max)?.level == 12)
    #expect(fresh.compressor(.off) == nil)
    var off = RepositoryConfig()
    off.setCompression(.off)
    #expect(off.compressor() == nil && off.compressionLevel == 0)
  }

  @Test func theModeSurvivesTheConfigsSealAndAnOldConfigStillOpens() throws {
    let keys = try RepositoryKeys.generate()
    var c = RepositoryConfig()
    c.setCompression(.fastest)
    let back = try RepositoryConfig.open(try c.sealed(keys: keys), keys: keys)
    #expect(back.compressionMode == .fastest && back.compressionLevel == 1)
    // A config written before modes has no "compression" key.
    var json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(RepositoryConfig())) as? [String: Any])
    json["compression"] = nil
    let sealed = Envelope.seal(Array(try JSONSerialization.data(withJSONObject: json)), key: keys.metadataKey, purpose: .config)
    let old = try RepositoryConfig.open(sealed, keys: keys)
    #expect(old.compression == nil && old.compressionMode == .default)
  }
}
