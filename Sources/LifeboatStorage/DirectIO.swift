#if canImport(Glibc)
  import Glibc
#endif
import CLifeboatSystem
import Synchronization

/// Bulk writes that bypass the page cache (`O_DIRECT`): pack files in a local repository and
/// the contents of restored files.
///
/// Why (docs/adr/0004-direct-io.md): filling new page-cache pages is the most expensive part of
/// writing on virtual machines whose free memory is handed back to the host. On the benchmark
/// machine `dd` writes 1.6 GB at 309 MB/s through the page cache and at 1.5 GB/s with
/// `O_DIRECT`, and the kernel's copy into the cache took 57 % of a restore's CPU time. A backup
/// or a restore also should not evict the working set of the server it runs on.
///
/// `O_DIRECT` needs the memory address, the file offset and the length aligned to the device's
/// logical block size. Only whole aligned 4 KiB blocks are written directly: straight from the
/// caller's memory when that is aligned as well (a restore opens each blob into an aligned
/// buffer at its file offset's distance from a block boundary), otherwise copied through a
/// reused aligned bounce buffer. The unaligned head and tail of a write go through the page
/// cache, on a second descriptor. Two writes never share a block unless both are buffered, so
/// the kernel keeps the two paths coherent. File systems without `O_DIRECT` (tmpfs before
/// Linux 6.6, some FUSE file systems) get ordinary writes: opening fails with `EINVAL` and the
/// caller falls back.
///
/// `LIFEBOAT_DIRECT_IO=off` turns it off for backups and restores alike.
public enum DirectIO {
  /// The alignment of direct writes: 4 KiB covers 512-byte and 4 KiB logical blocks.
  public static let alignment = 4096
  /// Writes shorter than this go through the page cache: the extra descriptor and the
  /// synchronous device write are not worth it for small files.
  public static let minimumLength = 256 << 10
  /// The bounce buffer's size: each direct write call moves at most this much.
  static let bufferSize = 1 << 20

  /// False when `LIFEBOAT_DIRECT_IO` is `off`, `0`, `no` or `false`.
  public static let isEnabled: Bool = {
    guard let v = getenv("LIFEBOAT_DIRECT_IO") else { return true }
    return !["off", "0", "no", "false"].contains(String(cString: v).lowercased())
  }()

  /// Opens `path` for writing with `O_DIRECT` (no `O_CREAT`: the buffered descriptor creates
  /// the file). Returns -1 when direct I/O is off or the file system refuses it; the caller
  /// then writes everything through its buffered descriptor.
  public static func openDirect(_ path: UnsafePointer<CChar>) -> Int32 {
    guard isEnabled else { return -1 }
    return open(path, O_WRONLY | lifeboat_o_direct() | O_CLOEXEC | O_NOFOLLOW)
  }

  /// Writes `count` bytes from `source` at file offset `offset`: the whole aligned blocks in
  /// the middle through `direct` (when it is a descriptor, i.e. not negative), everything
  /// else through `buffered`. Returns 0, or the `errno` of the write that failed. A direct
  /// write the file system rejects with `EINVAL` is redone through `buffered`.
  public static func write(
    buffered: Int32, direct: Int32, _ source: UnsafeRawPointer, count: Int, at offset: Int
  ) -> Int32 {
    let first = (offset + alignment - 1) / alignment * alignment
    let last = (offset + count) / alignment * alignment
    guard direct >= 0, count >= minimumLength, last > first else {
      return writeAll(buffered, source, count: count, at: offset)
    }
    // Head (buffered), aligned middle (direct), tail (buffered).
    var rc = writeAll(buffered, source, count: first - offset, at: offset)
    if rc != 0 { return rc }
    rc = writeAligned(direct, fallback: buffered, source + (first - offset), count: last - first, at: first)
    if rc != 0 { return rc }
    return writeAll(buffered, source + (last - offset), count: offset + count - last, at: last)
  }

  /// pwrite until done (`SystemIO.transferAll`).
  static func writeAll(_ fd: Int32, _ source: UnsafeRawPointer, count: Int, at offset: Int) -> Int32 {
    SystemIO.transferAll(count) { done in pwrite(fd, source + done, count - done, off_t(offset + done)) }
  }

  /// Writes an aligned range: straight from `source` when its address is aligned too (a
  /// caller that places its data at the file offset's phase in an aligned buffer saves a
  /// copy), otherwise copied through the bounce buffer a megabyte at a time.
  static func writeAligned(
    _ fd: Int32, fallback: Int32, _ source: UnsafeRawPointer, count: Int, at offset: Int
  ) -> Int32 {
    if Int(bitPattern: source) % alignment == 0 {
      return writeDirect(fd, fallback: fallback, source, count: count, at: offset)
    }
    let buffer = BouncePool.shared.take()
    defer { BouncePool.shared.give(buffer) }
    var done = 0
    while done < count {
      let n = min(bufferSize, count - done)
      buffer.pointer.copyMemory(from: source + done, byteCount: n)
      let rc = writeDirect(fd, fallback: fallback, buffer.pointer, count: n, at: offset + done)
      if rc != 0 { return rc }
      done += n
    }
    return 0
  }

  /// pwrite of an aligned range from an aligned address through the `O_DIRECT` descriptor.
  /// What the file system refuses (`EINVAL`: it takes O_DIRECT but not this alignment) and
  /// what follows a short write that ends unaligned go through `fallback`, the page cache.
  static func writeDirect(
    _ fd: Int32, fallback: Int32, _ source: UnsafeRawPointer, count: Int, at offset: Int
  ) -> Int32 {
    var done = 0
    while done < count {
      let w = pwrite(fd, source + done, count - done, off_t(offset + done))
      if w < 0 {
        if errno == EINTR { continue }
        if errno == EINVAL { return writeAll(fallback, source + done, count: count - done, at: offset + done) }
        return errno
      }
      if w == 0 { return EIO }
      if w % alignment != 0 {
        return writeAll(fallback, source + done + w, count: count - done - w, at: offset + done + w)
      }
      done += w
    }
    return 0
  }
}

/// Aligned bounce buffers, reused so their pages are touched once per process rather than
/// once per write. A few are kept; more are allocated while more writers are active.
final class BouncePool: Sendable {
  struct Buffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
  }

  static let shared = BouncePool()
  private let free = Mutex<[Buffer]>([])
  private let keep = 8

  func take() -> Buffer {
    if let b = free.withLock({ $0.popLast() }) { return b }
    return Buffer(
      pointer: UnsafeMutableRawPointer.allocate(byteCount: DirectIO.bufferSize, alignment: DirectIO.alignment))
  }

  func give(_ b: Buffer) {
    let kept = free.withLock { f -> Bool in
      guard f.count < keep else { return false }
      f.append(b)
      return true
    }
    if !kept { b.pointer.deallocate() }
  }
}

extension DirectIO {
  /// `O_DIRECT` for read-only descriptors, or 0 when direct I/O is off.
  public static var readFlag: Int32 { isEnabled ? lifeboat_o_direct() : 0 }
}

/// A reusable 4 KiB-aligned buffer for reading byte ranges of a file through a descriptor
/// that may have `O_DIRECT` set: it reads the enclosing aligned blocks and hands out the range.
/// One task uses it at a time.
public final class AlignedBuffer: @unchecked Sendable {
  private var pointer: UnsafeMutableRawPointer?
  private var capacity = 0

  public init() {}

  public func close() {
    pointer?.deallocate()
    pointer = nil
    capacity = 0
  }

  deinit { pointer?.deallocate() }

  /// Reads `count` bytes at `offset` of `fd` and passes them to `body`, or nil when the file
  /// ends before them or cannot be read. A descriptor whose file system rejects the aligned
  /// direct read is switched to ordinary reads and the read is retried.
  public func read<T>(
    _ fd: Int32, offset: Int, count: Int, _ body: (UnsafeRawBufferPointer?) throws -> T
  ) rethrows -> T {
    let a = DirectIO.alignment
    let start = offset / a * a
    let end = (offset + count + a - 1) / a * a
    let need = end - start
    if need > capacity {
      pointer?.deallocate()
      capacity = max(need, 1 << 20)
      pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: a)
    }
    let p = pointer!
    var total = 0
    var retried = false
    while total < need {
      let n = pread(fd, p + total, need - total, off_t(start + total))
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EINVAL && !retried {
          retried = true
          let flags = fcntl(fd, F_GETFL)
          if flags >= 0 && fcntl(fd, F_SETFL, flags & ~lifeboat_o_direct()) == 0 { continue }
        }
        return try body(nil)
      }
      if n == 0 { break }
      total += n
      // A short direct read happens only at the end of the file.
      if total % a != 0 { break }
    }
    guard total >= offset + count - start else { return try body(nil) }
    return try body(UnsafeRawBufferPointer(start: p + (offset - start), count: count))
  }
}
