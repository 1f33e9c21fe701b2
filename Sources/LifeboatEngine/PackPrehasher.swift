import Foundation
public import LifeboatCore
import LifeboatFormat
public import LifeboatStorage

/// Hashes packs while the repository key is still being derived.
///
/// Opening a repository spends about a third of a second in scrypt on one core, and scrypt
/// cannot be split. A pack's name is the SHA-256 of its bytes, which needs no key, so
/// `check --read-data` starts this on the idle core first: every pack it finishes before
/// `stop()` is one whose name the check has verified, and the data phase then only opens and
/// verifies its blobs. Only local storage is worth it; on remote storage every pack hashed
/// here would be downloaded twice.
///
/// Only successes are kept: a pack that cannot be read or does not match its name here is
/// read, hashed and reported by the data phase as usual. Nothing is held under the
/// repository lock, and needs none: a pack is named by its content, so "these bytes hash to
/// this name" stays true whatever happens to the repository afterwards.
public final class PackPrehasher: Sendable {
  private let stopping: SharedFlag
  private let task: Task<Set<ID>, Never>

  /// Starts hashing `backend`'s packs, in listing order, one at a time.
  public init(backend: any Backend, window: Int = 2 << 20) {
    let stopping = SharedFlag()
    self.stopping = stopping
    task = Task(executorPreference: BlockingExecutor.shared) {
      var verified = Set<ID>()
      guard let packs = try? await backend.list(.pack) else { return verified }
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: window, alignment: 64)
      defer { buffer.deallocate() }
      for pack in packs {
        guard let id = ID(hex: pack.name) else { continue }
        var hasher = SHA256Stream()
        var position = 0
        while position < pack.size, !stopping.isSet {
          let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(window, pack.size - position)])
          guard (try? await backend.read(Handle(.pack, pack.name), offset: position, into: piece)) != nil
          else { break }
          hasher.update(UnsafeRawBufferPointer(piece))
          position += piece.count
        }
        if stopping.isSet { break }
        if position == pack.size, hasher.finalize() == id { verified.insert(id) }
      }
      return verified
    }
  }

  /// Waits until every pack has been hashed; returns those whose bytes matched their names.
  public func wait() async -> Set<ID> { await task.value }

  /// Stops after the window in progress; returns the packs whose bytes matched their names.
  public func stop() async -> Set<ID> {
    stopping.set()
    return await task.value
  }
}
