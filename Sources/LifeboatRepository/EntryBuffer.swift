import Glibc

/// Index entries in one block of memory that grows with `realloc`.
///
/// A Swift array grows by allocating a larger block and copying into it, so for a moment it
/// holds both; the index's merge did the same with a second array. A first backup of five
/// million tiny files therefore peaked at twice its index (573 MiB). glibc serves a block this
/// large from `mmap` and grows it with `mremap`, which moves page mappings rather than bytes:
/// growing costs the new entries only. Merging new entries in from the back then needs no
/// second block at all (`MasterIndex.merge`).
///
/// Not thread-safe: it lives in `MasterIndex`'s state and is touched under its lock (or, for
/// the loader, by its one owner).
final class EntryBuffer: @unchecked Sendable {
  private(set) var base: UnsafeMutablePointer<IndexEntry>? = nil
  private(set) var count = 0
  private(set) var capacity = 0

  init(capacity: Int = 0) {
    reserve(capacity)
  }

  deinit { free(base) }

  var isEmpty: Bool { count == 0 }

  /// Bytes held (for `MasterIndex.memoryBytesPerBlob`).
  var bytes: Int { capacity * MemoryLayout<IndexEntry>.stride }

  /// Makes room for `n` entries in all (never shrinks).
  func reserve(_ n: Int) {
    guard n > capacity else { return }
    resize(to: n)
  }

  /// Gives back the room beyond `count`.
  func shrinkToFit() {
    guard capacity > count else { return }
    if count == 0 {
      free(base)
      base = nil
      capacity = 0
    } else {
      resize(to: count)
    }
  }

  private func resize(to n: Int) {
    // IndexEntry is a plain value (no references), so its bytes may be moved by realloc.
    guard let raw = realloc(base, n * MemoryLayout<IndexEntry>.stride) else {
      fatalError("out of memory: the index needs \(n) entries (\(n * MemoryLayout<IndexEntry>.stride >> 20) MiB)")
    }
    base = raw.bindMemory(to: IndexEntry.self, capacity: n)
    capacity = n
  }

  func append(_ e: IndexEntry) {
    if count == capacity { reserve(max(1024, capacity + capacity / 2)) }
    base![count] = e
    count += 1
  }

  /// Sets the count after entries were written in place (at most the capacity).
  func setCount(_ n: Int) {
    precondition(n >= 0 && n <= capacity)
    count = n
  }

  subscript(i: Int) -> IndexEntry {
    get {
      precondition(i >= 0 && i < count)
      return base![i]
    }
    set {
      precondition(i >= 0 && i < count)
      base![i] = newValue
    }
  }

  /// The entries as a buffer, valid until the next change of capacity.
  var buffer: UnsafeMutableBufferPointer<IndexEntry> { UnsafeMutableBufferPointer(start: base, count: count) }

  func forEach(_ body: (IndexEntry) throws -> Void) rethrows {
    for i in 0..<count { try body(base![i]) }
  }
}
