// Retrying transient storage failures: exponential backoff with full jitter.

import Foundation

/// When and how often a transient failure is retried.
///
/// Attempt `n` (from 1) waits a random time in `0 ..< min(maxDelay, baseDelay * 2^(n-1))`
/// ("full jitter"), so many clients that failed together do not retry together.
public struct RetryPolicy: Sendable {
  /// Total tries, the first included.
  public var attempts: Int
  public var baseDelay: Duration
  public var maxDelay: Duration
  /// Waits between tries; tests replace it to run without waiting.
  public var sleep: @Sendable (Duration) async throws -> Void

  public init(
    attempts: Int = 6, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(20),
    sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
  ) {
    self.attempts = max(1, attempts)
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
    self.sleep = sleep
  }

  public static let none = RetryPolicy(attempts: 1)

  /// The longest wait before attempt `n + 1`.
  public func ceiling(afterAttempt n: Int) -> Duration {
    let factor = 1 << min(max(n - 1, 0), 20)
    return min(maxDelay, baseDelay * factor)
  }

  /// Runs `body`; retries while it throws an error `isTransient` accepts.
  /// `onRetry` sees each failure that will be retried and the attempt that failed.
  public func run<T>(
    isTransient: (any Error) -> Bool = RetryPolicy.isTransientStorageError,
    onRetry: (any Error, Int) -> Void = { _, _ in },
    _ body: (_ attempt: Int) async throws -> T
  ) async throws -> T {
    var attempt = 1
    while true {
      do {
        return try await body(attempt)
      } catch {
        guard attempt < attempts, isTransient(error), !Task.isCancelled else { throw error }
        onRetry(error, attempt)
        let ceiling = ceiling(afterAttempt: attempt)
        let ns = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        try await sleep(.nanoseconds(Int64.random(in: 0...max(ns, 0))))
        attempt += 1
      }
    }
  }

  public static func isTransientStorageError(_ error: any Error) -> Bool {
    (error as? StorageError).map { !$0.isPermanent } ?? false
  }
}

/// A backend whose operations are retried on transient failures.
public struct RetryingBackend: Backend {
  public let inner: any Backend
  public let policy: RetryPolicy

  public init(_ inner: any Backend, policy: RetryPolicy = RetryPolicy()) {
    self.inner = inner
    self.policy = policy
  }

  public var location: String { inner.location }
  public var isRemote: Bool { inner.isRemote }

  public func save(_ handle: Handle, data: [UInt8]) async throws {
    try await policy.run { _ in try await inner.save(handle, data: data) }
  }
  public func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    try await policy.run { _ in try await inner.load(handle, offset: offset, length: length) }
  }
  /// Each attempt fills the whole buffer again, so a retry after a partial read is harmless.
  public func read(_ handle: Handle, offset: Int, into buffer: UnsafeMutableRawBufferPointer) async throws {
    nonisolated(unsafe) let target = buffer
    try await policy.run { _ in try await inner.read(handle, offset: offset, into: target) }
  }
  public func stat(_ handle: Handle) async throws -> ObjectInfo {
    try await policy.run { _ in try await inner.stat(handle) }
  }
  public func list(_ type: ObjectType) async throws -> [ObjectInfo] {
    try await policy.run { _ in try await inner.list(type) }
  }
  /// A retried remove that finds the object gone counts as done: the first try removed it
  /// and only its answer was lost.
  public func remove(_ handle: Handle) async throws {
    try await policy.run { attempt in
      do {
        try await inner.remove(handle)
      } catch let e as StorageError where e.isNotFound && attempt > 1 {
        return
      }
    }
  }
}
