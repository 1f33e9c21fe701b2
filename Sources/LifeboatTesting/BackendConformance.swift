public import LifeboatCore
public import LifeboatStorage

/// The backend contract as executable checks. Every provider's tests call `run`; it returns
/// the violations found (empty when the backend conforms).
public enum BackendConformance {
  public static func run(_ backend: any Backend, seed: UInt64 = 1) async -> [String] {
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
      await expectNotFound("remove") { try await backend.remove(missing) }
      if try await backend.exists(missing) { problems.append("exists: true for a missing object") }

      // Save, read back, ranges, list, stat.
      var saved = [Handle: [UInt8]]()
      for type in [ObjectType.pack, .index, .snapshot, .key, .lock] {
        for size in [0, 1, 4097, 70_000] {
          let h = Handle(type, name())
          let data = rng.bytes(size)
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
        }
      }
      do {
        let (h, d) = saved.first { $0.value.count == 4097 }!
        _ = try await backend.load(h, offset: d.count - 2, length: 10)
        problems.append("range read past the end did not fail")
      } catch {}
      for type in [ObjectType.pack, .index, .snapshot, .key, .lock] {
        let listed = Set(try await backend.list(type).map(\.name))
        let expected = Set(saved.keys.filter { $0.type == type }.map(\.name))
        if !expected.isSubset(of: listed) { problems.append("list(\(type)): missing saved objects") }
        if listed.contains(where: { n in saved.keys.contains { $0.name == n && $0.type != type } }) {
          problems.append("list(\(type)): lists objects of another type")
        }
      }
      // Overwrite replaces atomically; remove removes.
      let (h, _) = saved.first!
      let replacement = rng.bytes(123)
      try await backend.save(h, data: replacement)
      if try await backend.load(h) != replacement { problems.append("overwrite did not replace") }
      try await backend.remove(h)
      if try await backend.exists(h) { problems.append("remove did not remove") }
      // Concurrent saves.
      try await withThrowingTaskGroup(of: Void.self) { g in
        for i in 0..<16 {
          let hh = Handle(.pack, String(repeating: String(i % 10), count: 64))
          g.addTask { try await backend.save(hh, data: [UInt8](repeating: UInt8(i), count: 1000)) }
        }
        try await g.waitForAll()
      }
      // Config.
      try await backend.save(.config, data: [1, 2, 3])
      if try await backend.load(.config) != [1, 2, 3] { problems.append("config round trip failed") }
    } catch {
      problems.append("unexpected error: \(error)")
    }
    return problems
  }
}
