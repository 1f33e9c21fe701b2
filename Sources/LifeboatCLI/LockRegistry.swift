import Foundation
import LifeboatRepository
import Synchronization

/// Locks this process holds, so an interrupt can remove them before exiting.
/// Local lock files are unlinked synchronously; remote ones (S3) are removed with a request
/// that gets a few seconds before the process exits anyway (a lock left behind goes stale
/// after 30 minutes, or `lifeboat unlock` removes it).
enum LockRegistry {
  private static let held = Mutex<[ObjectIdentifier: (root: String?, lock: RepositoryLock)]>([:])

  static func add(_ lock: RepositoryLock, localRoot: String?) {
    held.withLock { $0[ObjectIdentifier(lock)] = (localRoot, lock) }
  }

  static func remove(_ lock: RepositoryLock) {
    _ = held.withLock { $0.removeValue(forKey: ObjectIdentifier(lock)) }
  }

  /// Called from the signal source's queue (not a signal handler), so it may block briefly.
  static func releaseAllSync(remoteDeadline: TimeInterval = 3) {
    var remote: [RepositoryLock] = []
    for (root, lock) in held.withLock({ Array($0.values) }) {
      if let root {
        unlink("\(root)/locks/\(lock.name)")
      } else {
        remote.append(lock)
      }
    }
    guard !remote.isEmpty else { return }
    let done = DispatchSemaphore(value: 0)
    let locks = remote
    Task.detached {
      for lock in locks { await lock.release() }
      done.signal()
    }
    _ = done.wait(timeout: .now() + remoteDeadline)
  }
}
