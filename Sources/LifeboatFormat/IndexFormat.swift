public import LifeboatCore

/// The contents of one index file: which blobs each pack holds.
public struct IndexFile: Sendable, Equatable {
  public struct Pack: Sendable, Equatable {
    public var id: ID
    public var entries: [PackEntry]

    public init(id: ID, entries: [PackEntry]) {
      self.id = id
      self.entries = entries
    }
  }

  public var packs: [Pack]
  /// Index files this one replaces (written by maintenance; readers ignore superseded files).
  public var supersedes: [ID]

  public init(packs: [Pack], supersedes: [ID] = []) {
    self.packs = packs
    self.supersedes = supersedes
  }

  static let magic: [UInt8] = Array("LBIX".utf8)

  /// `"LBIX" ‖ u8 version=1 ‖ varint packs ‖ {id ‖ varint n ‖ n × {u8 type|compressed<<1 ‖
  /// varint offset ‖ varint length ‖ varint rawLength ‖ id}} ‖ varint m ‖ m × id`.
  public func encode() -> [UInt8] {
    var w = ByteWriter(capacity: 16 + packs.reduce(0) { $0 + 40 + $1.entries.count * 44 })
    w.raw(Self.magic)
    w.u8(1)
    w.varint(UInt64(packs.count))
    for p in packs {
      w.id(p.id)
      w.varint(UInt64(p.entries.count))
      for e in p.entries {
        w.u8(e.type.rawValue | (e.compressed ? 2 : 0))
        w.varint(UInt64(e.offset))
        w.varint(UInt64(e.length))
        w.varint(UInt64(e.rawLength))
        w.id(e.id)
      }
    }
    w.varint(UInt64(supersedes.count))
    for s in supersedes { w.id(s) }
    return w.bytes
  }

  public static func decode(_ bytes: [UInt8]) throws -> IndexFile {
    var r = ByteReader(bytes)
    guard Array(try r.raw(4)) == magic else { throw LifeboatError.corrupt("index: bad magic") }
    guard try r.u8() == 1 else { throw LifeboatError.corrupt("index: unknown version") }
    let packCount = try r.count(max: r.remaining / 33)
    var packs = [Pack]()
    packs.reserveCapacity(packCount)
    for _ in 0..<packCount {
      let id = try r.id()
      let n = try r.count(max: r.remaining / 36)
      var entries = [PackEntry]()
      entries.reserveCapacity(n)
      for _ in 0..<n {
        let tf = try r.u8()
        guard let type = BlobType(rawValue: tf & 1), tf >> 2 == 0 else {
          throw LifeboatError.corrupt("index: bad blob flags")
        }
        let offset = try r.varint()
        let length = try r.varint()
        let raw = try r.varint()
        guard offset <= UInt64(UInt32.max), length <= UInt64(UInt32.max),
          raw <= UInt64(UInt32.max)
        else { throw LifeboatError.corrupt("index: value out of range") }
        entries.append(
          PackEntry(
            type: type, compressed: tf & 2 != 0, offset: UInt32(offset), length: UInt32(length),
            rawLength: UInt32(raw), id: try r.id()))
      }
      packs.append(Pack(id: id, entries: entries))
    }
    let m = try r.count(max: r.remaining / 32)
    var supersedes = [ID]()
    for _ in 0..<m { supersedes.append(try r.id()) }
    guard r.isAtEnd else { throw LifeboatError.corrupt("index: trailing bytes") }
    return IndexFile(packs: packs, supersedes: supersedes)
  }
}
