// LifeboatFormat — pure bytes: the chunker, the crypto envelope, compression and the codecs of
// packs, indexes, trees, key files and the config. No I/O, no clock. docs/design.md is the spec.

public import LifeboatCore

/// Appends little-endian integers, unsigned LEB128 varints and length-prefixed bytes.
public struct ByteWriter: Sendable {
  public private(set) var bytes: [UInt8]

  public init(capacity: Int = 256) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  public mutating func u8(_ v: UInt8) { bytes.append(v) }

  public mutating func u32(_ v: UInt32) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
  }

  public mutating func u64(_ v: UInt64) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
  }

  public mutating func varint(_ v: UInt64) {
    var v = v
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  /// Zig-zag encoded signed varint.
  public mutating func svarint(_ v: Int64) {
    varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
  }

  public mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 {
    bytes.append(contentsOf: data)
  }

  public mutating func lengthPrefixed<C: Collection>(_ data: C) where C.Element == UInt8 {
    varint(UInt64(data.count))
    bytes.append(contentsOf: data)
  }

  public mutating func id(_ id: ID) {
    for w in [id.w0, id.w1, id.w2, id.w3] { u64BigEndian(w) }
  }

  private mutating func u64BigEndian(_ v: UInt64) {
    withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
  }
}

/// Reads what `ByteWriter` wrote. Every read is bounds-checked and throws `corrupt` instead of
/// trapping, so decoders given arbitrary bytes fail cleanly.
public struct ByteReader {
  public let bytes: [UInt8]
  public private(set) var offset: Int
  private let end: Int

  public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
    self.bytes = bytes
    self.offset = offset
    self.end = end ?? bytes.count
  }

  public var remaining: Int { end - offset }
  public var isAtEnd: Bool { offset >= end }

  private func need(_ n: Int) throws {
    guard n >= 0, n <= end - offset else {
      throw LifeboatError.corrupt("truncated data: needed \(n) bytes, \(end - offset) left")
    }
  }

  public mutating func u8() throws -> UInt8 {
    try need(1)
    defer { offset += 1 }
    return bytes[offset]
  }

  public mutating func u32() throws -> UInt32 {
    try need(4)
    var v: UInt32 = 0
    for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
    offset += 4
    return v
  }

  public mutating func u64() throws -> UInt64 {
    try need(8)
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    offset += 8
    return v
  }

  public mutating func varint() throws -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      let b = try u8()
      if shift == 63 && b > 1 { throw LifeboatError.corrupt("varint overflows 64 bits") }
      result |= UInt64(b & 0x7f) << shift
      if b & 0x80 == 0 { return result }
      shift += 7
      if shift > 63 { throw LifeboatError.corrupt("varint too long") }
    }
  }

  public mutating func svarint() throws -> Int64 {
    let u = try varint()
    return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
  }

  /// A varint that must fit the given bound (a count or a length).
  public mutating func count(max: Int) throws -> Int {
    let v = try varint()
    guard v <= UInt64(max) else { throw LifeboatError.corrupt("length \(v) exceeds \(max)") }
    return Int(v)
  }

  public mutating func raw(_ n: Int) throws -> ArraySlice<UInt8> {
    try need(n)
    defer { offset += n }
    return bytes[offset..<offset + n]
  }

  public mutating func lengthPrefixed(max: Int = 1 << 26) throws -> [UInt8] {
    let n = try count(max: min(max, remaining))
    return Array(try raw(n))
  }

  public mutating func id() throws -> ID {
    try need(32)
    let start = offset
    offset += 32
    return bytes.withUnsafeBytes { ID(raw: UnsafeRawBufferPointer(rebasing: $0[start..<start + 32])) }
  }
}
