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
    /// The jobs not yet taken, from `next` on; `jobs[0]` has index `base`. Taken jobs are
    /// dropped in batches, so the array holds about what the scan is ahead of the readers.
    var jobs: [Archiver.FileJob] = []
    var base = 0
    var next = 0
    var count = 0
    var finished = false
    var bytes: UInt64 = 0
  }
  private let state = Mutex(State())

  /// How far the scan may run ahead of the readers, in files. A scan that queued every file
  /// of a large tree first held each one's path and metadata at once (15 MB for 58,000 files).
  static let ahead = 4096

  /// Queues a job; returns its index.
  func append(_ job: Archiver.FileJob) -> Int {
    state.withLock { s in
      s.jobs.append(job)
      s.bytes += job.node.size
      s.count += 1
      return s.base + s.jobs.count - 1
    }
  }

  /// Jobs queued and not yet taken.
  var pending: Int { state.withLock { $0.jobs.count - $0.next } }

  /// Waits while the scan is more than `ahead` files in front of the readers.
  func waitForRoom() async throws {
    while pending > Self.ahead {
      try await Task.sleep(nanoseconds: 1_000_000)
    }
  }

  func finish() { state.withLock { $0.finished = true } }

  var totals: (files: Int, bytes: UInt64) { state.withLock { ($0.count, $0.bytes) } }

  func take() -> Take {
    state.withLock { s in
      if s.next < s.jobs.count {
        let job = s.jobs[s.next]
        let index = s.base + s.next
        s.next += 1
        if s.next >= 1024 && s.next * 2 >= s.jobs.count {
          s.jobs.removeFirst(s.next)
          s.base += s.next
          s.next = 0
        }
        return .job(index, job)
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
