import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Synchronization
import Testing

/// Key files someone else put there, and lock files an interrupt must find (issue #19).
@Suite struct PlantedKeyTests {
  /// A key file with chosen KDF parameters (they are not authenticated), wrapping garbage.
  static func plantedKey(logN: Int, r: Int, p: Int) throws -> [UInt8] {
    let json = """
      {"version":1,"kdf":"scrypt","logN":\(logN),"r":\(r),"p":\(p),"salt":"\(Data(repeating: 7, count: 32).base64EncodedString())",\
      "created":"2026-12-01T00:00:00Z","hostname":"h","username":"u","data":"\(Data(repeating: 1, count: 120).base64EncodedString())"}
      """
    return Array(json.utf8)
  }

  static func plant(_ bytes: [UInt8], in backend: any Backend) async throws -> String {
    let name = StorageHash.id(bytes).hex
    try await backend.save(Handle(.key, name), data: bytes)
    return name
  }

  @Test func theKDFCostIsCappedBeforeAnythingIsDerived() {
    #expect(KeyDerivation.defaultScrypt.limitProblem == nil)
    #expect(KeyDerivation.defaultPBKDF2.limitProblem == nil)
    // The review's planted key: 1 GiB and 32× the default's work per try.
    let planted = KeyDerivation.scrypt(logN: 20, r: 8, p: 4)
    #expect(planted.limitProblem?.contains("above what Lifeboat attempts") == true)
    #expect(KeyDerivation.scrypt(logN: 18, r: 8, p: 4).limitProblem == nil, "8× the default's work and 256 MiB are allowed")
    #expect(KeyDerivation.scrypt(logN: 18, r: 8, p: 8).limitProblem != nil, "16× the work is not")
    #expect(KeyDerivation.scrypt(logN: 19, r: 8, p: 1).limitProblem != nil, "512 MiB is not")
    #expect(KeyDerivation.pbkdf2(rounds: 10_000_000).limitProblem != nil)
    #expect(KeyDerivation.pbkdf2(rounds: 999).limitProblem != nil)
  }

  /// Three planted key files named to sort first, as in the review: the repository opens with
  /// the right password without deriving any of them, and a wrong password names them.
  @Test func plantedExpensiveKeyFilesAreNeverTried() async throws {
    let backend = MemoryBackend()
    _ = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    var planted: [String] = []
    for i in 0..<3 { planted.append(try await Self.plant(try Self.plantedKey(logN: 20, r: 8, p: 4 - i % 2), in: backend)) }
    let repo = try await Repository.open(backend: backend, password: "pw")
    #expect(!planted.contains(repo.keyID))
    do {
      _ = try await Repository.open(backend: backend, password: "wrong")
      Issue.record("a wrong password opened the repository")
    } catch let e as LifeboatError {
      #expect(e.kind == .wrongPassword)
      for name in planted { #expect(e.message.contains(String(name.prefix(8))), "\(e.message)") }
      #expect(e.message.contains("not tried"), "\(e.message)")
      #expect(e.hint?.contains("intact key file") == true, "\(e.hint ?? "")")
    }
  }

  /// The order: a named key, then the one that opened the repository last, then cheapest first.
  @Test func keysAreTriedHintedThenRememberedThenCheapest() throws {
    func candidate(_ name: String, _ d: KeyDerivation) throws -> Repository.KeyCandidate {
      let f = try KeyFile.decode(try Self.plantedKey(logN: 10, r: 1, p: 1))
      return Repository.KeyCandidate(name: name, file: f, cost: d.estimatedMilliseconds)
    }
    let a = try candidate(String(repeating: "a", count: 64), .scrypt(logN: 16, r: 8, p: 4))
    let b = try candidate(String(repeating: "b", count: 64), .defaultScrypt)
    let c = try candidate(String(repeating: "c", count: 64), .scrypt(logN: 10, r: 1, p: 1))
    let d = try candidate(String(repeating: "d", count: 64), .defaultPBKDF2)
    let all = [a, b, c, d]
    #expect(Repository.keyOrder(all, hint: nil, remembered: nil).map { $0.name.first! } == ["c", "d", "b", "a"])
    #expect(Repository.keyOrder(all, hint: nil, remembered: b.name).map { $0.name.first! } == ["b", "c", "d", "a"])
    #expect(Repository.keyOrder(all, hint: "AA", remembered: b.name).map { $0.name.first! } == ["a", "b", "c", "d"])
  }

  /// Opening remembers the key file that worked, in a private file, per repository location.
  @Test func theKeyThatOpenedTheRepositoryIsRemembered() async throws {
    let dir = TemporaryDirectory("lifeboat-keymemory")
    defer { dir.remove() }
    let memory = KeyMemory(directory: dir.sub("cache"))
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let second = try await repo.addKey(password: "other", derivation: fastKDF)
    #expect(memory.remembered(for: backend.location) == nil)
    let opened = try await Repository.open(backend: backend, password: "other", memory: memory)
    #expect(opened.keyID == second)
    #expect(memory.remembered(for: backend.location) == second)
    let file = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.sub("cache") + "/keys").first)
    let mode = try FileManager.default.attributesOfItem(atPath: dir.sub("cache") + "/keys/" + file)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(KeyMemory.fromEnvironment(["LIFEBOAT_CACHE_DIR": "off", "HOME": "/root"]) == nil)
    #expect(KeyMemory.fromEnvironment(["HOME": "/home/ana"])?.directory == "/home/ana/.cache/lifeboat")
  }

  /// A damaged key file is named as damaged, never reported as a wrong password; when it was the
  /// only one, the error says no intact key file is left (exit 1, not 12).
  @Test func aDamagedKeyFileIsNamedNotCalledAWrongPassword() async throws {
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let good = repo.keyID
    var bytes = try await backend.load(Handle(.key, good))
    bytes[bytes.count / 2] ^= 0x20
    try await backend.remove(Handle(.key, good))
    try await backend.save(Handle(.key, good), data: bytes)
    do {
      _ = try await Repository.open(backend: backend, password: "pw")
      Issue.record("opened with a damaged key file")
    } catch let e as LifeboatError {
      #expect(e.kind == .corrupt, "\(e)")
      #expect(e.message.contains(String(good.prefix(8))) && e.message.contains("damaged"), "\(e.message)")
    }
    // Garbage under a name that matches it: "does not decode".
    let garbage = Array("not a key file".utf8)
    let gname = try await Self.plant(garbage, in: backend)
    do {
      _ = try await Repository.open(backend: backend, password: "pw")
    } catch let e as LifeboatError {
      #expect(e.kind == .corrupt && e.message.contains(String(gname.prefix(8))) && e.message.contains("does not decode"), "\(e.message)")
    }
  }
}

/// A damaged or lost config is not the end of a repository: every key file keeps a copy.
@Suite struct ConfigRedundancyTests {
  @Test func aDamagedOrMissingConfigIsRecoveredFromTheKeyFile() async throws {
    for damage in ["flip", "delete"] {
      let backend = MemoryBackend()
      let original = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
      var bytes = try await backend.load(.config)
      try await backend.remove(.config)
      if damage == "flip" {
        bytes[bytes.count / 2] ^= 1
        try await backend.save(.config, data: bytes)
      }
      let repo = try await Repository.open(backend: backend, password: "pw")
      #expect(repo.config == original.config, "\(damage): the copy is the config")
      #expect(repo.configDamage?.contains(damage == "flip" ? "damaged" : "missing") == true, "\(repo.configDamage ?? "")")
      #expect(try await repo.repairConfig())
      let again = try await Repository.open(backend: backend, password: "pw")
      #expect(again.configDamage == nil && again.config == original.config)
      #expect(try await again.repairConfig() == false, "nothing to do on an intact config")
    }
  }

  /// A repository whose key files predate the copy says exactly that.
  @Test func withoutACopyTheErrorSaysSo() async throws {
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    var file = try KeyFile.decode(try await backend.load(Handle(.key, repo.keyID)))
    file.config = nil
    let old = try file.encoded()
    try await backend.remove(Handle(.key, repo.keyID))
    try await backend.save(Handle(.key, StorageHash.id(old).hex), data: old)
    var bytes = try await backend.load(.config)
    bytes[3] ^= 1
    try await backend.remove(.config)
    try await backend.save(.config, data: bytes)
    do {
      _ = try await Repository.open(backend: backend, password: "pw")
      Issue.record("opened with a damaged config and no copy")
    } catch let e as LifeboatError {
      #expect(e.kind == .corrupt && e.message.contains("config") && e.message.contains("holds no copy"), "\(e.message)")
    }
  }
}

/// A backend that, before and after every write or removal of a lock file, checks that each
/// lock file on storage is registered in `HeldLocks`: an interrupt at that instant would
/// remove them all.
final class LockInvariantBackend: Backend, @unchecked Sendable {
  let inner: MemoryBackend
  let violations = Mutex<[String]>([])
  let steps = Mutex(0)
  init(_ inner: MemoryBackend) { self.inner = inner }
  var location: String { "invariant:" + inner.location }
  var isRemote: Bool { false }

  func check(_ when: String) async {
    steps.withLock { $0 += 1 }
    let onStorage = Set(((try? await inner.list(.lock)) ?? []).map(\.name))
    let missing = onStorage.subtracting(HeldLocks.names)
    if !missing.isEmpty { violations.withLock { $0.append("\(when): \(missing.map { $0.prefix(8) })") } }
  }

  func save(_ handle: Handle, data: [UInt8]) async throws {
    if handle.type == .lock { await check("before save \(handle.name.prefix(8))") }
    try await inner.save(handle, data: data)
    if handle.type == .lock { await check("after save \(handle.name.prefix(8))") }
  }
  func remove(_ handle: Handle) async throws {
    if handle.type == .lock { await check("before remove \(handle.name.prefix(8))") }
    try await inner.remove(handle)
    if handle.type == .lock { await check("after remove \(handle.name.prefix(8))") }
  }
  func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    try await inner.load(handle, offset: offset, length: length)
  }
  func stat(_ handle: Handle) async throws -> ObjectInfo { try await inner.stat(handle) }
  func list(_ type: ObjectType) async throws -> [ObjectInfo] { try await inner.list(type) }
}

@Suite struct LockInterruptTests {
  /// Lock files are read from storage (other clients', possibly hostile): mutated ones decode
  /// or throw, never crash (issue #19).
  @Test func mutatedLockFilesDecodeOrThrow() throws {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let seed = try LockInfo(exclusive: true, hostname: "h", username: "u", pid: 42, command: "prune", created: now, refreshed: now).encoded()
    var rng = SeededRandom(seed: 914)
    var decoded = 0
    for m in Mutator.mutations(of: seed, count: 2000, rng: &rng) where (try? LockInfo.decode(m)) != nil { decoded += 1 }
    #expect(decoded < 2000, "most damage is detected")
  }

  /// withLock always releases: after a return, a throw and a cancellation.
  @Test func theScopedLockIsReleasedOnReturnThrowAndCancellation() async throws {
    struct Boom: Error {}
    let backend = LockInvariantBackend(MemoryBackend())
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let value = try await repo.withLock(exclusive: true, command: "test") { (lock: RepositoryLock) async throws -> Int in
      #expect(try await backend.inner.list(.lock).map(\.name) == [lock.name])
      return 7
    }
    #expect(value == 7)
    #expect(try await backend.inner.list(.lock).isEmpty)
    await #expect(throws: Boom.self) { try await repo.withLock(exclusive: false, command: "test") { _ in throw Boom() } }
    #expect(try await backend.inner.list(.lock).isEmpty)
    let held = AsyncStream<Void>.makeStream()
    let task = Task {
      try await repo.withLock(exclusive: false, command: "test") { _ in
        held.continuation.yield()
        try await Task.sleep(for: .seconds(3600))
      }
    }
    for await _ in held.stream { break }
    #expect(try await backend.inner.list(.lock).count == 1)
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
    #expect(try await backend.inner.list(.lock).isEmpty, "released although the task was cancelled")
    // A conflicting lock fails at once without waiting, and with a budget it waits.
    _ = try await repo.withLock(exclusive: true, command: "holder") { _ in
      await #expect(throws: LifeboatError.self) { try await repo.withLock(exclusive: false, command: "second") { _ in } }
    }
    #expect(backend.violations.withLock { $0 }.isEmpty)
  }

  /// Every step of taking, refreshing (under a new name) and releasing a lock, and of failing to
  /// take one, keeps the invariant, so an interrupt at any of them leaves no lock behind.
  @Test func anInterruptAtAnyStepOfLockingFindsEveryLockFile() async throws {
    let clock = ManualClock()
    let backend = LockInvariantBackend(MemoryBackend())
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF, clock: clock)
    let lock = try await repo.lock(exclusive: false, command: "backup")
    #expect(HeldLocks.names.contains(lock.name))
    clock.advance(LockInfo.refreshEvery + 1)
    let before = lock.name
    try await lock.refreshIfDue()
    #expect(lock.name != before, "a refresh writes the lock under a new name")
    #expect(!HeldLocks.names.contains(before), "the old name is forgotten once removed")
    // A second, exclusive lock fails after writing its own file: that file is found too.
    await #expect(throws: LifeboatError.self) { try await repo.lock(exclusive: true, command: "prune") }
    let shared = try await repo.lock(exclusive: false, command: "check")
    await shared.release()
    await lock.release()
    #expect(try await backend.inner.list(.lock).isEmpty)
    #expect(!HeldLocks.names.contains(lock.name) && !HeldLocks.names.contains(shared.name))
    #expect(backend.steps.withLock { $0 } >= 10, "every step was checked")
    #expect(backend.violations.withLock { $0 }.isEmpty, "\(backend.violations.withLock { $0 })")
  }
}
