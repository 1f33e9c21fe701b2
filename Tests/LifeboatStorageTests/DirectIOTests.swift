import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import LifeboatCore
import LifeboatStorage
import LifeboatTesting
import PropertyBased
import Testing

/// DirectIO on the test directory's real file system (ext4 on the CI machine), on tmpfs, and
/// without a direct descriptor, so both the direct path and the fallback are exercised.
@Suite struct DirectIOTests {
  /// Whether `path` is on a file system that takes O_DIRECT (not tmpfs): the type of the
  /// longest mount point above it in /proc/self/mounts.
  static func supportsDirect(_ path: String) -> Bool {
    guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return false }
    var best = (point: "", type: "")
    for line in mounts.split(separator: "\n") {
      let f = line.split(separator: " ")
      guard f.count > 2 else { continue }
      let point = String(f[1])
      let under = path == point || path.hasPrefix(point == "/" ? "/" : point + "/")
      if under && point.count > best.point.count { best = (point, String(f[2])) }
    }
    return !["tmpfs", "ramfs", ""].contains(best.type)
  }

  /// Splits `file` into pieces of random length (some below, some above the direct-write
  /// minimum, at unaligned offsets), writes them in random order as a restore does, each
  /// through its own pair of descriptors, and returns what is on disk.
  ///
  /// `phased`: each piece is first copied into a 4 KiB-aligned buffer at its file offset's
  /// distance from a block boundary, as a restore places a blob's plaintext, so the direct
  /// writes go straight from the caller's memory instead of through the bounce buffer.
  static func writeShuffled(
    _ content: [UInt8], to path: String, seed: UInt64, direct useDirect: Bool = true, phased: Bool = false
  ) throws -> (disk: [UInt8], directOpens: Int) {
    var rng = SeededRandom(seed: seed)
    var pieces: [Range<Int>] = []
    var at = 0
    while at < content.count {
      let len = Int.random(in: 1...(700 << 10), using: &rng)
      pieces.append(at..<min(content.count, at + len))
      at += len
    }
    pieces.shuffle(using: &rng)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    try #require(fd >= 0)
    close(fd)
    var directOpens = 0
    for piece in pieces {
      let buffered = open(path, O_WRONLY | O_CLOEXEC)
      let direct = useDirect ? DirectIO.openDirect(path) : -1
      if direct >= 0 { directOpens += 1 }
      let rc = content.withUnsafeBytes { raw -> Int32 in
        guard phased else {
          return DirectIO.write(
            buffered: buffered, direct: direct, raw.baseAddress! + piece.lowerBound, count: piece.count,
            at: piece.lowerBound)
        }
        let phase = piece.lowerBound % DirectIO.alignment
        let aligned = UnsafeMutableRawPointer.allocate(byteCount: phase + piece.count, alignment: DirectIO.alignment)
        defer { aligned.deallocate() }
        (aligned + phase).copyMemory(from: raw.baseAddress! + piece.lowerBound, byteCount: piece.count)
        return DirectIO.write(
          buffered: buffered, direct: direct, aligned + phase, count: piece.count, at: piece.lowerBound)
      }
      if direct >= 0 { close(direct) }
      close(buffered)
      #expect(rc == 0)
    }
    return (Array(try Data(contentsOf: URL(fileURLWithPath: path))), directOpens)
  }

  @Test func piecesWrittenInAnyOrderGiveTheFileByteForByte() async throws {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let direct = Self.supportsDirect(dir.path)
    await propertyCheck(count: 12, input: Gen.uint64(in: 1...UInt64.max)) { seed in
      var rng = SeededRandom(seed: seed)
      let size = Int.random(in: 0...(5 << 20), using: &rng)
      let content = rng.bytes(size)
      let path = dir.sub("f-\(seed)")
      let result = try #require(try? Self.writeShuffled(content, to: path, seed: seed))
      #expect(result.disk == content, "seed \(seed), size \(size)")
      // On a file system that takes O_DIRECT the direct path really ran.
      if direct && size > 0 { #expect(result.directOpens > 0) }
      unlink(path)
    }
  }

  @Test func piecesAtTheirPhaseInAlignedMemoryGiveTheFileByteForByte() async throws {
    // The restore's path: no bounce copy, one write per piece's aligned middle.
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    await propertyCheck(count: 8, input: Gen.uint64(in: 1...UInt64.max)) { seed in
      var rng = SeededRandom(seed: seed)
      let content = rng.bytes(Int.random(in: 0...(5 << 20), using: &rng))
      let path = dir.sub("p-\(seed)")
      let result = try #require(try? Self.writeShuffled(content, to: path, seed: seed, phased: true))
      #expect(result.disk == content, "seed \(seed), size \(content.count)")
      unlink(path)
    }
  }

  @Test func withoutADirectDescriptorEverythingGoesThroughThePageCache() throws {
    // What a file system that refuses O_DIRECT, or LIFEBOAT_DIRECT_IO=off, leads to.
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    var rng = SeededRandom(seed: 7)
    let content = rng.bytes(3 << 20 + 123)
    let result = try Self.writeShuffled(content, to: dir.sub("f"), seed: 7, direct: false)
    #expect(result.directOpens == 0)
    #expect(result.disk == content)
  }

  @Test func tmpfsGetsTheSameBytes() throws {
    // tmpfs refuses O_DIRECT before Linux 6.6 and takes it since; either way the bytes land.
    let dir = "/dev/shm"
    try #require(FileManager.default.fileExists(atPath: dir), "Linux mounts tmpfs at /dev/shm")
    let path = "\(dir)/lifeboat-directio-\(getpid())"
    defer { unlink(path) }
    var rng = SeededRandom(seed: 8)
    let content = rng.bytes(3 << 20 + 321)
    #expect(try Self.writeShuffled(content, to: path, seed: 8).disk == content)
  }

  @Test func alignedBufferReadsAnyRangeAndNothingBeyondTheEnd() throws {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    var rng = SeededRandom(seed: 11)
    let content = rng.bytes(2 << 20 + 4321)
    let path = dir.sub("r")
    try Data(content).write(to: URL(fileURLWithPath: path))
    let fd = open(path, O_RDONLY | O_CLOEXEC | DirectIO.readFlag)
    try #require(fd >= 0)
    defer { close(fd) }
    let buffer = AlignedBuffer()
    defer { buffer.close() }
    for _ in 0..<200 {
      let offset = Int.random(in: 0...content.count, using: &rng)
      let count = Int.random(in: 0...(content.count - offset), using: &rng)
      let got = buffer.read(fd, offset: offset, count: count) { $0.map(Array.init) }
      #expect(got == Array(content[offset..<offset + count]), "offset \(offset) count \(count)")
    }
    // A range that runs past the end of the file is reported, not padded.
    #expect(buffer.read(fd, offset: content.count - 10, count: 11) { $0 == nil })
    #expect(buffer.read(fd, offset: content.count + 4096, count: 1) { $0 == nil })
  }

  @Test func localBackendSavesLargeUnalignedObjectsExactly() async throws {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let b = LocalBackend(path: dir.sub("repo"))
    try b.createLayout()
    var rng = SeededRandom(seed: 3)
    for size in [DirectIO.minimumLength - 1, DirectIO.minimumLength, 4 << 20, 16 << 20 + 777] {
      let data = rng.bytes(size)
      let name = String(repeating: "c", count: 62) + String(format: "%02x", size & 0xff)
      try await b.save(Handle(.pack, name), data: data)
      #expect(try await b.load(Handle(.pack, name), offset: 0, length: nil) == data, "size \(size)")
      #expect(try await b.load(Handle(.pack, name), offset: size - 5, length: 5) == Array(data.suffix(5)))
    }
  }
}
