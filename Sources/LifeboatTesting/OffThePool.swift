import Foundation

/// Runs blocking work (a child process waited for) on a Dispatch thread instead of one of the
/// few threads of Swift's cooperative pool: tests that block the pool starve in-process servers
/// of other tests running at the same time.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
    DispatchQueue.global().async {
      do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
    }
  }
}
