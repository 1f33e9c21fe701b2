// Comparing a restored tree with its snapshot, node by node: kind, size, permission bits,
// modification time, symlink target, and (as root) owner. Content is verified by the
// Restorer (`RestoreOptions.verify`), which re-reads every file and checks every blob ID.

import Foundation
#if canImport(Glibc)
  import Glibc
#endif
public import LifeboatCore
public import LifeboatRepository

public struct MetadataVerification: Sendable, Codable {
  public var nodes = 0
  public var problems: [String] = []
  public var isClean: Bool { problems.isEmpty }
}

public struct SnapshotVerifier: Sendable {
  public let repository: Repository
  /// Owners are compared only when the restore could set them (as root).
  public var compareOwners = getuid() == 0
  /// Problems listed at most (the count is always complete).
  public var maxProblems = 100

  public init(repository: Repository) { self.repository = repository }

  /// Walks the snapshot and compares every node with what is under `target`.
  public func verify(_ snapshot: Snapshot, restoredAt target: String) async throws -> MetadataVerification {
    var result = MetadataVerification()
    var count = 0
    func problem(_ s: String) {
      count += 1
      if result.problems.count < maxProblems { result.problems.append(s) }
    }
    let root = Array(target.utf8)
    try await TreeWalker(repository: repository).walk(
      root: snapshot.tree,
      visit: { path, node in
        result.nodes += 1
        let display = PathBytes.display(path)
        guard case .success(let st) = FS.lstat(root + path) else {
          problem("\(display): missing from the restore")
          return false
        }
        guard FS.kind(st.st_mode) == node.kind else {
          problem("\(display): restored as another kind of file than the snapshot's \(node.kind.name)")
          return false
        }
        if node.kind != .symlink, UInt32(st.st_mode) & 0o7777 != node.mode & 0o7777 {
          problem(String(format: "%@: mode %o, snapshot has %o", display, UInt32(st.st_mode) & 0o7777, node.mode & 0o7777))
        }
        if node.kind == .file, UInt64(st.st_size) != node.size {
          problem("\(display): size \(st.st_size), snapshot has \(node.size)")
        }
        if node.kind == .file, FS.timespec(st.st_mtim) != node.mtime {
          problem("\(display): modification time differs from the snapshot")
        }
        if node.kind == .symlink, FS.readlink(root + path) != node.linkTarget {
          problem("\(display): link target differs from the snapshot")
        }
        if compareOwners, st.st_uid != node.uid || st.st_gid != node.gid {
          problem("\(display): owner \(st.st_uid):\(st.st_gid), snapshot has \(node.uid):\(node.gid)")
        }
        return true
      },
      onError: { path, error in problem("\(PathBytes.display(path)): tree cannot be read: \(error)") })
    if count > result.problems.count {
      result.problems.append("… and \(count - result.problems.count) more")
    }
    return result
  }
}
