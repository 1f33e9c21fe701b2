// The lock files this process holds, or is about to write, so that an interrupt removes them.
//
// A lock file is registered here *before* it is written and unregistered only *after* it is
// removed (when a lock is taken, refreshed under a new name, or released). Whatever instant a
// signal arrives, every lock file on storage that this process wrote is in the registry:
// taking a lock and registering it for removal cannot be split. `releaseAll` marks the process
// as interrupted, removes every registered file, waits for a write still in flight to land and
// removes it again. Tests check the invariant at every step (`LockInterruptTests`).

public import Foundation
import LifeboatCore
import LifeboatStorage
import Synchronization

public enum HeldLocks {
  struct Entry {
    var backend: any Backend
    /// The repository's directory when the backend is local: removed with unlink(2), which is
    /// safe to call from the interrupt path without the async runtime.
    var localRoot: String?
    /// Being written: the file may appear after an interrupt removed it.
    var writing: Bool
  }
  private struct State {
    var entries: [String: Entry] = [:]
    var interrupted = false
  }
  private static let state = Mutex(State())

  /// Registers `name` before it is written. Throws `CancellationError` once the process is
  /// being interrupted, so no new lock file appears after `releaseAll` started.
  static func willWrite(_ name: String, on backend: any Backend) throws {
    let root = Self.localRoot(backend)
    try state.withLock { s in
      if s.interrupted { throw CancellationError() }
      s.entries[name] = Entry(backend: backend, localRoot: root, writing: true)
    }
  }

  /// The write of `name` returned (whether it succeeded or not).
  static func didWrite(_ name: String) {
    state.withLock { s in s.entries[name]?.writing = false }
  }

  /// `name` was removed from storage (or never written): forget it.
  static func didRemove(_ name: String) {
    _ = state.withLock { s in s.entries.removeValue(forKey: name) }
  }

  /// Removes a lock file of ours; it stays registered when the removal fails, so an interrupt
  /// still tries.
  static func remove(_ name: String, from backend: any Backend) async {
    do {
      try await backend.remove(Handle(.lock, name))
      didRemove(name)
    } catch let e as StorageError where e.isNotFound {
      didRemove(name)
    } catch {}
  }

  /// The names registered now (what an interrupt at this instant would remove).
  public static var names: Set<String> { state.withLock { Set($0.entries.keys) } }

  /// Removes every registered lock file; for the interrupt path (a signal source's queue, not
  /// a signal handler). Local files are unlinked directly; remote ones get a few seconds.
  public static func releaseAll(remoteDeadline: TimeInterval = 3) {
    let entries = state.withLock { s -> [(String, Entry)] in
      s.interrupted = true
      return Array(s.entries)
    }
    var remote: [(any Backend, String)] = []
    for (name, e) in entries {
      if let root = e.localRoot { unlink("\(root)/locks/\(name)") } else { remote.append((e.backend, name)) }
    }
    if !remote.isEmpty {
      let done = DispatchSemaphore(value: 0)
      let work = remote
      Task.detached {
        for (b, name) in work { try? await b.remove(Handle(.lock, name)) }
        done.signal()
      }
      _ = done.wait(timeout: Deadline.after(remoteDeadline))
    }
    // A local write in flight (created after the unlink above) lands within milliseconds:
    // wait for it, then remove it too.
    for _ in 0..<100 {
      let pending = state.withLock { s in s.entries.filter { $0.value.writing && $0.value.localRoot != nil } }
      for (name, e) in pending { unlink("\(e.localRoot!)/locks/\(name)") }
      if pending.isEmpty { break }
      usleep(10_000)
    }
    for (name, e) in entries where e.localRoot != nil { unlink("\(e.localRoot!)/locks/\(name)") }
  }

  /// Forgets everything and clears the interrupted mark (tests only).
  public static func resetForTesting() { state.withLock { $0 = State() } }

  static func localRoot(_ backend: any Backend) -> String? { (backend as? LocalBackend)?.root }
}
