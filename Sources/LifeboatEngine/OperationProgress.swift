import Synchronization

/// Live counters of a running operation, polled by the CLI's progress line. Thread-safe.
public final class OperationProgress: Sendable {
  public struct Counters: Sendable {
    public var phase: String = ""
    /// Entries examined by a scan, and the bytes of the files among them (so far: the scan
    /// runs alongside the reading).
    public var scanned = 0
    public var scannedBytes: UInt64 = 0
    public var filesDone = 0
    public var bytesDone: UInt64 = 0
    /// Totals once known (after the scan); nil while scanning.
    public var filesTotal: Int?
    public var bytesTotal: UInt64?
    public var errors = 0

    public init() {}
  }

  private let state = Mutex(Counters())

  public init() {}

  public var counters: Counters { state.withLock { $0 } }

  public func update(_ change: (inout Counters) -> Void) {
    state.withLock { change(&$0) }
  }

  func add(files: Int = 0, bytes: UInt64 = 0) {
    state.withLock {
      $0.filesDone += files
      $0.bytesDone += bytes
    }
  }
}
