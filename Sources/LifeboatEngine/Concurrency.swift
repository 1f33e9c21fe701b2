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

/// Files to read, appended by the scan while readers take them. Thread-safe.
final class JobQueue: Sendable {
  enum Take {
    case job(Int, Archiver.FileJob)
    /// Nothing queued yet, but the scan is still running.
    case wait
    /// The scan has finished and every job was taken.
    case done
  }

  private struct State {
    /// Taken jobs are dropped (set to nil) so their paths and nodes are freed as reading
    /// proceeds.
    var jobs: [Archiver.FileJob?] = []
    var count = 0
    var next = 0
    var finished = false
    var bytes: UInt64 = 0
  }
  private let state = Mutex(State())

  /// Queues a job; returns its index.
  func append(_ job: Archiver.FileJob) -> Int {
    state.withLock { s in
      s.jobs.append(job)
      s.bytes += job.node.size
      s.count += 1
      return s.jobs.count - 1
    }
  }

  func finish() { state.withLock { $0.finished = true } }

  var totals: (files: Int, bytes: UInt64) { state.withLock { ($0.count, $0.bytes) } }

  func take() -> Take {
    state.withLock { s in
      if s.next < s.jobs.count {
        defer {
          s.jobs[s.next] = nil
          s.next += 1
        }
        return .job(s.next, s.jobs[s.next]!)
      }
      return s.finished ? .done : .wait
    }
  }
}

/// A flag one thread sets and another reads.
final class SharedFlag: Sendable {
  private let value = Atomic<Bool>(false)
  func set() { value.store(true, ordering: .releasing) }
  var isSet: Bool { value.load(ordering: .acquiring) }
}
