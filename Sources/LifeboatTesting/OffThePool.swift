import Foundation
import LifeboatCore

/// Runs blocking work (a child process waited for) off Swift's cooperative pool: tests that
/// block the pool starve in-process servers of other tests running at the same time. The same
/// rule as the product's `Blocking.run`, under the name the tests use.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await Blocking.run(body)
}
