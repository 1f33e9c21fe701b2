import LifeboatCore
public import LifeboatStorage
import Synchronization

/// Wraps a backend and injects faults: failing saves (as a full disk, or an I/O error) after a
/// number of successful ones, and flipped bits on load. For tests of the "bad input and
/// faults" contract.
public final class FaultInjectingBackend: Backend {
  public let inner: any Backend
  public var location: String { "faulty:" + inner.location }
  public var isRemote: Bool { inner.isRemote }

  public struct Faults: Sendable {
    /// Saves of these types fail once this many saves (of any type) have succeeded.
    public var failSavesAfter: Int?
    public var failSaveTypes: Set<ObjectType> = Set(ObjectType.allCases)
    public var saveError: StorageError.Code = .noSpace
    /// Removes fail once this many removes have succeeded.
    public var failRemovesAfter: Int?
    /// Loads of these handles return the data with one bit flipped at this byte.
    public var flipOnLoad: [Handle: Int] = [:]
    /// The next this-many operations of any kind fail with a transient (`io`) error, as a
    /// throttling or briefly unreachable server would.
    public var transientFailures = 0
    /// A save or remove that fails transiently does its work first (only the answer was
    /// lost), to prove that retrying such operations is harmless.
    public var transientAfterWrite = false

    public init() {}
  }

  private let state: Mutex<(faults: Faults, saves: Int, removes: Int, transient: Int)>

  public init(_ inner: any Backend, faults: Faults = .init()) {
    self.inner = inner
    self.state = Mutex((faults, 0, 0, 0))
  }

  /// Transient failures injected so far.
  public var transientFailuresInjected: Int { state.withLock { $0.transient } }

  private func transient(_ h: Handle?) throws {
    let fail = state.withLock { s in
      guard s.faults.transientFailures > 0 else { return false }
      s.faults.transientFailures -= 1
      s.transient += 1
      return true
    }
    if fail { throw StorageError(.io, h, "injected transient fault (503 Slow Down)") }
  }

  public func setFaults(_ f: Faults) { state.withLock { $0.faults = f } }
  public var successfulSaves: Int { state.withLock { $0.saves } }

  public func save(_ h: Handle, data: [UInt8]) async throws {
    let fail: StorageError.Code? = state.withLock { s in
      if let n = s.faults.failSavesAfter, s.saves >= n, s.faults.failSaveTypes.contains(h.type) {
        return s.faults.saveError
      }
      return nil
    }
    if let fail { throw StorageError(fail, h, "injected fault") }
    if state.withLock({ $0.faults.transientAfterWrite }) {
      try await inner.save(h, data: data)
      try transient(h)
    } else {
      try transient(h)
      try await inner.save(h, data: data)
    }
    state.withLock { $0.saves += 1 }
  }

  public func load(_ h: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    try transient(h)
    var data = try await inner.load(h, offset: offset, length: length)
    if let at = state.withLock({ $0.faults.flipOnLoad[h] }) {
      let i = at - offset
      if i >= 0 && i < data.count { data[i] ^= 0x10 }
    }
    return data
  }

  public func stat(_ h: Handle) async throws -> ObjectInfo {
    try transient(h)
    return try await inner.stat(h)
  }
  public func list(_ t: ObjectType) async throws -> [ObjectInfo] {
    try transient(nil)
    return try await inner.list(t)
  }
  public func remove(_ h: Handle) async throws {
    if state.withLock({ $0.faults.transientAfterWrite }) {
      try await inner.remove(h)
      try transient(h)
      return
    }
    try transient(h)
    let fail = state.withLock { s in s.faults.failRemovesAfter.map { s.removes >= $0 } ?? false }
    if fail { throw StorageError(.io, h, "injected fault") }
    try await inner.remove(h)
    state.withLock { $0.removes += 1 }
  }

  public var successfulRemoves: Int { state.withLock { $0.removes } }
}
