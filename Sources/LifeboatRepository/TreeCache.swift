import Synchronization
import LifeboatCore
import LifeboatFormat

/// Decoded trees by ID, bounded by their total number of nodes (about 300 bytes each; the cache
/// is cleared when full — walks are sequential, so a simple bound is enough), plus the list of
/// tree blobs per pack for prefetching. Thread-safe.
final class TreeCache: Sendable {
  /// ~45 MB of decoded nodes at most.
  static let nodeCapacity = 150_000

  private struct State {
    var trees: [ID: Tree] = [:]
    var nodes = 0
    /// Stored (sealed, compressed) bytes of prefetched tree blobs, decoded only when asked for.
    var stored: [ID: (entry: PackEntry, bytes: [UInt8])] = [:]
    var storedBytes = 0
    var treesByPack: [ID: [PackEntry]]?
    var indexedBlobs = -1
    /// Trees handed out without being cached (`loadTree(_:cache: false)`): a later prefetch for
    /// such a caller must not read them again, or a walk would keep re-reading its past.
    var taken = Set<ID>()
  }
  static let takenCapacity = 500_000
  private let state = Mutex(State())

  func get(_ id: ID) -> Tree? { state.withLock { $0.trees[id] } }

  /// Trees of at most this many nodes stay cached even for walks that read each tree once.
  static let smallTree = 2
  /// Entries at most (trees of no nodes count no nodes).
  static let treeCapacity = 200_000

  func put(_ id: ID, _ tree: Tree) {
    state.withLock { s in
      if s.nodes + tree.nodes.count > Self.nodeCapacity || s.trees.count >= Self.treeCapacity {
        s.trees.removeAll()
        s.nodes = 0
      }
      if s.trees.updateValue(tree, forKey: id) == nil { s.nodes += tree.nodes.count }
    }
  }

  static let storedCapacity = 32 << 20

  func putStored(_ id: ID, entry: PackEntry, bytes: [UInt8]) {
    state.withLock { s in
      if s.storedBytes + bytes.count > Self.storedCapacity {
        s.stored.removeAll()
        s.storedBytes = 0
      }
      if s.stored.updateValue((entry, bytes), forKey: id) == nil { s.storedBytes += bytes.count }
    }
  }

  /// Takes a prefetched tree blob out of the cache (it is decoded once, then cached decoded
  /// unless the caller reads each tree once).
  func takeStored(_ id: ID) -> (entry: PackEntry, bytes: [UInt8])? {
    state.withLock { s in
      guard let v = s.stored.removeValue(forKey: id) else { return nil }
      s.storedBytes -= v.bytes.count
      return v
    }
  }

  /// Notes that a tree was handed to a caller that does not keep it cached.
  func markTaken(_ id: ID) {
    state.withLock { s in
      if s.taken.count >= Self.takenCapacity { s.taken.removeAll() }
      s.taken.insert(id)
    }
  }

  /// Whether a prefetch should skip this tree: it is decoded in the cache, its stored bytes are
  /// waiting, or (for a caller that reads each tree once) it was already handed out.
  func needsNoPrefetch(_ id: ID, skippingTaken: Bool) -> Bool {
    state.withLock { s in
      s.trees[id] != nil || s.stored[id] != nil || (skippingTaken && s.taken.contains(id))
    }
  }

  func hasStored(_ id: ID) -> Bool { state.withLock { $0.stored[id] != nil } }

  /// Tree blobs of a pack in storage order (rebuilt when the index has grown).
  func treeEntries(inPack pack: ID, index: MasterIndex) -> [PackEntry] {
    let count = index.blobCount
    if let cached = state.withLock({ s in s.indexedBlobs == count ? s.treesByPack?[pack] ?? [] : nil }) {
      return cached
    }
    let byPack = index.treeEntriesByPack()
    state.withLock { s in
      s.treesByPack = byPack
      s.indexedBlobs = count
    }
    return byPack[pack] ?? []
  }
}
