#if canImport(Glibc)
  import Glibc
#endif
import LifeboatCore
import LifeboatFormat
import LifeboatRepository

/// One backup worker's reading machinery: a read buffer, a chunker and a zstd context, reused
/// for every file the worker reads. Not shared between tasks.
final class FileReader: @unchecked Sendable {
  let chunker: Chunker
  let saver: BlobSaver
  let compressor: ZstdCompressor?
  let buffer: UnsafeMutableRawBufferPointer
  /// How much of `buffer` has been written since it was last trimmed: those pages are resident.
  private var touched = 0
  /// While it reads small files, a reader keeps at most this much of its buffer resident.
  static let residentForSmallFiles = 2 << 20

  init(chunker: Chunker, saver: BlobSaver, compressor: ZstdCompressor?) throws {
    self.chunker = chunker
    self.saver = saver
    self.compressor = compressor
    // The largest chunk plus 2 MiB: data is read only when the chunker asks for more, so
    // what is moved to the front on each refill is a partial chunk, not a full window.
    // Mapped directly (not from malloc) so that its tail can be handed back with madvise.
    let cap = chunker.configuration.maxSize + (2 << 20)
    let p = mmap(nil, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
      throw LifeboatError(.fatal, "cannot allocate a \(cap >> 20) MiB read buffer: \(FS.errorText(errno))")
    }
    buffer = UnsafeMutableRawBufferPointer(start: p, count: cap)
  }

  func close() { munmap(buffer.baseAddress, buffer.count) }

  /// Before a small file, gives back the part of the buffer that a large file filled: one
  /// large file would otherwise keep all 10 MiB of a reader resident for the rest of the
  /// backup (on many small files, three readers held 30 MB). A run of large files keeps it.
  private func trim(before expectedSize: Int?) {
    guard let size = expectedSize, size < Self.residentForSmallFiles,
      touched > Self.residentForSmallFiles
    else { return }
    _ = madvise(
      buffer.baseAddress! + Self.residentForSmallFiles, touched - Self.residentForSmallFiles,
      MADV_DONTNEED)
    touched = Self.residentForSmallFiles
  }

  struct Outcome {
    var content: [ID] = []
    var bytes: UInt64 = 0
    var newBlobs = 0
    var newBytes: UInt64 = 0
    var error: String?
  }

  /// Reads `fd` to its end, cutting it into chunks and saving each as a data blob.
  /// `expectedSize` (the size the scan saw; nil for a command's output) only decides whether
  /// the buffer is trimmed first.
  func read(fd: Int32, expectedSize: Int?, progress: OperationProgress) async throws -> Outcome {
    try await read(expectedSize: expectedSize, progress: progress) { buffer, count in
      while true {
        let n = Glibc.read(fd, buffer, count)
        if n < 0 && errno == EINTR { continue }
        return n < 0 ? -Int(errno) : n
      }
    }
  }

  /// Reads what `fill` gives (up to `count` bytes into the buffer; 0 at the end, -errno on
  /// failure) to its end: a local file, or a remote one (`RemoteFile`).
  func read(
    expectedSize: Int?, progress: OperationProgress, fill: (UnsafeMutableRawPointer, Int) -> Int
  ) async throws -> Outcome {
    trim(before: expectedSize)
    var highWater = 0
    defer { touched = max(touched, highWater) }
    var out = Outcome()
    var start = 0
    var end = 0
    var eof = false
    let cap = buffer.count
    while true {
      if start == end && eof { break }
      if start < end || eof {
        let window = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
        if let cut = chunker.nextCut(window, atEnd: eof) {
          let chunk = UnsafeRawBufferPointer(rebasing: buffer[start..<start + cut])
          let prepared = saver.prepare(.data, chunk, compressor: compressor)
          let r = try await saver.commit(prepared)
          out.content.append(r.id)
          out.bytes += UInt64(cut)
          if r.isNew {
            out.newBlobs += 1
            out.newBytes += UInt64(cut)
          }
          progress.add(bytes: UInt64(cut))
          start += cut
          continue
        }
      }
      // The chunker needs more data: move the partial chunk to the front and fill up.
      if start > 0 {
        if end > start {
          buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
        }
        end -= start
        start = 0
      }
      while end < cap {
        let n = fill(buffer.baseAddress! + end, cap - end)
        if n < 0 {
          out.error = FS.errorText(Int32(-n))
          return out
        }
        if n == 0 {
          eof = true
          break
        }
        end += n
        highWater = max(highWater, end)
      }
    }
    return out
  }
}
