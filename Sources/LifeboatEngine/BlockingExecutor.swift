import Foundation

/// A task executor backed by its own threads, for workers that make blocking system calls
/// (read, write, fsync, file creation).
///
/// Swift's cooperative pool has one thread per core; a worker blocked in the kernel holds one
/// of them, so on two cores a single fsync idles half the machine. Pipelines run their workers
/// here (`group.addTask(executorPreference: BlockingExecutor.shared)`) with a few more workers
/// than cores, so one worker's wait is another's turn. The threads live for the process.
/// Public for callers (and tests) that run long CPU-bound walks or blocking work of their own
/// (`withTaskExecutorPreference(BlockingExecutor.shared)`), off the cooperative pool.
public final class BlockingExecutor: TaskExecutor, @unchecked Sendable {
  public static let shared = BlockingExecutor(threads: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))

  private let condition = NSCondition()
  private var jobs: [UnownedJob] = []
  private var head = 0

  /// An executor of its own, for work that must not wait behind `shared`'s (a test's live
  /// server, whose handlers must answer while other tests keep every core busy).
  public init(threads: Int) {
    for i in 0..<threads {
      let t = Thread { [self] in run() }
      t.name = "lifeboat-io-\(i)"
      t.stackSize = 1 << 20
      t.start()
    }
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let unowned = UnownedJob(job)
    condition.lock()
    jobs.append(unowned)
    condition.signal()
    condition.unlock()
  }

  private func run() {
    while true {
      condition.lock()
      while head == jobs.count { condition.wait() }
      let job = jobs[head]
      head += 1
      if head > 1024 && head * 2 > jobs.count {
        jobs.removeFirst(head)
        head = 0
      }
      condition.unlock()
      job.runSynchronously(on: asUnownedTaskExecutor())
    }
  }
}
