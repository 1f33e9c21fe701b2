public import LifeboatCore
public import LifeboatRepository

/// Walks a snapshot's trees depth-first. Damaged or missing trees are reported to `onError`
/// and skipped, so a walk always covers everything that is readable.
public struct TreeWalker: Sendable {
  public let repository: Repository
  /// Whether decoded trees stay in the repository's tree cache. A walk that visits each tree
  /// once (check, restore, prune) passes false: it then holds the trees on its current path,
  /// not every directory of the snapshot.
  public let cacheTrees: Bool

  public init(repository: Repository, cacheTrees: Bool = true) {
    self.repository = repository
    self.cacheTrees = cacheTrees
  }

  /// Calls `visit(path, node)` for every node below `root`, parents before children.
  /// `path` is absolute within the snapshot (`/usr/share/doc`). Return false from `visit` to
  /// skip a directory's contents.
  public func walk(
    root: ID, visit: ([UInt8], Node) async throws -> Bool,
    onError: (([UInt8], any Error) async -> Void)? = nil
  ) async throws {
    try await walk(tree: root, path: [], visit: visit, onError: onError)
  }

  private func walk(
    tree id: ID, path: [UInt8], visit: ([UInt8], Node) async throws -> Bool,
    onError: (([UInt8], any Error) async -> Void)?
  ) async throws {
    let tree: Tree
    do {
      tree = try await repository.loadTree(id, cache: cacheTrees)
    } catch {
      await onError?(path.isEmpty ? [47] : path, error)
      return
    }
    for node in tree.nodes {
      try Task.checkCancellation()
      var p = path
      p.append(47)
      p.append(contentsOf: node.name)
      let descend = try await visit(p, node)
      if descend, node.kind == .directory, let sub = node.subtree {
        try await walk(tree: sub, path: p, visit: visit, onError: onError)
      }
    }
  }
}
