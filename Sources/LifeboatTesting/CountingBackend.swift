import LifeboatCore
public import LifeboatStorage
import Synchronization

/// Wraps a backend and counts what is read from it, per object type: for tests that prove how
/// much an operation reads (a walk that reads each tree once, not once per visit).
public final class CountingBackend: Backend {
  public let inner: any Backend
  public var location: String { "counting:" + inner.location }
  public var isRemote: Bool { inner.isRemote }
  private let loaded = Mutex([ObjectType: Int]())
  private let requests = Mutex([ObjectType: Int]())

  public init(_ inner: any Backend) { self.inner = inner }

  /// Bytes returned by `load` for objects of this type so far.
  public func bytesLoaded(_ type: ObjectType) -> Int { loaded.withLock { $0[type] ?? 0 } }

  /// Reads (`load` calls, each a request on remote storage) of objects of this type so far.
  public func loads(_ type: ObjectType) -> Int { requests.withLock { $0[type] ?? 0 } }

  public func load(_ h: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    let data = try await inner.load(h, offset: offset, length: length)
    loaded.withLock { $0[h.type, default: 0] += data.count }
    requests.withLock { $0[h.type, default: 0] += 1 }
    return data
  }

  public func save(_ h: Handle, data: [UInt8]) async throws { try await inner.save(h, data: data) }
  public func stat(_ h: Handle) async throws -> ObjectInfo { try await inner.stat(h) }
  public func list(_ t: ObjectType) async throws -> [ObjectInfo] { try await inner.list(t) }
  public func remove(_ h: Handle) async throws { try await inner.remove(h) }
}
