import Foundation
import LifeboatRepository
import Synchronization

/// Locks this process holds, so an interrupt can remove them before exiting.
/// Local repositories are cleaned synchronously; locks on other backends go stale (30 min).
enum LockRegistry {
  private static let held = Mutex<[ObjectIdentifier: (root: String, lock: RepositoryLock)]>([:])

  static func add(_ lock: RepositoryLock, localRoot: String?) {
    guard let localRoot else { return }
    held.withLock { $0[ObjectIdentifier(lock)] = (localRoot, lock) }
  }

  static func remove(_ lock: RepositoryLock) {
    _ = held.withLock { $0.removeValue(forKey: ObjectIdentifier(lock)) }
  }

  static func releaseAllSync() {
    for (root, lock) in held.withLock({ Array($0.values) }) {
      unlink("\(root)/locks/\(lock.name)")
    }
  }
}
