import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatTesting
import Testing

/// A backup's `compression` (#23): what is stored, and that every mode restores the same bytes.
@Suite struct CompressionBackupTests {
  @Test func eachModeStoresWhatItSaysAndRestoresTheSameFiles() async throws {
    var results = [CompressionMode: (stored: UInt64, compressedBlobs: Int, blobs: Int)]()
    for mode in [CompressionMode.off, .fastest, .max, .auto] {
      let f = try await EngineFixture(seed: 88)
      defer { f.remove() }
      let source = f.dir.sub("data")
      try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
      var rng = SeededRandom(seed: 88)
      // Text that compresses, and random data (a photo, an archive) that does not.
      let words = (0..<200_000).map { _ in ["grade", "roster", "room", "bus", "lunch"][Int(rng.next() % 5)] }
      try FixtureTree.write(source + "/roster.txt", Array(words.joined(separator: " ").utf8))
      try FixtureTree.write(source + "/photo.jpg", rng.bytes(3 << 20))
      let b = try await f.backup([source]) { $0.compression = mode }
      #expect(b.errors.isEmpty)
      let repo = try await f.open()
      var stored: UInt64 = 0
      var compressed = 0
      var blobs = 0
      for (_, entries) in repo.index.entriesByPack() {
        for e in entries where e.type == .data {
          stored += UInt64(e.length)
          blobs += 1
          if e.compressed { compressed += 1 }
        }
      }
      results[mode] = (stored, compressed, blobs)
      let target = f.dir.sub("restore")
      let r = try await f.restore(b.snapshotID, to: target) { $0.verify = true }
      #expect(r.isComplete)
      #expect(TreeComparison.differences(source, target + source) == [])
    }
    let off = try #require(results[.off]), fastest = try #require(results[.fastest])
    let max = try #require(results[.max]), auto = try #require(results[.auto])
    #expect(off.compressedBlobs == 0)
    // The text compresses under every other mode; the random data under none.
    #expect(fastest.stored < off.stored && auto.stored < off.stored && max.stored < off.stored)
    #expect(max.stored <= auto.stored && auto.stored <= fastest.stored, "\(results)")
    #expect(auto.compressedBlobs > 0 && auto.compressedBlobs < auto.blobs, "random chunks are stored raw")
  }
}
