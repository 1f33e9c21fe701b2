import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

let fastKDF = KeyDerivation.scrypt(logN: 10, r: 8, p: 1)

@Suite struct RepositoryTests {
  @Test func initOpenAndWrongPassword() async throws {
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let opened = try await Repository.open(backend: backend, password: "pw")
    #expect(opened.config == repo.config)
    #expect(opened.keys.masterSecret == repo.keys.masterSecret)
    let before = try await backend.list(.key).count + (try await backend.list(.lock).count)
    await #expect(throws: LifeboatError.self) { try await Repository.open(backend: backend, password: "nope") }
    do {
      _ = try await Repository.open(backend: backend, password: "nope")
    } catch let e as LifeboatError {
      #expect(e.kind == .wrongPassword)
    }
    let after = try await backend.list(.key).count + (try await backend.list(.lock).count)
    #expect(before == after, "a wrong password writes nothing")
    await #expect(throws: LifeboatError.self) {
      try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    }
  }

  /// A pack of many small blobs has a header over the 64 KiB first read. The second read must
  /// be the header's own length (from the pack's last 4 bytes), not the whole pack: reading
  /// the pack made `check --read-data` read such packs twice.
  @Test func aLargePackHeaderIsReadWithoutReadingTheWholePack() async throws {
    let memory = MemoryBackend()
    let counting = CountingBackend(memory)
    let repo = try await Repository.initialize(backend: counting, password: "pw", derivation: fastKDF)
    var rng = SeededRandom(seed: 41)
    var builder = PackBuilder(capacity: 1 << 20)
    for _ in 0..<3_000 {
      let plain = rng.bytes(300)
      let sealed = plain.withUnsafeBytes { PackFormat.sealBlob($0, keys: repo.keys, compressor: nil) }
      _ = builder.add(
        id: repo.keys.blobID(plain), type: .data, sealed: sealed.bytes, compressed: sealed.compressed,
        rawLength: plain.count)
    }
    let pack = builder.finish(keys: repo.keys)
    try await memory.save(Handle(.pack, pack.id.hex), data: pack.bytes)
    let tail = try PackFormat.tailLength(pack.bytes, packLength: pack.bytes.count)
    #expect(tail > 64 << 10, "the header must not fit the first read")

    let before = counting.bytesLoaded(.pack)
    let header = try await repo.loadPackHeader(pack.id, size: pack.bytes.count)
    let read = counting.bytesLoaded(.pack) - before
    #expect(header == pack.entries)
    #expect(read == (64 << 10) + tail, "read \(read) bytes for a \(tail)-byte header of a \(pack.bytes.count)-byte pack")
  }

  @Test func missingRepositoryIsReportedAsSuch() async throws {
    do {
      _ = try await Repository.open(backend: MemoryBackend(), password: "pw")
      Issue.record("opened a repository that does not exist")
    } catch let e as LifeboatError {
      #expect(e.kind == .repositoryNotFound)
    }
  }

  @Test func severalKeyFilesOpenTheSameRepository() async throws {
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "first", derivation: fastKDF)
    try await repo.addKey(password: "second", derivation: .pbkdf2(rounds: 1000))
    let a = try await Repository.open(backend: backend, password: "first")
    let b = try await Repository.open(backend: backend, password: "second")
    #expect(a.keys.masterSecret == b.keys.masterSecret)
    #expect(a.keyID != b.keyID)
  }

  /// Tampered config bytes are never used: the authenticated copy in the key file is, and the
  /// damage is reported (docs/design.md §4).
  @Test func tamperedConfigIsRefused() async throws {
    let backend = MemoryBackend()
    let original = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    backend.tamper(.config) { var d = $0; d[d.count / 2] ^= 1; return d }
    let repo = try await Repository.open(backend: backend, password: "pw")
    #expect(repo.config == original.config)
    #expect(repo.configDamage?.contains("damaged") == true)
  }

  @Test func blobsRoundTripThroughPacksAndIndexFiles() async throws {
    let backend = MemoryBackend()
    var cfg = RepositoryConfig()
    cfg.packSize = 1 << 16
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF, configuration: cfg)
    let saver = BlobSaver(repository: repo, indexEvery: 2)
    var rng = SeededRandom(seed: 9)
    var blobs = [ID: [UInt8]]()
    let c = ZstdCompressor()
    for i in 0..<200 {
      let data = i % 2 == 0 ? rng.bytes(Int(rng.next() % 20_000)) : rng.compressibleBytes(Int(rng.next() % 20_000))
      let r = try await saver.save(.data, bytes: data, compressor: c)
      #expect(r.isNew == (blobs[r.id] == nil))
      blobs[r.id] = data
      // Saving the same content again is deduplicated.
      #expect(try await saver.save(.data, bytes: data, compressor: c).isNew == false)
    }
    let beforeFlush = try await backend.list(.index).count
    #expect(beforeFlush > 0, "index files are written while the backup runs, not only at the end")
    try await saver.flush()
    let stats = saver.statistics
    #expect(stats.packs > 10)
    #expect(try await backend.list(.pack).count == stats.packs)

    let reopened = try await Repository.open(backend: backend, password: "pw")
    let report = try await reopened.loadIndex()
    #expect(report.damaged.isEmpty)
    #expect(reopened.index.blobCount == blobs.count)
    for (id, data) in blobs {
      #expect(try await reopened.loadBlob(id) == data)
    }
  }

  @Test func indexStaysUnder64BytesPerBlobAndFindsEverything() async throws {
    let index = MasterIndex()
    var rng = SeededRandom(seed: 10)
    var ids = [ID]()
    for p in 0..<2000 {
      let pack = ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
      var entries = [PackEntry]()
      for i in 0..<50 {
        let id = ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
        ids.append(id)
        entries.append(PackEntry(type: i % 10 == 0 ? .tree : .data, compressed: i % 2 == 0, offset: UInt32(i * 1000), length: 1000, rawLength: 2000, id: id))
      }
      index.add(pack: pack, entries: entries)
      _ = p
    }
    index.compact()
    #expect(index.blobCount == 100_000)
    for id in ids.prefix(5000) { #expect(index.contains(id)) }
    let loc = try #require(index.location(of: ids[10]))
    #expect(loc.entry.type == .tree && loc.entry.compressed && loc.entry.offset == 10_000)
    #expect(!index.contains(ID(w0: 1, w1: 2, w2: 3, w3: 4)))
    let perBlob = index.memoryBytesPerBlob()
    #expect(perBlob <= 64, "index uses \(perBlob) bytes per blob")
    #expect(index.reserve(ids[0]) == false)
    let fresh = ID(w0: 9, w1: 9, w2: 9, w3: 9)
    #expect(index.reserve(fresh) == true)
    #expect(index.reserve(fresh) == false, "a reserved blob is not handed out twice")
  }

  /// Entries added after a bulk load are merged into the loaded block in place, from the back
  /// (#23: a first backup of 5 M files no longer holds a second copy of its index while
  /// merging). Every entry stays findable at its own place through dozens of merges, seeded
  /// random IDs interleaving with the loaded ones; nothing unknown is found.
  @Test func mergesInPlaceKeepEveryEntryFindable() {
    var rng = SeededRandom(seed: 23)
    func id() -> ID { ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()) }
    var expected = [ID: (pack: ID, offset: UInt32)]()
    func pack(_ n: Int) -> IndexFile.Pack {
      let p = id()
      let entries = (0..<n).map { i in
        let e = PackEntry(type: .data, compressed: false, offset: UInt32(i * 64), length: 64, rawLength: 64, id: id())
        expected[e.id] = (p, e.offset)
        return e
      }
      return IndexFile.Pack(id: p, entries: entries)
    }
    let index = MasterIndex()
    var loader = MasterIndex.Loader(expectedEntries: 10)  // short: the block grows while loading
    for _ in 0..<40 { loader.add(name: id().hex, file: IndexFile(packs: [pack(500)], supersedes: [])) }
    index.load(loader)
    #expect(index.blobCount == 20_000)
    var added = [ID]()
    for round in 0..<60 {
      let p = pack(1 + Int(rng.next() % 700))
      index.add(pack: p.id, entries: p.entries)
      added += p.entries.map(\.id)
      if round % 10 == 9 {
        for _ in 0..<200 {
          let probe = added[Int(rng.next() % UInt64(added.count))]
          #expect(index.location(of: probe)?.entry.offset == expected[probe]?.offset)
        }
      }
    }
    index.compact()
    #expect(index.blobCount == expected.count)
    for (blob, place) in expected {
      let found = index.location(of: blob)
      #expect(found?.pack == place.pack && found?.entry.offset == place.offset)
    }
    for _ in 0..<1000 { #expect(!index.contains(id())) }
    #expect(index.memoryBytesPerBlob() <= 64, "\(index.memoryBytesPerBlob()) bytes per blob")
  }

  /// The bulk load (`MasterIndex.load`, one sort) gives the index that adding pack by pack
  /// in file-name order gives: the same first copy of each duplicated blob, the same mirrors,
  /// the same pack sizes, superseded files left out. Seeded random files, 20 seeds.
  @Test func theBulkLoadAgreesWithAddingPackByPack() {
    for seed in UInt64(1)...20 {
      var rng = SeededRandom(seed: seed)
      func id() -> ID { ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()) }
      var pool = [ID]()
      var files = [(name: String, file: IndexFile)]()
      var trees = [(ID, [PackEntry])]()
      for f in 0..<12 {
        var packs = [IndexFile.Pack]()
        for _ in 0..<Int(rng.next() % 5) {
          var entries = [PackEntry]()
          var offset: UInt32 = 0
          for _ in 0..<Int(1 + rng.next() % 30) {
            // A third of the blobs are stored again (another backup packed them too).
            let blob = !pool.isEmpty && rng.next() % 3 == 0 ? pool[Int(rng.next() % UInt64(pool.count))] : id()
            pool.append(blob)
            let length = UInt32(100 + rng.next() % 900)
            entries.append(PackEntry(type: .data, compressed: rng.next() % 2 == 0, offset: offset, length: length, rawLength: length * 2, id: blob))
            offset += length
          }
          packs.append(.init(id: id(), entries: entries))
        }
        // A pack of trees, and in some files its mirror (the same entries, another name).
        if rng.next() % 2 == 0 {
          let entries = (0..<3).map { i in PackEntry(type: .tree, compressed: true, offset: UInt32(i * 50), length: 50, rawLength: 80, id: id()) }
          let pack = IndexFile.Pack(id: id(), entries: entries)
          packs.append(pack)
          trees.append((pack.id, entries))
        }
        if let t = trees.last, rng.next() % 3 == 0 { packs.append(.init(id: id(), entries: t.1)) }
        // A pack listed again by a later file (maintenance rewrites the index).
        if let again = files.last?.file.packs.first, rng.next() % 4 == 0 { packs.append(again) }
        let supersedes = f == 11 && files.count > 2 ? [ID(hex: files[1].name)!] : []
        files.append((id().hex, IndexFile(packs: packs, supersedes: supersedes)))
      }
      let one = MasterIndex()
      let superseded = Set(files.flatMap { $0.file.supersedes.map(\.hex) })
      for (name, file) in files.sorted(by: { $0.name < $1.name }) where !superseded.contains(name) {
        for p in file.packs { one.add(pack: p.id, entries: p.entries) }
      }
      one.compact()
      let bulk = MasterIndex()
      var loader = MasterIndex.Loader()
      for (name, file) in files.shuffled(using: &rng) { loader.add(name: name, file: file) }
      let used = bulk.load(loader)
      #expect(used.count == files.count - superseded.count)
      #expect(bulk.blobCount == one.blobCount, "seed \(seed)")
      for blob in pool { #expect(bulk.location(of: blob) == one.location(of: blob), "seed \(seed)") }
      #expect(bulk.mirrors == one.mirrors, "seed \(seed)")
      #expect(Set(bulk.packIDs) == Set(one.packIDs))
      for p in one.packIDs { #expect(bulk.packSize(p) == one.packSize(p)) }
    }
  }

  @Test func damagedIndexFilesAreSkippedAndReported() async throws {
    let backend = MemoryBackend()
    var cfg = RepositoryConfig()
    cfg.packSize = 1 << 16
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF, configuration: cfg)
    let saver = BlobSaver(repository: repo, indexEvery: 1)
    var rng = SeededRandom(seed: 11)
    for _ in 0..<50 { _ = try await saver.save(.data, bytes: rng.bytes(10_000), compressor: nil) }
    try await saver.flush()
    let idx = try await backend.list(.index)
    backend.tamper(Handle(.index, idx[0].name)) { var d = $0; d[40] ^= 4; return d }
    let reopened = try await Repository.open(backend: backend, password: "pw")
    let report = try await reopened.loadIndex()
    #expect(report.damaged.map(\.name) == [idx[0].name])
    #expect(report.files == idx.count - 1)
  }
}

@Suite struct FailureRecoveryTests {
  @Test func aFailedPackUploadReleasesItsBlobsForTheNextRun() async throws {
    var cfg = RepositoryConfig()
    cfg.packSize = 1 << 16
    let memory = MemoryBackend()
    _ = try await Repository.initialize(backend: memory, password: "pw", derivation: fastKDF, configuration: cfg)
    let faulty = FaultInjectingBackend(memory)
    let repo = try await Repository.open(backend: faulty, password: "pw")
    var faults = FaultInjectingBackend.Faults()
    faults.failSavesAfter = 0
    faults.failSaveTypes = [.pack]
    faulty.setFaults(faults)
    var rng = SeededRandom(seed: 12)
    let blobs = (0..<10).map { _ in rng.bytes(20_000) }
    let saver = BlobSaver(repository: repo)
    await #expect(throws: LifeboatError.self) {
      for b in blobs { _ = try await saver.save(.data, bytes: b, compressor: nil) }
      try await saver.flush()
    }
    saver.discard()
    faulty.setFaults(.init())
    let retry = BlobSaver(repository: repo)
    for b in blobs {
      #expect(try await retry.save(.data, bytes: b, compressor: nil).isNew, "a blob that was never stored is stored again")
    }
    try await retry.flush()
    for b in blobs { #expect(try await repo.loadBlob(repo.keys.blobID(b)) == b) }
  }

  @Test func anIndexFileWhoseNameDoesNotMatchItsContentIsReported() async throws {
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let saver = BlobSaver(repository: repo)
    _ = try await saver.save(.data, bytes: [1, 2, 3], compressor: nil)
    try await saver.flush()
    let name = try #require(try await backend.list(.index).first?.name)
    let bytes = try await backend.load(Handle(.index, name))
    let fake = String(repeating: "0", count: 64)
    try await backend.save(Handle(.index, fake), data: bytes)
    try await backend.remove(Handle(.index, name))
    let reopened = try await Repository.open(backend: backend, password: "pw")
    let report = try await reopened.loadIndex()
    #expect(report.damaged.map(\.name) == [fake])
  }
}

@Suite struct LockTests {
  @Test func anUnreadableLockFileBlocksUntilUnlockRemovesIt() async throws {
    let backend = MemoryBackend()
    let repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    try await backend.save(Handle(.lock, String(repeating: "a", count: 64)), data: Array("not json".utf8))
    await #expect(throws: LifeboatError.self) { try await repo.lock(exclusive: false, command: "backup") }
    #expect(try await repo.removeLocks(all: false).count == 1)
    let l = try await repo.lock(exclusive: true, command: "prune")
    await l.release()
  }

  @Test func sharedLocksCoexistAndExclusiveExcludes() async throws {
    let backend = MemoryBackend()
    let clock = ManualClock()
    _ = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let repo = try await Repository.open(backend: backend, password: "pw", clock: clock)
    let a = try await repo.lock(exclusive: false, command: "backup")
    let b = try await repo.lock(exclusive: false, command: "backup")
    do {
      _ = try await repo.lock(exclusive: true, command: "prune")
      Issue.record("exclusive lock granted while shared locks are held")
    } catch let e as LifeboatError {
      #expect(e.kind == .lockFailed)
      #expect(e.message.contains("backup"))
    }
    await a.release()
    await b.release()
    let x = try await repo.lock(exclusive: true, command: "prune")
    await #expect(throws: LifeboatError.self) { try await repo.lock(exclusive: false, command: "backup") }
    await x.release()
    #expect(try await backend.list(.lock).isEmpty)
  }

  @Test func staleLocksAreIgnoredAndRemovable() async throws {
    let backend = MemoryBackend()
    let clock = ManualClock()
    _ = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let repo = try await Repository.open(backend: backend, password: "pw", clock: clock)
    // A lock from another host that stopped refreshing.
    let old = LockInfo(exclusive: true, hostname: "elsewhere", username: "u", pid: 1, command: "prune", created: clock.now(), refreshed: clock.now())
    let bytes = try old.encoded()
    try await backend.save(Handle(.lock, StorageHash.id(bytes).hex), data: bytes)
    await #expect(throws: LifeboatError.self) { try await repo.lock(exclusive: false, command: "backup") }
    #expect(try await repo.removeLocks(all: false).isEmpty, "a live lock is not stale")
    clock.advance(LockInfo.staleAfter + 1)
    let l = try await repo.lock(exclusive: false, command: "backup")
    await l.release()
    #expect(try await repo.removeLocks(all: false).count == 1)
    // A lock of a dead process on this host is stale at once.
    let dead = LockInfo(exclusive: true, hostname: Repository.Identity.current.hostname, username: "u", pid: 999_999_9, command: "backup", created: clock.now(), refreshed: clock.now())
    let db = try dead.encoded()
    try await backend.save(Handle(.lock, StorageHash.id(db).hex), data: db)
    let m = try await repo.lock(exclusive: true, command: "prune")
    await m.release()
  }

  @Test func refreshKeepsALongRunningLockAlive() async throws {
    let backend = MemoryBackend()
    let clock = ManualClock()
    _ = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
    let repo = try await Repository.open(backend: backend, password: "pw", clock: clock)
    let lock = try await repo.lock(exclusive: true, command: "prune")
    let first = lock.name
    for _ in 0..<10 {
      clock.advance(LockInfo.refreshEvery + 1)
      try await lock.refreshIfDue()
    }
    #expect(lock.name != first)
    #expect(try await backend.list(.lock).count == 1)
    // 50 minutes later the lock still excludes others, because it was refreshed.
    let other = try await Repository.open(backend: backend, password: "pw", clock: clock)
    await #expect(throws: LifeboatError.self) { try await other.lock(exclusive: false, command: "backup") }
    await lock.release()
  }
}
