import Synchronization
import LifeboatCore

/// Objects in memory; for tests and as the reference behaviour of the contract.
public final class MemoryBackend: Backend {
  private let objects = Mutex<[Handle: [UInt8]]>([:])
  public let location = "memory:"

  public init() {}

  public func save(_ h: Handle, data: [UInt8]) async throws {
    objects.withLock { $0[h] = data }
  }

  public func load(_ h: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    guard let data = objects.withLock({ $0[h] }) else {
      throw StorageError(.notFound, h, "no such object")
    }
    let want = length ?? (data.count - offset)
    guard offset >= 0, want >= 0, offset + want <= data.count else {
      throw StorageError(.invalid, h, "read beyond end")
    }
    return Array(data[offset..<offset + want])
  }

  public func stat(_ h: Handle) async throws -> ObjectInfo {
    guard let data = objects.withLock({ $0[h] }) else {
      throw StorageError(.notFound, h, "no such object")
    }
    return ObjectInfo(name: h.name, size: data.count)
  }

  public func list(_ type: ObjectType) async throws -> [ObjectInfo] {
    objects.withLock { o in
      o.filter { $0.key.type == type }.map { ObjectInfo(name: $0.key.name, size: $0.value.count) }
    }
  }

  public func remove(_ h: Handle) async throws {
    let existed = objects.withLock { $0.removeValue(forKey: h) != nil }
    if !existed { throw StorageError(.notFound, h, "no such object") }
  }

  /// Replaces an object's bytes behind the repository's back (tests: corruption).
  public func tamper(_ h: Handle, _ change: ([UInt8]) -> [UInt8]) {
    objects.withLock { o in
      if let d = o[h] { o[h] = change(d) }
    }
  }
}
