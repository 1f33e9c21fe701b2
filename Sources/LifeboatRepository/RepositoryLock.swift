public import Foundation
import Synchronization
import LifeboatCore
import LifeboatFormat
import LifeboatStorage

/// What a lock file says (`locks/<sha256>`, plain JSON: it holds no secrets).
public struct LockInfo: Codable, Sendable {
  public var exclusive: Bool
  public var hostname: String
  public var username: String
  public var pid: Int32
  public var command: String
  public var created: Date
  public var refreshed: Date

  public init(
    exclusive: Bool, hostname: String, username: String, pid: Int32, command: String,
    created: Date, refreshed: Date
  ) {
    self.exclusive = exclusive
    self.hostname = hostname
    self.username = username
    self.pid = pid
    self.command = command
    self.created = created
    self.refreshed = refreshed
  }

  /// A lock not refreshed for this long is stale and ignored (holders refresh every 5 min).
  public static let staleAfter: TimeInterval = 30 * 60
  public static let refreshEvery: TimeInterval = 5 * 60

  /// Stale when not refreshed in time, or when it belongs to a process of this host that no
  /// longer exists.
  public func isStale(now: Date, localHostname: String) -> Bool {
    if now.timeIntervalSince(refreshed) > Self.staleAfter { return true }
    if hostname == localHostname && pid > 0 && kill(pid, 0) != 0 && errno == ESRCH { return true }
    return false
  }

  public func encoded() throws -> [UInt8] {
    let e = JSONEncoder()
    e.dateEncodingStrategy = .iso8601
    e.outputFormatting = [.sortedKeys]
    return Array(try e.encode(self))
  }

  public static func decode(_ bytes: [UInt8]) throws -> LockInfo {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return try d.decode(LockInfo.self, from: Data(bytes))
  }

  public var summary: String {
    "\(exclusive ? "exclusive" : "shared") lock by \(username)@\(hostname) pid \(pid) "
      + "(\(command)), created \(created), refreshed \(refreshed)"
  }
}

/// A held lock. Shared locks (backup, restore, check) coexist; an exclusive lock (prune,
/// unlock-all, key removal) excludes every other lock.
public final class RepositoryLock: Sendable {
  private let backend: any Backend
  private let clock: any WallClock
  private struct State {
    var name: String
    var info: LockInfo
    var released = false
  }
  private let state: Mutex<State>

  init(backend: any Backend, clock: any WallClock, name: String, info: LockInfo) {
    self.backend = backend
    self.clock = clock
    self.state = Mutex(State(name: name, info: info))
  }

  public var name: String { state.withLock { $0.name } }

  /// Rewrites the lock with a new refresh time when 5 minutes have passed since the last one.
  public func refreshIfDue() async throws {
    let now = clock.now()
    let due: (String, LockInfo)? = state.withLock { s in
      guard !s.released, now.timeIntervalSince(s.info.refreshed) >= LockInfo.refreshEvery else {
        return nil
      }
      var info = s.info
      info.refreshed = now
      return (s.name, info)
    }
    guard let (old, info) = due else { return }
    let bytes = try info.encoded()
    let name = StorageHash.id(bytes).hex
    try HeldLocks.willWrite(name, on: backend)
    do {
      defer { HeldLocks.didWrite(name) }
      try await Repository.storage { try await backend.save(Handle(.lock, name), data: bytes) }
    } catch {
      await HeldLocks.remove(name, from: backend)
      throw error
    }
    state.withLock { s in
      s.name = name
      s.info = info
    }
    do {
      try await backend.remove(Handle(.lock, old))
      HeldLocks.didRemove(old)
    } catch {
      // Left registered: an interrupt still removes it; a stale lock otherwise expires.
    }
  }

  /// Runs `body` while a child task refreshes the lock every 30 seconds (when due), so long
  /// restores, checks and scans keep it alive even when they upload nothing.
  public func whileHeld<T>(_ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { [self] in
        while !Task.isCancelled {
          do {
            try await Task.sleep(nanoseconds: 30_000_000_000)
          } catch {
            return
          }
          try? await refreshIfDue()
        }
      }
      defer { group.cancelAll() }
      return try await body()
    }
  }

  public func release() async {
    let name: String? = state.withLock { s in
      if s.released { return nil }
      s.released = true
      return s.name
    }
    guard let name else { return }
    do {
      try await backend.remove(Handle(.lock, name))
      HeldLocks.didRemove(name)
    } catch {
      // Still registered, so an interrupt removes it; otherwise it goes stale.
    }
  }
}

extension Repository {
  /// All lock files with their contents (unreadable ones as nil).
  public func listLocks() async throws -> [(name: String, info: LockInfo?)] {
    let infos = try await Self.storage { try await backend.list(.lock) }
    var out = [(name: String, info: LockInfo?)]()
    for i in infos {
      let bytes = try? await backend.load(Handle(.lock, i.name))
      out.append((i.name, bytes.flatMap { try? LockInfo.decode($0) }))
    }
    return out
  }

  /// Takes a lock. Fails with `lockFailed` when a live conflicting lock exists.
  ///
  /// Protocol: check for conflicts, write our lock, then check again; if a conflicting lock
  /// appeared in between, remove ours and fail (two racing writers may both fail, never both
  /// succeed).
  public func lock(exclusive: Bool, command: String) async throws -> RepositoryLock {
    let host = Identity.current.hostname
    // Lock files that cannot be read count as conflicts (they may be live locks written by
    // a newer version); one that vanishes between list and load was being refreshed or
    // released, so the listing is taken again.
    func conflicts(except mine: String?) async throws -> [String] {
      var attempt = 0
      while true {
        attempt += 1
        let now = clock.now()
        var out = [String]()
        var vanished = false
        for info in try await Self.storage({ try await backend.list(.lock) }) where info.name != mine {
          let bytes: [UInt8]
          do {
            bytes = try await backend.load(Handle(.lock, info.name))
          } catch let e as StorageError where e.isNotFound {
            vanished = true
            continue
          }
          guard let lock = try? LockInfo.decode(bytes) else {
            out.append("unreadable lock file \(info.name.prefix(8))")
            continue
          }
          if lock.isStale(now: now, localHostname: host) { continue }
          if exclusive || lock.exclusive { out.append(lock.summary) }
        }
        if !vanished || attempt >= 3 { return out }
      }
    }
    func fail(_ c: [String]) -> LifeboatError {
      LifeboatError(
        .lockFailed,
        "the repository is locked: " + c.joined(separator: "; "),
        hint: "wait for that run to finish; if it died, `lifeboat unlock` removes stale locks")
    }
    let before = try await conflicts(except: nil)
    if !before.isEmpty { throw fail(before) }
    let now = clock.now()
    let info = LockInfo(
      exclusive: exclusive, hostname: host, username: Identity.current.username,
      pid: getpid(), command: command, created: now, refreshed: now)
    let bytes = try info.encoded()
    let name = StorageHash.id(bytes).hex
    // Registered before it exists, so an interrupt at any instant from here removes it.
    try HeldLocks.willWrite(name, on: backend)
    do {
      defer { HeldLocks.didWrite(name) }
      try await Self.storage { try await backend.save(Handle(.lock, name), data: bytes) }
    } catch {
      await HeldLocks.remove(name, from: backend)
      throw error
    }
    let after: [String]
    do {
      after = try await conflicts(except: name)
    } catch {
      await HeldLocks.remove(name, from: backend)
      throw error
    }
    if !after.isEmpty {
      await HeldLocks.remove(name, from: backend)
      throw fail(after)
    }
    return RepositoryLock(backend: backend, clock: clock, name: name, info: info)
  }

  /// Removes stale locks, or every lock with `all`. Returns the names removed.
  public func removeLocks(all: Bool) async throws -> [String] {
    let now = clock.now()
    let host = Identity.current.hostname
    var removed = [String]()
    for l in try await listLocks() {
      let stale = l.info.map { $0.isStale(now: now, localHostname: host) } ?? true
      if all || stale {
        try await Self.storage { try await backend.remove(Handle(.lock, l.name)) }
        removed.append(l.name)
      }
    }
    return removed
  }
}

/// How long to wait for a conflicting lock to go away before failing (exit 11).
public struct LockWaiting: Sendable {
  public var budget: TimeInterval
  public var firstDelay: Double
  public var maxDelay: Double

  public init(budget: TimeInterval, firstDelay: Double = 1, maxDelay: Double = 15) {
    self.budget = budget
    self.firstDelay = firstDelay
    self.maxDelay = maxDelay
  }

  /// Fail at once when the lock is held (the command line without --retry-lock).
  public static let none = LockWaiting(budget: 0)
  /// A plan's jobs share repositories: wait from 0.2 s doubling to 5 s, for up to 15 minutes.
  public static let planJob = LockWaiting(budget: 900, firstDelay: 0.2, maxDelay: 5)
}

extension Repository {
  /// The one way to hold a lock: takes it (waiting as `waiting` allows), runs `body` while a
  /// child task refreshes it, and always releases it — on return, on a throw, and when the
  /// task is cancelled (the removal then runs outside the cancelled task). The lock file is
  /// registered for an interrupt before it is written (`HeldLocks`).
  public func withLock<T>(
    exclusive: Bool, command: String, waiting: LockWaiting = .none, onWait: (Double) -> Void = { _ in },
    _ body: (RepositoryLock) async throws -> T
  ) async throws -> T {
    let lock =
      waiting.budget > 0
      ? try await self.lock(
        exclusive: exclusive, command: command, waitingUpTo: waiting.budget, firstDelay: waiting.firstDelay,
        maxDelay: waiting.maxDelay, onWait: onWait)
      : try await self.lock(exclusive: exclusive, command: command)
    let result: Result<T, any Error>
    do {
      result = .success(try await lock.whileHeld { try await body(lock) })
    } catch {
      result = .failure(error)
    }
    await Task { await lock.release() }.value
    return try result.get()
  }
}

extension Repository {
  /// Takes the lock, waiting for a conflicting one to go away: retries with a delay that
  /// starts at `firstDelay` and doubles up to `maxDelay`, for at most `budget` seconds, then
  /// fails as `lock` does. `onWait` hears each delay before it is slept.
  public func lock(
    exclusive: Bool, command: String, waitingUpTo budget: TimeInterval, firstDelay: Double = 1,
    maxDelay: Double = 15, onWait: (Double) -> Void = { _ in }
  ) async throws -> RepositoryLock {
    let waited = Stopwatch()
    var delay = firstDelay
    while true {
      do {
        return try await lock(exclusive: exclusive, command: command)
      } catch let e as LifeboatError where e.kind == .lockFailed && waited.seconds + delay < budget {
        onWait(delay)
        try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        delay = min(delay * 2, maxDelay)
      }
    }
  }
}
