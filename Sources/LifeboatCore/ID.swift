// LifeboatCore — the vocabulary of Lifeboat: identifiers, the snapshot/tree/node model, errors
// and the clock. It performs no I/O and imports nothing heavier than Foundation's value types.

import Foundation

/// A 256-bit identifier: a keyed blob ID (HMAC-SHA256 of the plaintext) or the storage name of
/// an object (SHA-256 of its bytes). Stored as four words so hashing, comparing and sorting the
/// in-memory index never touches the heap.
public struct ID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var w0: UInt64
  public var w1: UInt64
  public var w2: UInt64
  public var w3: UInt64

  public static let byteCount = 32

  public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
    self.w0 = w0
    self.w1 = w1
    self.w2 = w2
    self.w3 = w3
  }

  /// Builds an ID from exactly 32 bytes, big-endian word order so that the ordering of IDs is
  /// the ordering of their hex strings.
  public init<C: Collection>(bytes: C) where C.Element == UInt8 {
    precondition(bytes.count == 32, "an ID is 32 bytes")
    if let id = bytes.withContiguousStorageIfAvailable({ ID(raw: UnsafeRawBufferPointer($0)) }) {
      self = id
      return
    }
    self = Array(bytes).withUnsafeBytes { ID(raw: $0) }
  }

  /// The fast path: 32 bytes in memory (no generic iteration, no allocation).
  public init(raw: UnsafeRawBufferPointer) {
    precondition(raw.count >= 32, "an ID is 32 bytes")
    w0 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    w1 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    w2 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
    w3 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
  }

  /// Parses 64 lowercase or uppercase hex digits; nil for anything else.
  public init?(hex: String) {
    let utf8 = Array(hex.utf8)
    guard utf8.count == 64 else { return nil }
    var bytes = [UInt8](repeating: 0, count: 32)
    for i in 0..<32 {
      guard let hi = ID.nibble(utf8[2 * i]), let lo = ID.nibble(utf8[2 * i + 1]) else {
        return nil
      }
      bytes[i] = hi << 4 | lo
    }
    self.init(bytes: bytes)
  }

  private static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }

  public var bytes: [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(32)
    for w in [w0, w1, w2, w3] {
      for shift in stride(from: 56, through: 0, by: -8) {
        out.append(UInt8(truncatingIfNeeded: w >> UInt64(shift)))
      }
    }
    return out
  }

  public var hex: String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(64)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0xf)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The first 8 hex digits, as shown to people (like restic and git).
  public var short: String { String(hex.prefix(8)) }

  public var description: String { hex }

  public static func < (a: ID, b: ID) -> Bool {
    if a.w0 != b.w0 { return a.w0 < b.w0 }
    if a.w1 != b.w1 { return a.w1 < b.w1 }
    if a.w2 != b.w2 { return a.w2 < b.w2 }
    return a.w3 < b.w3
  }

  public func hash(into hasher: inout Hasher) {
    // The words are already uniformly random (HMAC / SHA-256 output).
    hasher.combine(w0)
  }

  public static let zero = ID(w0: 0, w1: 0, w2: 0, w3: 0)
}

extension ID: Codable {
  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let id = ID(hex: s) else {
      throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a 64-digit hex ID")
    }
    self = id
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(hex)
  }
}

/// What a blob holds: file content, or an encoded directory tree.
public enum BlobType: UInt8, Sendable, Codable, CaseIterable {
  case data = 0
  case tree = 1

  public var name: String { self == .data ? "data" : "tree" }
}
