import Synchronization

/// Hands out the indices 0..<count once each, to any number of workers.
final class WorkQueue: Sendable {
  private let next = Atomic<Int>(0)
  let count: Int

  init(count: Int) { self.count = count }

  func take() -> Int? {
    let i = next.add(1, ordering: .relaxed).oldValue
    return i < count ? i : nil
  }
}

/// A value shared between tasks behind a mutex.
final class SharedBox<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  init(_ value: Value) { mutex = Mutex(value) }

  func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
    try mutex.withLock { try body(&$0) }
  }
}
