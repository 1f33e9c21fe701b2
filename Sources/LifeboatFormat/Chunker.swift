import Crypto

/// FastCDC content-defined chunking with normalized chunking (Xia et al., 2016/2020).
///
/// The gear table is derived from the repository's chunker seed, so two repositories cut the
/// same file at different places and chunk sizes do not reveal content across repositories.
/// A boundary depends only on the last 64 bytes before it, so an insertion shifts at most the
/// chunks around it and the following boundaries re-synchronise.
public struct Chunker: Sendable {
  public struct Configuration: Sendable, Equatable, Codable {
    public var minSize: Int
    public var normalSize: Int
    public var maxSize: Int

    /// 512 KiB / 1 MiB / 8 MiB, as in docs/design.md.
    public init(minSize: Int = 512 << 10, normalSize: Int = 1 << 20, maxSize: Int = 8 << 20) {
      self.minSize = minSize
      self.normalSize = normalSize
      self.maxSize = maxSize
    }
  }

  public let configuration: Configuration
  private let gear: [UInt64]
  /// Harder mask used before the normal size, easier mask after it (normalization level 2).
  private let maskSmall: UInt64
  private let maskLarge: UInt64

  public init(seed: [UInt8], configuration: Configuration = .init()) {
    self.configuration = configuration
    let bytes = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: seed), salt: Array("lifeboat-gear-v1".utf8),
      info: [], outputByteCount: 256 * 8
    ).withUnsafeBytes { Array($0) }
    var table = [UInt64](repeating: 0, count: 256)
    for i in 0..<256 {
      var v: UInt64 = 0
      for j in 0..<8 { v = v << 8 | UInt64(bytes[i * 8 + j]) }
      table[i] = v
    }
    gear = table
    // The normal size's effective mean lands above the min size: aim the mask at
    // (normal - min) so the mean chunk is close to `normalSize`.
    let target = max(configuration.normalSize - configuration.minSize, 64)
    let bits = max(Int.bitWidth - (target - 1).leadingZeroBitCount, 2)
    maskSmall = Chunker.spreadMask(bits: bits + 2)
    maskLarge = Chunker.spreadMask(bits: max(bits - 2, 1))
  }

  /// A mask with `bits` ones taken from the high end of the word, where the gear hash mixes best.
  private static func spreadMask(bits: Int) -> UInt64 {
    let b = min(max(bits, 1), 63)
    return ~UInt64(0) << UInt64(64 - b)
  }

  /// The length of the next chunk at the start of `data`.
  ///
  /// Returns nil when no boundary was found and `data` is shorter than the maximum chunk size
  /// and not the end of the input: the caller must supply more bytes.
  public func nextCut(_ data: UnsafeRawBufferPointer, atEnd: Bool) -> Int? {
    let n = data.count
    let cfg = configuration
    if n <= cfg.minSize { return atEnd ? n : nil }
    let limit = min(n, cfg.maxSize)
    let normal = min(limit, cfg.normalSize)
    var h: UInt64 = 0
    var i = cfg.minSize
    let p = data.bindMemory(to: UInt8.self).baseAddress!
    gear.withUnsafeBufferPointer { g in
      let gp = g.baseAddress!
      while i < normal {
        h = (h << 1) &+ gp[Int(p[i])]
        if h & maskSmall == 0 { return }
        i += 1
      }
      while i < limit {
        h = (h << 1) &+ gp[Int(p[i])]
        if h & maskLarge == 0 { return }
        i += 1
      }
    }
    if i < limit { return i + 1 }
    if limit == cfg.maxSize { return limit }
    return atEnd ? n : nil
  }
}
