import CZstd
public import LifeboatCore

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
    var out = [UInt8](unsafeUninitializedCapacity: bound) { buf, initialized in
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

  deinit { ZSTD_freeDCtx(ctx) }

  /// Decompresses a frame that must expand to exactly `expectedLength` bytes.
  public func decompress(_ input: UnsafeRawBufferPointer, expectedLength: Int) throws -> [UInt8] {
    guard expectedLength >= 0, expectedLength <= 1 << 30 else {
      throw LifeboatError.corrupt("implausible decompressed length \(expectedLength)")
    }
    var failure: String?
    let out = [UInt8](unsafeUninitializedCapacity: expectedLength) { buf, initialized in
      let n = ZSTD_decompressDCtx(
        ctx, buf.baseAddress, expectedLength, input.baseAddress, input.count)
      if ZSTD_isError(n) != 0 {
        failure = String(cString: ZSTD_getErrorName(n))
        initialized = 0
      } else if n != expectedLength {
        failure = "decompressed to \(n) bytes, expected \(expectedLength)"
        initialized = 0
      } else {
        initialized = n
      }
    }
    if let failure { throw LifeboatError.corrupt("zstd: \(failure)") }
    return out
  }
}
