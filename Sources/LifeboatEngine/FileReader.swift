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

  init(chunker: Chunker, saver: BlobSaver, compressionLevel: Int) throws {
    self.chunker = chunker
    self.saver = saver
    self.compressor = compressionLevel > 0 ? ZstdCompressor(level: Int32(compressionLevel)) : nil
    // The largest chunk plus 2 MiB: data is read only when the chunker asks for more, so
    // what is moved to the front on each refill is a partial chunk, not a full window.
    let cap = chunker.configuration.maxSize + (2 << 20)
    buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: cap, alignment: 64)
  }

  func close() { buffer.deallocate() }

  struct Outcome {
    var content: [ID] = []
    var bytes: UInt64 = 0
    var newBlobs = 0
    var newBytes: UInt64 = 0
    var error: String?
  }

  /// Reads `fd` to its end, cutting it into chunks and saving each as a data blob.
  func read(fd: Int32, progress: OperationProgress) async throws -> Outcome {
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
        let n = Glibc.read(fd, buffer.baseAddress! + end, cap - end)
        if n < 0 {
          if errno == EINTR { continue }
          out.error = FS.errorText(errno)
          return out
        }
        if n == 0 {
          eof = true
          break
        }
        end += n
      }
    }
    return out
  }
}
