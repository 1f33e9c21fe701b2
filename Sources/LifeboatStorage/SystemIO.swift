#if canImport(Glibc)
  import Glibc
#endif

/// The loop around `pread`, `pwrite` or `write` that every full read or write needs.
public enum SystemIO {
  /// Calls `step(done)` (one call for what is left after `done` bytes) until `count`
  /// bytes have moved. Retries `EINTR`; returns 0, the `errno` of a failed call, or `EIO` when
  /// a call moves nothing (the file ended early).
  public static func transferAll(_ count: Int, _ step: (_ done: Int) -> Int) -> Int32 {
    var done = 0
    while done < count {
      let n = step(done)
      if n < 0 {
        if errno == EINTR { continue }
        return errno
      }
      if n == 0 { return EIO }
      done += n
    }
    return 0
  }
}
