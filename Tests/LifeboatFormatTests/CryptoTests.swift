import Crypto
import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatTesting
import PropertyBased
import Testing

@Suite struct CryptoTests {
  let keys = try! RepositoryKeys(masterSecret: Array(0..<64))

  @Test func envelopeRoundTripsAndIsRandomised() throws {
    var rng = SeededRandom(seed: 1)
    for size in [0, 1, 15, 16, 17, 1000, 1 << 20] {
      let plain = rng.bytes(size)
      let a = Envelope.seal(plain, key: keys.dataKey, purpose: .blob)
      let b = Envelope.seal(plain, key: keys.dataKey, purpose: .blob)
      #expect(a.count == size + Envelope.overhead)
      #expect(a != b, "two seals of the same plaintext must differ (fresh salt)")
      #expect(try Envelope.open(a, key: keys.dataKey, purpose: .blob) == plain)
    }
  }

  @Test func everyFlippedBitIsDetected() {
    var rng = SeededRandom(seed: 2)
    let plain = rng.bytes(200)
    let sealed = Envelope.seal(plain, key: keys.metadataKey, purpose: .index)
    for bit in 0..<(sealed.count * 8) {
      var t = sealed
      t[bit / 8] ^= UInt8(1 << (bit % 8))
      #expect(throws: LifeboatError.self) { try Envelope.open(t, key: keys.metadataKey, purpose: .index) }
    }
    #expect(throws: LifeboatError.self) { try Envelope.open(Array(sealed.dropLast()), key: keys.metadataKey, purpose: .index) }
  }

  @Test func keysAndPurposesAreSeparated() throws {
    let sealed = Envelope.seal([1, 2, 3], key: keys.dataKey, purpose: .blob)
    #expect(throws: LifeboatError.self) { try Envelope.open(sealed, key: keys.metadataKey, purpose: .blob) }
    #expect(throws: LifeboatError.self) { try Envelope.open(sealed, key: keys.dataKey, purpose: .snapshot) }
    let raw = [keys.idKey, keys.dataKey, keys.metadataKey].map { $0.withUnsafeBytes { Array($0) } }
    #expect(Set(raw).count == 3)
    #expect(keys.blobID([1, 2, 3]) != StorageHash.id([1, 2, 3]), "blob IDs are keyed, not bare hashes")
    let other = try RepositoryKeys(masterSecret: Array(repeating: 9, count: 64))
    #expect(keys.blobID([1, 2, 3]) != other.blobID([1, 2, 3]))
  }

  @Test func blobSealingCompressesWhenItHelpsAndVerifiesIDs() throws {
    var rng = SeededRandom(seed: 3)
    let c = ZstdCompressor(level: 3)
    let d = ZstdDecompressor()
    for (data, shouldCompress) in [(rng.compressibleBytes(100_000), true), (rng.bytes(100_000), false)] {
      let (sealed, compressed) = data.withUnsafeBytes { PackFormat.sealBlob($0, keys: keys, compressor: c) }
      #expect(compressed == shouldCompress)
      let entry = PackEntry(type: .data, compressed: compressed, offset: 0, length: UInt32(sealed.count), rawLength: UInt32(data.count), id: keys.blobID(data))
      let back = try sealed.withUnsafeBytes { try PackFormat.openBlob($0, entry: entry, keys: keys, decompressor: d) }
      #expect(back == data)
      var wrongID = entry
      wrongID.id = keys.blobID([0])
      #expect(throws: LifeboatError.self) {
        try sealed.withUnsafeBytes { try PackFormat.openBlob($0, entry: wrongID, keys: keys, decompressor: d) }
      }
    }
  }

  @Test func openBlobIntoABufferFillsExactlyItsRange() throws {
    var rng = SeededRandom(seed: 12)
    let c = ZstdCompressor(level: 3)
    let d = ZstdDecompressor()
    for data in [rng.compressibleBytes(300_000), rng.bytes(300_000)] {
      let (sealed, compressed) = data.withUnsafeBytes { PackFormat.sealBlob($0, keys: keys, compressor: c) }
      let entry = PackEntry(
        type: .data, compressed: compressed, offset: 0, length: UInt32(sealed.count),
        rawLength: UInt32(data.count), id: keys.blobID(data))
      // The restore opens blobs at an offset inside a larger, reused buffer.
      var buffer = [UInt8](repeating: 0xEE, count: data.count + 5000)
      try buffer.withUnsafeMutableBytes { out in
        try sealed.withUnsafeBytes {
          try PackFormat.openBlob(
            $0, entry: entry, keys: keys, decompressor: d,
            into: UnsafeMutableRawBufferPointer(rebasing: out[1234..<1234 + data.count]))
        }
      }
      #expect(Array(buffer[1234..<1234 + data.count]) == data)
      #expect(buffer[..<1234].allSatisfy { $0 == 0xEE } && buffer[(1234 + data.count)...].allSatisfy { $0 == 0xEE })
      var wrongID = entry
      wrongID.id = keys.blobID([0])
      #expect(throws: LifeboatError.self) {
        try buffer.withUnsafeMutableBytes { out in
          try sealed.withUnsafeBytes {
            try PackFormat.openBlob(
              $0, entry: wrongID, keys: keys, decompressor: d,
              into: UnsafeMutableRawBufferPointer(rebasing: out[0..<data.count]))
          }
        }
      }
    }
  }

  /// verifyBlob (check's streaming path) accepts exactly what openBlob accepts: any size,
  /// compressed or not; a wrong ID, a wrong length or a flipped byte is refused by both.
  @Test func verifyBlobAgreesWithOpenBlob() async {
    let k = keys
    let gen = Gen.uint64(in: 0...UInt64.max)
    await propertyCheck(count: 40, input: gen) { seed in
      var rng = SeededRandom(seed: seed)
      let size = Int.random(in: 1...(3 << 20), using: &rng)
      let data = seed % 2 == 0 ? rng.compressibleBytes(size) : rng.bytes(size)
      let c = ZstdCompressor(level: 3)
      let d = ZstdDecompressor()
      let (sealed, compressed) = data.withUnsafeBytes { PackFormat.sealBlob($0, keys: k, compressor: c) }
      let entry = PackEntry(
        type: .data, compressed: compressed, offset: 0, length: UInt32(sealed.count),
        rawLength: UInt32(data.count), id: k.blobID(data))
      func verify(_ e: PackEntry, _ bytes: [UInt8]) -> Bool {
        (try? bytes.withUnsafeBytes { try PackFormat.verifyBlob($0, entry: e, keys: k, decompressor: d) }) != nil
      }
      func open(_ e: PackEntry, _ bytes: [UInt8]) -> Bool {
        (try? bytes.withUnsafeBytes { try PackFormat.openBlob($0, entry: e, keys: k, decompressor: d) }) != nil
      }
      #expect(verify(entry, sealed) && open(entry, sealed), "seed \(seed)")
      var wrongID = entry
      wrongID.id = k.blobID([0])
      var shorter = entry
      shorter.rawLength -= 1
      var longer = entry
      longer.rawLength += 1
      var flipped = sealed
      flipped[Int.random(in: 0..<flipped.count, using: &rng)] ^= 0x40
      for (e, bytes) in [(wrongID, sealed), (shorter, sealed), (longer, sealed), (entry, flipped)] {
        #expect(!verify(e, bytes) && !open(e, bytes), "seed \(seed)")
      }
    }
  }

  @Test func zstdStreamMatchesOneShotAndRefusesBadFrames() throws {
    var rng = SeededRandom(seed: 5)
    let data = rng.compressibleBytes(1_000_000)
    let packed = try #require(data.withUnsafeBytes { ZstdCompressor().compress($0) })
    let d = ZstdDecompressor()
    var out = [UInt8]()
    let n = try packed.withUnsafeBytes { try d.stream($0, expectedLength: data.count) { out.append(contentsOf: $0) } }
    #expect(n == data.count && out == data)
    // The context is reused: a second stream starts afresh.
    out.removeAll()
    _ = try packed.withUnsafeBytes { try d.stream($0, expectedLength: data.count) { out.append(contentsOf: $0) } }
    #expect(out == data)
    // A frame that expands beyond what the index promised, a cut frame, garbage.
    #expect(throws: LifeboatError.self) { try packed.withUnsafeBytes { try d.stream($0, expectedLength: data.count - 1) { _ in } } }
    #expect(throws: LifeboatError.self) { try Array(packed.dropLast(7)).withUnsafeBytes { try d.stream($0, expectedLength: data.count) { _ in } } }
    #expect(throws: LifeboatError.self) { try rng.bytes(5000).withUnsafeBytes { try d.stream($0, expectedLength: 5000) { _ in } } }
  }

  @Test(arguments: [KeyDerivation.scrypt(logN: 10, r: 8, p: 1), .pbkdf2(rounds: 1000)])
  func keyFilesOpenOnlyWithTheirPassword(_ kdf: KeyDerivation) throws {
    let secret = Array(UInt8(0)..<64)
    let f = try KeyFile.create(masterSecret: secret, password: "correct horse", derivation: kdf, created: Date(timeIntervalSince1970: 0), hostname: "h", username: "u")
    let decoded = try KeyFile.decode(try f.encoded())
    #expect(decoded.derivation == kdf)
    #expect(try decoded.open(password: "correct horse") == secret)
    #expect(try decoded.open(password: "wrong") == nil)
    let json = String(decoding: try f.encoded(), as: UTF8.self)
    #expect(!json.contains("correct horse"))
  }

  /// A planted key file must not make opening the repository allocate gigabytes.
  @Test func keyFilesWithAbusiveParametersAreRefusedBeforeDerivation() throws {
    let f = try KeyFile.create(masterSecret: Array(0..<64), password: "pw", derivation: .scrypt(logN: 10, r: 8, p: 1), created: Date(), hostname: "h", username: "u")
    var json = String(decoding: try f.encoded(), as: UTF8.self)
    json = json.replacingOccurrences(of: "\"logN\" : 10", with: "\"logN\" : 22")
    let planted = try KeyFile.decode(Array(json.utf8))
    #expect(throws: LifeboatError.self) { try planted.open(password: "pw") }
  }

  @Test func defaultKDFsAreTheDocumentedOnes() {
    #expect(KeyDerivation.defaultScrypt == .scrypt(logN: 15, r: 8, p: 4))
    #expect(KeyDerivation.defaultPBKDF2 == .pbkdf2(rounds: 600_000))
  }

  @Test func zstdRoundTripAndRejectsGarbage() throws {
    var rng = SeededRandom(seed: 4)
    let data = rng.compressibleBytes(500_000)
    let packed = try #require(data.withUnsafeBytes { ZstdCompressor().compress($0) })
    #expect(packed.count < data.count / 2)
    let d = ZstdDecompressor()
    #expect(try packed.withUnsafeBytes { try d.decompress($0, expectedLength: data.count) } == data)
    #expect(throws: LifeboatError.self) { try packed.withUnsafeBytes { try d.decompress($0, expectedLength: data.count - 1) } }
    #expect(throws: LifeboatError.self) { try rng.bytes(100).withUnsafeBytes { try d.decompress($0, expectedLength: 100) } }
    // Into a caller's buffer: it must be filled exactly, neither more nor less.
    for size in [data.count - 1, data.count + 1] {
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
      defer { out.deallocate() }
      #expect(throws: LifeboatError.self) { try packed.withUnsafeBytes { try d.decompress($0, into: out) } }
    }
  }

  @Test func envelopeOpenNeverCrashesOnRandomInput() async {
    let k = keys
    await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...200)) { bytes in
      #expect(throws: LifeboatError.self) { try Envelope.open(bytes, key: k.metadataKey, purpose: .config) }
    }
  }
}
