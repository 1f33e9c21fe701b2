import Foundation
import LifeboatFormat
import LifeboatTesting
import Testing

@Suite struct ChunkerTests {
  let small = Chunker.Configuration(minSize: 2 << 10, normalSize: 8 << 10, maxSize: 64 << 10)

  func cuts(_ data: [UInt8], _ chunker: Chunker) -> [Int] {
    var out = [Int]()
    var start = 0
    data.withUnsafeBytes { raw in
      while start < data.count {
        let n = chunker.nextCut(UnsafeRawBufferPointer(rebasing: raw[start...]), atEnd: true)!
        out.append(n)
        start += n
      }
    }
    return out
  }

  @Test func deterministicForSeedAndDifferentAcrossSeeds() {
    var rng = SeededRandom(seed: 7)
    let data = rng.bytes(2 << 20)
    let a = Chunker(seed: Array(repeating: 1, count: 32), configuration: small)
    let b = Chunker(seed: Array(repeating: 1, count: 32), configuration: small)
    let c = Chunker(seed: Array(repeating: 2, count: 32), configuration: small)
    #expect(cuts(data, a) == cuts(data, b))
    #expect(cuts(data, a) != cuts(data, c))
    #expect(cuts(data, a).reduce(0, +) == data.count)
  }

  @Test func respectsBoundsAndAimsAtTheNormalSize() {
    var rng = SeededRandom(seed: 11)
    let data = rng.bytes(8 << 20)
    let chunker = Chunker(seed: rng.bytes(32), configuration: small)
    let sizes = cuts(data, chunker)
    #expect(sizes.dropLast().allSatisfy { $0 >= small.minSize && $0 <= small.maxSize })
    let mean = Double(data.count) / Double(sizes.count)
    #expect(mean > Double(small.normalSize) * 0.6 && mean < Double(small.normalSize) * 1.6, "mean \(mean)")
  }

  @Test func defaultConfigurationMeanIsNearOneMebibyte() {
    var rng = SeededRandom(seed: 3)
    let data = rng.bytes(48 << 20)
    let chunker = Chunker(seed: rng.bytes(32))
    let sizes = cuts(data, chunker)
    #expect(sizes.dropLast().allSatisfy { $0 >= 512 << 10 && $0 <= 8 << 20 })
    let mean = Double(data.count) / Double(sizes.count)
    #expect(mean > 700_000 && mean < 1_500_000, "mean chunk \(mean)")
  }

  /// Inserting bytes near the start changes only the chunks around the insertion.
  @Test func boundariesResynchroniseAfterAnInsertion() {
    var rng = SeededRandom(seed: 21)
    let data = rng.bytes(4 << 20)
    let chunker = Chunker(seed: rng.bytes(32), configuration: small)
    let shifted = Array(data[0..<5000]) + rng.bytes(37) + Array(data[5000...])
    func chunkSet(_ d: [UInt8]) -> Set<[UInt8]> {
      var s = Set<[UInt8]>()
      var start = 0
      for n in cuts(d, chunker) {
        s.insert(Array(d[start..<start + n]))
        start += n
      }
      return s
    }
    let a = chunkSet(data)
    let b = chunkSet(shifted)
    let shared = a.intersection(b).count
    #expect(Double(shared) / Double(a.count) > 0.9, "only \(shared) of \(a.count) chunks survived")
  }

  @Test func needsMoreDataUnlessAtEnd() {
    let chunker = Chunker(seed: [1], configuration: small)
    let data = [UInt8](repeating: 0, count: 1000)
    data.withUnsafeBytes { raw in
      #expect(chunker.nextCut(raw, atEnd: false) == nil)
      #expect(chunker.nextCut(raw, atEnd: true) == 1000)
    }
    let big = [UInt8](repeating: 0, count: small.maxSize + 10)
    big.withUnsafeBytes { raw in
      // All zeros never hit the mask: the maximum size cuts.
      #expect(chunker.nextCut(raw, atEnd: false) == small.maxSize)
    }
  }
}
