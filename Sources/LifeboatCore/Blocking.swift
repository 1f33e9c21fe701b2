import Foundation

/// Blocking work — a child process waited for, a throwaway database server, a tool that runs
/// for seconds — goes to a Dispatch thread, never onto one of the few threads of Swift's
/// cooperative pool (two on a two-core machine): a blocked pool stalls every other task of the
/// process, from the agent's server to the timers of an SMTP conversation.
public enum Blocking {
  public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
      DispatchQueue.global().async {
        do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
      }
    }
  }

  public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in
      DispatchQueue.global().async { c.resume(returning: body()) }
    }
  }
}
