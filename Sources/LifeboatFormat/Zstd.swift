import CZstd
public import LifeboatCore

/// zstd compression with a context reused across calls. Not thread-safe: one task uses it at a
/// time (it may be handed between tasks through a pool, hence `@unchecked Sendable`).
public final class ZstdCompressor: @unchecked Sendable {
  private let ctx: OpaquePointer
  public let level: Int32
  /// Probe each input of `probeMinimum` bytes or more first (`CompressionMode.auto`).
  public let probe: Bool
  /// The probe's sample and its output, allocated once.
  private let sample: UnsafeMutableRawBufferPointer
  private let sampleOut: UnsafeMutableRawBufferPointer

  /// Inputs at least this long are probed; shorter ones cost little to compress outright.
  public static let probeMinimum = 64 << 10
  /// The probe compresses this many bytes: four slices of 4 KiB spread over the input.
  static let sliceLength = 4 << 10
  static let slices = 4

  public init(level: Int32 = 3, probe: Bool = false) {
    // ZSTD_createCCtx only fails when out of memory.
    ctx = ZSTD_createCCtx()!
    self.level = level
    self.probe = probe
    let n = Self.sliceLength * Self.slices
    sample = .allocate(byteCount: probe ? n : 0, alignment: 16)
    sampleOut = .allocate(byteCount: probe ? ZSTD_compressBound(n) : 0, alignment: 16)
  }

  deinit {
    ZSTD_freeCCtx(ctx)
    sample.deallocate()
    sampleOut.deallocate()
  }

  /// Compresses `input`; returns nil when the result would not be smaller, or when the probe
  /// says it will not be (store it raw).
  public func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
    guard input.count > 0 else { return nil }
    if probe && input.count >= Self.probeMinimum && !Self.worthCompressing(input, ctx: ctx, sample: sample, out: sampleOut) {
      return nil
    }
    let bound = ZSTD_compressBound(input.count)
    let out = [UInt8](unsafeUninitializedCapacity: bound) { buf, initialized in
      let n = ZSTD_compressCCtx(ctx, buf.baseAddress, bound, input.baseAddress, input.count, level)
      initialized = ZSTD_isError(n) != 0 ? 0 : n
    }
    if out.isEmpty || out.count >= input.count { return nil }
    return out
  }

  /// The probe: four 4 KiB slices from across the input, compressed at level 1 (about 30 µs,
  /// against ~300 µs for a full pass over 1 MiB of incompressible data at level 3). Worth it
  /// when the sample shrinks by 3 % or more.
  static func worthCompressing(
    _ input: UnsafeRawBufferPointer, ctx: OpaquePointer, sample: UnsafeMutableRawBufferPointer,
    out: UnsafeMutableRawBufferPointer
  ) -> Bool {
    let stride = (input.count - sliceLength) / (slices - 1)
    for i in 0..<slices {
      let from = i * stride
      (sample.baseAddress! + i * sliceLength).copyMemory(from: input.baseAddress! + from, byteCount: sliceLength)
    }
    let n = ZSTD_compressCCtx(ctx, out.baseAddress, out.count, sample.baseAddress, sample.count, 1)
    guard ZSTD_isError(n) == 0 else { return true }
    return n * 100 <= sample.count * 97
  }
}

/// The compressor a repository's blobs are written with: `override` (a backup's or a plan
/// tier's `--compression`) when given, else the repository's mode, else its bare zstd level
/// (repositories made before modes). nil stores blobs raw. The one place that decides.
extension RepositoryConfig {
  /// The repository's mode: the one it names (if this version knows it), else the mode of
  /// its bare level (0 off, 3 default); nil for another level.
  public var compressionMode: CompressionMode? {
    if let name = compression, let mode = CompressionMode(rawValue: name), mode.level == compressionLevel { return mode }
    return compressionLevel == 0 ? .off : compressionLevel == 3 ? .default : nil
  }

  public mutating func setCompression(_ mode: CompressionMode) {
    compression = mode.rawValue
    compressionLevel = mode.level
  }

  public func compressor(_ override: CompressionMode? = nil) -> ZstdCompressor? {
    let mode = override ?? compressionMode
    let level = mode?.level ?? compressionLevel
    guard level > 0 else { return nil }
    return ZstdCompressor(level: Int32(level), probe: mode?.probes ?? false)
  }

  /// How blobs are compressed, in words: "auto (zstd 3, probed)", "zstd level 5".
  public var compressionText: String {
    guard let mode = compressionMode else { return "zstd level \(compressionLevel)" }
    switch mode {
    case .off: return "off"
    case .auto: return "auto (zstd \(mode.level), chunks that will not compress stored raw)"
    default: return "\(mode.rawValue) (zstd \(mode.level))"
    }
  }
}

/// zstd decompression with a reused context. Not thread-safe: one task uses it at a time (it
/// may be handed between tasks through a pool, hence `@unchecked Sendable`).
public final class ZstdDecompressor: @unchecked Sendable {
  private let ctx: OpaquePointer

  public init() {
    ctx = ZSTD_createDCtx()!
  }

  deinit {
    ZSTD_freeDCtx(ctx)
    window?.deallocate()
  }

  /// The output buffer of `stream`, allocated on first use and reused.
  private var window: UnsafeMutableRawBufferPointer?

  /// Decompresses a frame piece by piece, handing each piece (at most 128 KiB) to `body`.
  /// Returns the decompressed length; throws when the frame is damaged, incomplete, or
  /// expands beyond `expectedLength` (the caller compares the length it gets back).
  public func stream(
    _ input: UnsafeRawBufferPointer, expectedLength: Int, _ body: (UnsafeRawBufferPointer) -> Void
  ) throws -> Int {
    let out = window ?? UnsafeMutableRawBufferPointer.allocate(byteCount: 128 << 10, alignment: 16)
    window = out
    ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only)
    var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
    var total = 0
    while true {
      var outBuf = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
      let r = ZSTD_decompressStream(ctx, &outBuf, &inBuf)
      if ZSTD_isError(r) != 0 {
        throw LifeboatError.corrupt("zstd: \(String(cString: ZSTD_getErrorName(r)))")
      }
      total += outBuf.pos
      if total > expectedLength {
        throw LifeboatError.corrupt("decompresses to more than the expected \(expectedLength) bytes")
      }
      if outBuf.pos > 0 { body(UnsafeRawBufferPointer(start: out.baseAddress, count: outBuf.pos)) }
      if r == 0 && inBuf.pos == inBuf.size { break }  // the last frame is complete
      if r != 0 && inBuf.pos == inBuf.size && outBuf.pos < outBuf.size {
        throw LifeboatError.corrupt("zstd: the frame is incomplete")
      }
    }
    return total
  }

  /// Decompresses a frame that must expand to exactly `expectedLength` bytes.
  public func decompress(_ input: UnsafeRawBufferPointer, expectedLength: Int) throws -> [UInt8] {
    guard expectedLength >= 0, expectedLength <= 1 << 30 else {
      throw LifeboatError.corrupt("implausible decompressed length \(expectedLength)")
    }
    return try [UInt8](unsafeUninitializedCapacity: expectedLength) { buf, initialized in
      try decompress(input, into: UnsafeMutableRawBufferPointer(buf))
      initialized = expectedLength
    }
  }

  /// Decompresses a frame into `output`, which it must fill exactly: the caller's reused
  /// buffer instead of a new array (a restore decompresses straight into the buffer it writes
  /// from).
  public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
    let n = ZSTD_decompressDCtx(ctx, output.baseAddress, output.count, input.baseAddress, input.count)
    if ZSTD_isError(n) != 0 {
      throw LifeboatError.corrupt("zstd: \(String(cString: ZSTD_getErrorName(n)))")
    }
    if n != output.count {
      throw LifeboatError.corrupt("zstd: decompressed to \(n) bytes, expected \(output.count)")
    }
  }
}
