import Crypto
public import LifeboatCore

/// Where one blob lives inside a pack and how to read it back.
public struct PackEntry: Hashable, Sendable {
  public var type: BlobType
  /// zstd-compressed before encryption (otherwise stored raw).
  public var compressed: Bool
  public var offset: UInt32
  /// Stored length: the sealed envelope, compressed or not.
  public var length: UInt32
  /// Plaintext length of the blob.
  public var rawLength: UInt32
  public var id: ID

  public init(
    type: BlobType, compressed: Bool, offset: UInt32, length: UInt32, rawLength: UInt32, id: ID
  ) {
    self.type = type
    self.compressed = compressed
    self.offset = offset
    self.length = length
    self.rawLength = rawLength
    self.id = id
  }
}

/// Pack file layout: `blob₀ ‖ blob₁ ‖ … ‖ sealed header ‖ u32le(sealed header length)`.
///
/// Each blob is an `Envelope` under the data key (purpose `blob`) of the zstd frame or the raw
/// plaintext. The header lists every blob in order (offsets are implicit) and is sealed under
/// the metadata key (purpose `pack-header`), so a pack reveals neither blob IDs nor types.
public enum PackFormat {
  static let headerMagic: [UInt8] = Array("LBPH".utf8)
  static let entryLength = 1 + 1 + 4 + 4 + 32
  public static let maxHeaderLength = 16 << 20

  public static func encodeHeader(_ entries: [PackEntry]) -> [UInt8] {
    var w = ByteWriter(capacity: 8 + entries.count * entryLength)
    w.raw(headerMagic)
    w.u8(1)
    w.varint(UInt64(entries.count))
    for e in entries {
      w.u8(e.type.rawValue)
      w.u8(e.compressed ? 1 : 0)
      w.u32(e.length)
      w.u32(e.rawLength)
      w.id(e.id)
    }
    return w.bytes
  }

  public static func decodeHeader(_ bytes: [UInt8]) throws -> [PackEntry] {
    var r = ByteReader(bytes)
    guard Array(try r.raw(4)) == headerMagic else {
      throw LifeboatError.corrupt("pack header: bad magic")
    }
    guard try r.u8() == 1 else { throw LifeboatError.corrupt("pack header: unknown version") }
    let count = try r.count(max: r.remaining / entryLength)
    var entries = [PackEntry]()
    entries.reserveCapacity(count)
    var offset: UInt64 = 0
    for _ in 0..<count {
      guard let type = BlobType(rawValue: try r.u8()) else {
        throw LifeboatError.corrupt("pack header: unknown blob type")
      }
      let flags = try r.u8()
      guard flags <= 1 else { throw LifeboatError.corrupt("pack header: unknown flags") }
      let length = try r.u32()
      let rawLength = try r.u32()
      let id = try r.id()
      guard offset + UInt64(length) <= UInt64(UInt32.max) else {
        throw LifeboatError.corrupt("pack header: offsets overflow")
      }
      entries.append(
        PackEntry(
          type: type, compressed: flags == 1, offset: UInt32(offset), length: length,
          rawLength: rawLength, id: id))
      offset += UInt64(length)
    }
    guard r.isAtEnd else { throw LifeboatError.corrupt("pack header: trailing bytes") }
    return entries
  }

  /// How many bytes at the end of a pack hold its header and the header's length, read from
  /// the last 4 bytes of `tail`; throws when that length cannot be right for the pack.
  public static func tailLength(_ tail: [UInt8], packLength: Int) throws -> Int {
    guard tail.count >= 4, packLength >= 4 else {
      throw LifeboatError.corrupt("pack too short (\(packLength) bytes)")
    }
    var r = ByteReader(tail, offset: tail.count - 4)
    let headerLength = Int(try r.u32())
    guard headerLength >= Envelope.overhead, headerLength <= maxHeaderLength,
      headerLength + 4 <= packLength
    else { throw LifeboatError.corrupt("pack header length \(headerLength) is invalid") }
    return headerLength + 4
  }

  /// Parses the header from the tail of a pack. `tail` holds the last `tail.count` bytes of a
  /// pack of `packLength` bytes. Returns nil if the tail is too short to hold the whole header
  /// (the caller reads more and tries again).
  public static func parseHeader(
    tail: [UInt8], packLength: Int, keys: RepositoryKeys
  ) throws -> [PackEntry]? {
    let headerLength = try tailLength(tail, packLength: packLength) - 4
    guard headerLength + 4 <= tail.count else { return nil }
    let sealed = tail[(tail.count - 4 - headerLength)..<(tail.count - 4)]
    let plain = try sealed.withUnsafeBytes {
      try Envelope.open($0, key: keys.metadataKey, purpose: .packHeader)
    }
    let entries = try decodeHeader(plain)
    let dataEnd = packLength - 4 - headerLength
    if Int(entries.last.map { $0.offset + $0.length } ?? 0) != dataEnd {
      throw LifeboatError.corrupt("pack header does not describe the pack's data")
    }
    return entries
  }

  /// Seals one blob for a pack: compresses when that helps, then encrypts.
  public static func sealBlob(
    _ plaintext: UnsafeRawBufferPointer, keys: RepositoryKeys, compressor: ZstdCompressor?
  ) -> (bytes: [UInt8], compressed: Bool) {
    if let compressor, let packed = compressor.compress(plaintext) {
      return (packed.withUnsafeBytes { Envelope.seal($0, key: keys.blobKey) }, true)
    }
    return (Envelope.seal(plaintext, key: keys.blobKey), false)
  }

  /// Opens one stored blob and checks that its plaintext has the expected keyed ID.
  public static func openBlob(
    _ stored: UnsafeRawBufferPointer, entry: PackEntry, keys: RepositoryKeys,
    decompressor: ZstdDecompressor
  ) throws -> [UInt8] {
    let length = Int(entry.rawLength)
    guard length <= 1 << 30 else {
      throw LifeboatError.corrupt("implausible blob length \(length)")
    }
    return try [UInt8](unsafeUninitializedCapacity: length) { buf, initialized in
      try openBlob(stored, entry: entry, keys: keys, decompressor: decompressor, into: UnsafeMutableRawBufferPointer(buf))
      initialized = length
    }
  }

  /// Opens one stored blob into `output` (exactly `entry.rawLength` bytes, the caller's
  /// reused buffer) and checks that the plaintext has the expected keyed ID.
  public static func openBlob(
    _ stored: UnsafeRawBufferPointer, entry: PackEntry, keys: RepositoryKeys,
    decompressor: ZstdDecompressor, into output: UnsafeMutableRawBufferPointer
  ) throws {
    precondition(output.count == Int(entry.rawLength))
    try Envelope.withOpened(stored, key: keys.blobKey) { inner in
      if entry.compressed {
        try decompressor.decompress(inner, into: output)
      } else {
        guard inner.count == output.count else {
          throw LifeboatError.corrupt("blob \(entry.id.short) has \(inner.count) bytes, expected \(output.count)")
        }
        output.copyMemory(from: inner)
      }
    }
    guard keys.blobID(UnsafeRawBufferPointer(output)) == entry.id else {
      throw LifeboatError.corrupt("blob \(entry.id.short) does not match its ID")
    }
  }

  /// Checks a stored blob as `openBlob` does, without keeping its plaintext: it is
  /// decompressed in pieces into the decompressor's small buffer and hashed as it comes, so a
  /// check holds no blob-sized plaintext (up to 8 MiB per worker) and maps no fresh memory.
  public static func verifyBlob(
    _ stored: UnsafeRawBufferPointer, entry: PackEntry, keys: RepositoryKeys,
    decompressor: ZstdDecompressor
  ) throws {
    let (length, id) = try Envelope.withOpened(stored, key: keys.blobKey) { inner in
      var hasher = keys.blobHasher()
      guard entry.compressed else {
        hasher.update(inner)
        return (inner.count, hasher.finish())
      }
      let n = try decompressor.stream(inner, expectedLength: Int(entry.rawLength)) { hasher.update($0) }
      return (n, hasher.finish())
    }
    guard length == Int(entry.rawLength), id == entry.id else {
      throw LifeboatError.corrupt("blob \(entry.id.short) does not match its ID")
    }
  }
}

extension PackFormat {
  /// A second pack object holding the same blobs as `pack` at the same offsets: the blob bytes
  /// are shared, the header is sealed again (fresh salt), so the bytes and the name differ
  /// (docs/design.md §7, mirrors of tree packs; docs/adr/0006-tree-mirrors.md).
  public static func mirror(of pack: [UInt8], entries: [PackEntry], keys: RepositoryKeys) -> (id: ID, bytes: [UInt8]) {
    let dataEnd = entries.map { Int($0.offset) + Int($0.length) }.max() ?? 0
    let header = Envelope.seal(encodeHeader(entries), key: keys.metadataKey, purpose: .packHeader)
    var bytes = [UInt8]()
    bytes.reserveCapacity(dataEnd + header.count + 4)
    bytes.append(contentsOf: pack[0..<dataEnd])
    bytes.append(contentsOf: header)
    withUnsafeBytes(of: UInt32(header.count).littleEndian) { bytes.append(contentsOf: $0) }
    let id = bytes.withUnsafeBytes { StorageHash.id($0) }
    return (id, bytes)
  }
}

/// Accumulates sealed blobs into one pack. Not thread-safe; owned by one worker at a time.
public struct PackBuilder: Sendable {
  public private(set) var bytes: [UInt8] = []
  public private(set) var entries: [PackEntry] = []

  public init(capacity: Int) {
    bytes.reserveCapacity(capacity)
  }

  public var count: Int { bytes.count }
  public var isEmpty: Bool { entries.isEmpty }

  public mutating func add(
    id: ID, type: BlobType, sealed: [UInt8], compressed: Bool, rawLength: Int
  ) -> PackEntry {
    let entry = PackEntry(
      type: type, compressed: compressed, offset: UInt32(bytes.count),
      length: UInt32(sealed.count), rawLength: UInt32(rawLength), id: id)
    bytes.append(contentsOf: sealed)
    entries.append(entry)
    return entry
  }

  /// Empties the builder for the next pack, keeping its buffer (no page faults on reuse).
  public mutating func reset() {
    bytes.removeAll(keepingCapacity: true)
    entries.removeAll(keepingCapacity: true)
  }

  /// Appends the sealed header and trailer; returns the finished pack and its storage ID.
  /// Call `reset()` before adding blobs for another pack.
  public mutating func finish(keys: RepositoryKeys) -> (id: ID, bytes: [UInt8], entries: [PackEntry]) {
    let header = Envelope.seal(
      PackFormat.encodeHeader(entries), key: keys.metadataKey, purpose: .packHeader)
    var tail = header
    withUnsafeBytes(of: UInt32(header.count).littleEndian) { tail.append(contentsOf: $0) }
    bytes.append(contentsOf: tail)
    // Hashed here, by the uploading worker, not while blobs are added under the saver's lock.
    let id = bytes.withUnsafeBytes { StorageHash.id($0) }
    return (id, bytes, entries)
  }
}
