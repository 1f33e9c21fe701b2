import Synchronization
import LifeboatCore
import LifeboatFormat

/// Decoded trees by ID, bounded by count (cleared when full: walks are sequential, so a simple
/// bound is enough), plus the list of tree blobs per pack for prefetching. Thread-safe.
final class TreeCache: Sendable {
  static let capacity = 100_000

  private struct State {
    var trees: [ID: Tree] = [:]
    var treesByPack: [ID: [PackEntry]]?
    var indexedBlobs = -1
  }
  private let state = Mutex(State())

  func get(_ id: ID) -> Tree? { state.withLock { $0.trees[id] } }
  func contains(_ id: ID) -> Bool { state.withLock { $0.trees[id] != nil } }

  func put(_ id: ID, _ tree: Tree) {
    state.withLock { s in
      if s.trees.count >= Self.capacity { s.trees.removeAll(keepingCapacity: true) }
      s.trees[id] = tree
    }
  }

  /// Tree blobs of a pack in storage order (rebuilt when the index has grown).
  func treeEntries(inPack pack: ID, index: MasterIndex) -> [PackEntry] {
    let count = index.blobCount
    if let cached = state.withLock({ s in s.indexedBlobs == count ? s.treesByPack?[pack] ?? [] : nil }) {
      return cached
    }
    var byPack = [ID: [PackEntry]]()
    for (p, entries) in index.entriesByPack() {
      let t = entries.filter { $0.type == .tree }.sorted { $0.offset < $1.offset }
      if !t.isEmpty { byPack[p] = t }
    }
    state.withLock { s in
      s.treesByPack = byPack
      s.indexedBlobs = count
    }
    return byPack[pack] ?? []
  }
}
