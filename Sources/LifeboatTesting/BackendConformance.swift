import Crypto
import LifeboatCore
public import LifeboatStorage

/// The backend contract as executable checks. Every provider's tests call `run`; it returns
/// the violations found (empty when the backend conforms).
///
/// Objects other than `config` are named by the hex SHA-256 of their bytes, as in a real
/// repository: a backend may verify that (the S3 backend signs the name as the payload hash,
/// so the server rejects a body that does not match).
public enum BackendConformance {
  public static func contentName(_ data: [UInt8]) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
  }

  /// What a backend promises beyond reads and writes.
  public struct Contract: Sendable {
    /// Removal of everything but locks is refused (a Lifeboat server's `rest:` endpoint): a
    /// remove fails with a permanent error and the object stays; the config is never replaced.
    public var appendOnly = false
    /// The object types saved and listed. A Lifeboat server checks what a key file holds, so
    /// random bytes are not saved as keys there (its own tests cover key uploads).
    public var types: [ObjectType] = [.pack, .index, .snapshot, .key, .lock, .mark]

    public init(appendOnly: Bool = false, types: [ObjectType] = [.pack, .index, .snapshot, .key, .lock, .mark]) {
      self.appendOnly = appendOnly
      self.types = types
    }
  }

  /// The name of an object of `type` holding `data`: its SHA-256, and for a mark the snapshot
  /// and kind before it (docs/design.md §18).
  public static func name(_ type: ObjectType, _ data: [UInt8]) -> String {
    let hash = contentName(data)
    return type == .mark ? MarkName(snapshot: String(hash.reversed()), kind: "protect", hash: hash).name : hash
  }

  public static func run(_ backend: any Backend, seed: UInt64 = 1, contract: Contract = Contract()) async -> [String] {
    var problems = [String]()
    var rng = SeededRandom(seed: seed)
    func name() -> String {
      ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()).hex
    }
    func expectNotFound(_ what: String, _ body: () async throws -> Void) async {
      do {
        try await body()
        problems.append("\(what): succeeded on a missing object")
      } catch let e as StorageError where e.isNotFound {
      } catch {
        problems.append("\(what): missing object gave \(error), not a not-found error")
      }
    }
    do {
      // Missing objects.
      let missing = Handle(.pack, name())
      await expectNotFound("load") { _ = try await backend.load(missing) }
      await expectNotFound("stat") { _ = try await backend.stat(missing) }
      if !contract.appendOnly { await expectNotFound("remove") { try await backend.remove(missing) } }
      if try await backend.exists(missing) { problems.append("exists: true for a missing object") }

      // Save, read back, ranges, list, stat.
      var saved = [Handle: [UInt8]]()
      for (t, type) in contract.types.enumerated() {
        for size in [0, 1, 4097, 70_000] {
          let data = [UInt8(t)] + rng.bytes(size)
          let h = Handle(type, Self.name(type, data))
          try await backend.save(h, data: data)
          saved[h] = data
        }
      }
      for (h, data) in saved {
        if try await backend.load(h) != data { problems.append("\(h): read-after-write differs") }
        if try await backend.stat(h).size != data.count { problems.append("\(h): stat size wrong") }
        if data.count > 10 {
          let part = try await backend.load(h, offset: 3, length: 7)
          if part != Array(data[3..<10]) { problems.append("\(h): range read wrong") }
          let tail = try await backend.load(h, offset: data.count - 5, length: nil)
          if tail != Array(data.suffix(5)) { problems.append("\(h): read to end wrong") }
          // `read(into:)`, the buffer-reusing form of a range read.
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count - 4, alignment: 1)
          defer { buffer.deallocate() }
          buffer.initializeMemory(as: UInt8.self, repeating: 0xAA)
          try await backend.read(h, offset: 2, into: buffer)
          if Array(buffer) != Array(data[2..<(data.count - 2)]) { problems.append("\(h): read(into:) wrong") }
        }
      }
      do {
        let (h, d) = saved.first { $0.value.count == 4098 }!
        _ = try await backend.load(h, offset: d.count - 2, length: 10)
        problems.append("range read past the end did not fail")
      } catch {}
      do {
        let (h, d) = saved.first { $0.value.count == 4098 }!
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 10, alignment: 1)
        defer { buffer.deallocate() }
        try await backend.read(h, offset: d.count - 2, into: buffer)
        problems.append("read(into:) past the end did not fail")
      } catch {}
      for type in contract.types {
        let listed = Set(try await backend.list(type).map(\.name))
        let expected = Set(saved.keys.filter { $0.type == type }.map(\.name))
        if !expected.isSubset(of: listed) { problems.append("list(\(type)): missing saved objects") }
        if listed.contains(where: { n in saved.keys.contains { $0.name == n && $0.type != type } }) {
          problems.append("list(\(type)): lists objects of another type")
        }
      }
      // Saving again (a retry) keeps the object; remove removes (append-only: locks only).
      for (h, d) in saved where h.type == .pack || h.type == .lock {
        try await backend.save(h, data: d)
        if try await backend.load(h) != d { problems.append("saving again changed \(h)") }
        if contract.appendOnly && h.type != .lock {
          do {
            try await backend.remove(h)
            problems.append("append-only: removing \(h) succeeded")
          } catch let e as StorageError {
            if e.isNotFound || !e.isPermanent { problems.append("append-only: removing \(h) gave \(e), not a permanent refusal") }
          }
          if try await !backend.exists(h) { problems.append("append-only: \(h) is gone after a refused remove") }
        } else {
          try await backend.remove(h)
          if try await backend.exists(h) { problems.append("remove did not remove \(h)") }
        }
      }
      // Concurrent saves.
      try await withThrowingTaskGroup(of: Void.self) { g in
        for i in 0..<16 {
          let data = [UInt8](repeating: UInt8(i % 10), count: 1000)
          let hh = Handle(.pack, contentName(data))
          g.addTask { try await backend.save(hh, data: data) }
        }
        try await g.waitForAll()
      }
      // Config, and overwriting it (the only object that is ever replaced by other bytes),
      // which an append-only backend refuses.
      try await backend.save(.config, data: [1, 2, 3])
      if try await backend.load(.config) != [1, 2, 3] { problems.append("config round trip failed") }
      if contract.appendOnly {
        do {
          try await backend.save(.config, data: [4, 5, 6, 7])
          problems.append("append-only: the config was replaced")
        } catch {}
        if try await backend.load(.config) != [1, 2, 3] { problems.append("append-only: the config changed") }
      } else {
        try await backend.save(.config, data: [4, 5, 6, 7])
        if try await backend.load(.config) != [4, 5, 6, 7] { problems.append("overwrite did not replace") }
      }
    } catch {
      problems.append("unexpected error: \(error)")
    }
    return problems
  }
}
