import CZstd
import LifeboatCore

/// zstd compression with a context reused across calls. Not thread-safe: one task uses it at a
/// time (it may be handed between tasks through a pool, hence `@unchecked Sendable`).
public final class ZstdCompressor: @unchecked Sendable {
  private let ctx: OpaquePointer
  public let level: Int32

  public init(level: Int32 = 3) {
    // ZSTD_createCCtx only fails when out of memory.
    ctx = ZSTD_createCCtx()!
    self.level = level
  }

  deinit { ZSTD_freeCCtx(ctx) }

  /// Compresses `input`; returns nil when the result would not be smaller (store it raw).
  public func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
    guard input.count > 0 else { return nil }
    let bound = ZSTD_compressBound(input.count)
    let out = [UInt8](unsafeUninitializedCapacity: bound) { buf, initialized in
      let n = ZSTD_compressCCtx(ctx, buf.baseAddress, bound, input.baseAddress, input.count, level)
      initialized = ZSTD_isError(n) != 0 ? 0 : n
    }
    if out.isEmpty || out.count >= input.count { return nil }
    return out
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
