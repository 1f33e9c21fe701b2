import Foundation
import LifeboatCore
import LifeboatFormat
@testable import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

/// The on-disk index cache (#23, docs/design.md §14): it answers exactly as loading every index
/// file does, follows the repository's index files as they change, and is rebuilt — never
/// used — when it is damaged, cut short, from another repository or key, or was not written.
@Suite struct IndexCacheTests {
  /// Index files with what real ones hold: blobs stored twice, tree packs and their mirrors,
  /// a pack listed again by a later file.
  static func files(seed: UInt64, count: Int, pool: inout [ID]) -> [IndexFile] {
    var rng = SeededRandom(seed: seed)
    func id() -> ID { ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()) }
    var out = [IndexFile]()
    var trees = [[PackEntry]]()
    for _ in 0..<count {
      var packs = [IndexFile.Pack]()
      for _ in 0..<Int(1 + rng.next() % 4) {
        var entries = [PackEntry]()
        var offset: UInt32 = 0
        for _ in 0..<Int(1 + rng.next() % 200) {
          let blob = !pool.isEmpty && rng.next() % 5 == 0 ? pool[Int(rng.next() % UInt64(pool.count))] : id()
          pool.append(blob)
          let length = UInt32(100 + rng.next() % 900)
          entries.append(PackEntry(type: .data, compressed: rng.next() % 2 == 0, offset: offset, length: length, rawLength: length * 2, id: blob))
          offset += length
        }
        packs.append(.init(id: id(), entries: entries))
      }
      if rng.next() % 2 == 0 {
        let entries = (0..<5).map { i in PackEntry(type: .tree, compressed: true, offset: UInt32(i * 60), length: 60, rawLength: 90, id: id()) }
        pool += entries.map(\.id)
        packs.append(.init(id: id(), entries: entries))
        packs.append(.init(id: id(), entries: entries))  // its mirror
        trees.append(entries)
      }
      if let again = out.last?.packs.first, rng.next() % 4 == 0 { packs.append(again) }
      out.append(IndexFile(packs: packs, supersedes: []))
    }
    return out
  }

  /// Writes that fill a disk with room for `budget` more bytes, then fail with ENOSPC.
  static func disk(withRoomFor budget: Int) -> IndexCache.Write {
    final class Room { var left = 0 }
    let room = Room()
    room.left = budget
    return { fd, bytes in
      guard room.left > 0 else {
        errno = ENOSPC
        return -1
      }
      let n = min(room.left, bytes.count)
      room.left -= n
      return Glibc.write(fd, bytes.baseAddress, n)
    }
  }

  /// Everything a caller can ask the index, compared between two.
  static func expectSame(_ a: MasterIndex, _ b: MasterIndex, pool: [ID], _ comment: Comment) {
    #expect(a.blobCount == b.blobCount, comment)
    #expect(a.packCount == b.packCount, comment)
    for id in pool { #expect(a.location(of: id) == b.location(of: id), comment) }
    #expect(a.mirrors == b.mirrors, comment)
    #expect(a.packExtents() == b.packExtents(), comment)
    #expect(a.treeEntriesByPack() == b.treeEntriesByPack(), comment)
    #expect(a.totals() == b.totals(), comment)
    let ea = a.entriesByPack().mapValues { $0.sorted { $0.offset < $1.offset } }
    let eb = b.entriesByPack().mapValues { $0.sorted { $0.offset < $1.offset } }
    #expect(ea == eb, comment)
    let some = Set(ea.keys.sorted().prefix(3))
    #expect(a.entries(inPacks: some).mapValues { $0.sorted { $0.offset < $1.offset } } == ea.filter { some.contains($0.key) }, comment)
  }

  struct Setup {
    let backend = MemoryBackend()
    let repo: Repository
    let dir: String
    var pool = [ID]()
    var names = [ID]()
    var saved = [IndexFile]()

    init(seed: UInt64, files: Int) async throws {
      repo = try await Repository.initialize(backend: backend, password: "pw", derivation: fastKDF)
      dir = NSTemporaryDirectory() + "lifeboat-index-cache-\(UUID().uuidString)"
      for f in IndexCacheTests.files(seed: seed, count: files, pool: &pool) { try await save(f) }
    }

    mutating func save(_ f: IndexFile) async throws {
      names.append(try await repo.saveIndex(f))
      saved.append(f)
    }

    /// Where each blob is stored (a blob stored twice has two places).
    var places: [ID: Set<BlobLocation>] {
      var out = [ID: Set<BlobLocation>]()
      for f in saved { for p in f.packs { for e in p.entries { out[e.id, default: []].insert(BlobLocation(pack: p.id, entry: e)) } } }
      return out
    }

    /// The repository opened anew, with the cache on (from the first blob) or off.
    func open(cache: Bool = true, runEntries: Int = IndexCache.defaultRunEntries) async throws -> (Repository, Repository.IndexLoadReport) {
      let r = try await Repository.open(backend: backend, password: "pw")
      if cache { r.useIndexCache(directory: dir, minimumEntries: 0, runEntries: runEntries) }
      return (r, try await r.loadIndex())
    }

    var path: String { IndexCache.path(cacheDirectory: dir, repositoryID: repo.config.id) }
    func remove() { try? FileManager.default.removeItem(atPath: dir) }
  }

  /// Built in one run of entries, and in runs of 50 (dozens merged, the copies of a blob
  /// often in different runs).
  @Test(arguments: [IndexCache.defaultRunEntries, 50])
  func theCacheAnswersAsTheIndexFilesDoAndFollowsThem(runEntries: Int) async throws {
    for seed in UInt64(1)...4 {
      var s = try await Setup(seed: seed, files: 12)
      defer { s.remove() }
      let (built, b) = try await s.open(runEntries: runEntries)
      #expect(b.cacheWritten && !b.cacheUsed && b.cacheProblem == nil && b.filesRead == 12, "\(b)")
      #expect(built.index.isCached, "the run that builds the cache is served from it, never holding the index")
      Self.expectSame(built.index, try await s.open(cache: false).0.index, pool: s.pool, "seed \(seed): as built")
      let attributes = try FileManager.default.attributesOfItem(atPath: s.path)
      #expect((attributes[.posixPermissions] as? Int) == 0o600)

      let (cached, c) = try await s.open()
      #expect(c.cacheUsed && c.filesRead == 0 && c.files == 12 && c.cacheProblem == nil, "\(c)")
      #expect(cached.index.isCached)
      let (reference, _) = try await s.open(cache: false)
      Self.expectSame(cached.index, reference.index, pool: s.pool, "seed \(seed): from the cache")

      // A backup elsewhere wrote another index file: read on top of the cache.
      // A blob it stores again may be found in either copy (a full load takes the first by
      // file name, the cache keeps the one it has): any place it is stored is right.
      for f in Self.files(seed: seed + 100, count: 1, pool: &s.pool) { try await s.save(f) }
      let (newer, n) = try await s.open()
      #expect(n.cacheUsed && n.filesRead == 1 && n.files == 13 && !n.cacheWritten, "\(n)")
      #expect(newer.index.blobCount == (try await s.open(cache: false).0.index.blobCount))
      let places = s.places
      for id in s.pool {
        let at = newer.index.location(of: id)
        #expect(at.map { places[id]?.contains($0) == true } == true, "seed \(seed): \(id.short) at \(String(describing: at))")
      }
      // Blobs added in this process are found too, and stay beside the cached entries.
      let fresh = ID(w0: 7, w1: seed, w2: 7, w3: 7)
      let count = newer.index.blobCount
      newer.index.add(pack: ID(w0: 9, w1: seed, w2: 9, w3: 9), entries: [PackEntry(type: .data, compressed: false, offset: 0, length: 10, rawLength: 10, id: fresh)])
      #expect(newer.index.contains(fresh) && newer.index.blobCount == count + 1)

      // A prune replaced index files: the cache is rebuilt, not patched.
      let all = s.names
      let merged = IndexFile(packs: [], supersedes: [all[0], all[1]])
      var kept = [IndexFile.Pack]()
      for name in all.prefix(2) {
        let sealed = try await s.backend.load(Handle(.index, name.hex))
        kept += try IndexFile.decode(try Envelope.open(sealed, key: s.repo.keys.metadataKey, purpose: .index)).packs
      }
      try await s.save(IndexFile(packs: kept, supersedes: merged.supersedes))
      let (pruned, p) = try await s.open(runEntries: runEntries)
      #expect(!p.cacheUsed && p.cacheWritten && p.cacheProblem?.contains("replaces others") == true, "\(p)")
      Self.expectSame(pruned.index, try await s.open(cache: false).0.index, pool: s.pool, "seed \(seed): after a prune")
      // While the superseded files are still there (a prune interrupted before deleting them),
      // the rebuilt cache covers them: used, and they are not read on top as new.
      let (interrupted, i) = try await s.open(runEntries: runEntries)
      #expect(i.cacheUsed && i.filesRead == 0, "\(i)")
      Self.expectSame(interrupted.index, try await s.open(cache: false).0.index, pool: s.pool, "seed \(seed): superseded files still there")
      // ...and the superseded files deleted: rebuilt again, then used.
      for name in all.prefix(2) { try await s.backend.remove(Handle(.index, name.hex)) }
      let (_, g) = try await s.open(runEntries: runEntries)
      #expect(!g.cacheUsed && g.cacheWritten && g.cacheProblem?.contains("are gone") == true, "\(g)")
      let (again, a) = try await s.open()
      #expect(a.cacheUsed && a.filesRead == 0, "\(a)")
      Self.expectSame(again.index, try await s.open(cache: false).0.index, pool: s.pool, "seed \(seed): after the cleanup")
    }
  }

  /// Many index files written since: once their entries pass `rewriteAfter`, the cache takes
  /// them in (so memory does not grow with every backup since it was built).
  @Test func newerFilesAreTakenIntoTheCacheOnceTheyAreMany() async throws {
    var s = try await Setup(seed: 9, files: 2)
    defer { s.remove() }
    _ = try await s.open()
    var rng = SeededRandom(seed: 10)
    var entries = [PackEntry]()
    for i in 0..<(IndexCache.rewriteAfter + 10) {
      let id = ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
      s.pool.append(id)
      entries.append(PackEntry(type: .data, compressed: false, offset: UInt32(i % 60_000) * 100, length: 100, rawLength: 100, id: id))
    }
    var packs = [IndexFile.Pack]()
    for (n, chunk) in stride(from: 0, to: entries.count, by: 60_000).enumerated() {
      packs.append(.init(id: ID(w0: 1, w1: UInt64(n), w2: 2, w3: 3), entries: Array(entries[chunk..<min(entries.count, chunk + 60_000)])))
    }
    try await s.save(IndexFile(packs: packs, supersedes: []))
    let (_, r) = try await s.open()
    #expect(r.cacheUsed && r.cacheWritten && r.filesRead == 1, "\(r)")
    let (cached, c) = try await s.open()
    #expect(c.cacheUsed && c.filesRead == 0 && cached.index.entriesBesideCache == 0, "\(c)")
    Self.expectSame(cached.index, try await s.open(cache: false).0.index, pool: Array(s.pool.suffix(2_000)), "taken in")
  }

  /// Every way the file can be wrong: detected, rebuilt, never used; the index is right
  /// either way, and the next open uses the rebuilt cache.
  @Test func aDamagedOrTruncatedCacheIsRebuiltNeverUsed() async throws {
    let s = try await Setup(seed: 21, files: 6)
    defer { s.remove() }
    _ = try await s.open()
    let good = try Data(contentsOf: URL(fileURLWithPath: s.path))
    let entriesEnd = try await s.open(cache: false).0.index.blobCount * 48
    var rng = SeededRandom(seed: 22)
    let damages: [(String, (inout Data) -> Void)] = [
      ("a flipped bit in the entries", { $0[Int(rng.next() % UInt64(entriesEnd))] ^= 0x10 }),
      ("a flipped bit in the header", { $0[entriesEnd + 40] ^= 0x01 }),
      ("a flipped bit in the trailer's length", { $0[$0.count - 16] ^= 0x04 }),
      ("one byte short", { $0.removeLast() }),
      ("cut in half", { $0 = $0.prefix($0.count / 2) }),
      ("cut to its entries", { $0 = $0.prefix(entriesEnd) }),
      ("empty", { $0 = Data() }),
      ("an extra entry's worth", { $0.insert(contentsOf: [UInt8](repeating: 0, count: 48), at: 0) }),
    ]
    let reference = try await s.open(cache: false).0
    for (what, damage) in damages {
      var bytes = good
      damage(&bytes)
      try bytes.write(to: URL(fileURLWithPath: s.path))
      let (repo, r) = try await s.open()
      #expect(!r.cacheUsed, "\(what): not used")
      #expect(repo.index.isCached, "\(what): rebuilt, and served from the new one")
      #expect(r.cacheProblem != nil && r.cacheWritten, "\(what): said and rebuilt: \(r)")
      Self.expectSame(repo.index, reference.index, pool: s.pool, "\(what)")
      let (again, a) = try await s.open()
      #expect(a.cacheUsed && again.index.isCached, "\(what): the rebuilt cache is used")
    }
  }

  /// A cache copied from another repository (another key), or made for another repository
  /// with this key, does not open for this one.
  @Test func aCacheFromAnotherRepositoryOrKeyIsNotUsed() async throws {
    let a = try await Setup(seed: 31, files: 4)
    let b = try await Setup(seed: 32, files: 4)
    defer {
      a.remove()
      b.remove()
    }
    _ = try await a.open()
    try FileManager.default.createDirectory(atPath: (b.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: a.path, toPath: b.path)
    let (other, o) = try await b.open()
    #expect(!o.cacheUsed && o.cacheProblem?.contains("key") == true, "\(o)")
    Self.expectSame(other.index, try await b.open(cache: false).0.index, pool: b.pool, "another key")

    // This repository's key, another repository's ID.
    let (mine, _) = try await a.open()
    try IndexCache.write(mine.index.cacheContents(), files: a.names.map(\.hex), path: a.path, keys: a.repo.keys, repositoryID: "0123abcd")
    let (_, w) = try await a.open()
    #expect(!w.cacheUsed && w.cacheProblem?.contains("another repository") == true, "\(w)")
  }

  /// A full disk while writing: the error is a clear one, no partial file is left, the cache
  /// that was there still opens, and loading the index goes on without one.
  @Test func aFullDiskLeavesNoPartialCache() async throws {
    let s = try await Setup(seed: 41, files: 6)
    defer { s.remove() }
    let (repo, _) = try await s.open()
    let before = try Data(contentsOf: URL(fileURLWithPath: s.path))
    for budget in [0, 1, 4096, 48 * 100 + 5, before.count - 20, before.count - 1] {
      do {
        try IndexCache.write(repo.index.cacheContents(), files: s.names.map(\.hex), path: s.path, keys: s.repo.keys,
          repositoryID: s.repo.config.id, write: Self.disk(withRoomFor: budget))
        Issue.record("a write with \(budget) bytes of space succeeded")
      } catch let e as LifeboatError {
        #expect(e.kind == .noSpace && e.message.contains("No space left"), "\(e)")
      }
      let dir = (s.path as NSString).deletingLastPathComponent
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [(s.path as NSString).lastPathComponent], "no temporary file left")
      #expect(try Data(contentsOf: URL(fileURLWithPath: s.path)) == before, "the cache that was there is untouched")
    }
    let (_, r) = try await s.open()
    #expect(r.cacheUsed)

    // A cache directory that cannot be written: the index loads, and says why there is no cache.
    let blocked = s.dir + "-blocked"
    FileManager.default.createFile(atPath: blocked, contents: Data("a file, not a directory".utf8))
    defer { try? FileManager.default.removeItem(atPath: blocked) }
    let plain = try await Repository.open(backend: s.backend, password: "pw")
    plain.useIndexCache(directory: blocked, minimumEntries: 0)
    let p = try await plain.loadIndex()
    #expect(!p.cacheWritten && p.cacheProblem != nil && p.files == 6, "\(p)")
    Self.expectSame(plain.index, repo.index, pool: s.pool, "without a cache")
  }

  /// Building the cache on a full disk (a run, or the cache file, cannot be written): a clear
  /// error, nothing left in the cache directory (runs are unnamed files), and the repository's
  /// index still loads, into memory, saying why there is no cache.
  @Test func aFullDiskWhileBuildingLeavesNothingAndTheIndexStillLoads() async throws {
    let s = try await Setup(seed: 51, files: 8)
    defer { s.remove() }
    let reference = try await s.open(cache: false).0
    let names = try await s.backend.list(.index).map(\.name)
    var files = [IndexFile]()
    for name in names {
      files.append(try IndexFile.decode(try Envelope.open(try await s.backend.load(Handle(.index, name)), key: s.repo.keys.metadataKey, purpose: .index)))
    }
    let entries = files.reduce(0) { $0 + $1.packs.reduce(0) { $0 + $1.entries.count } }
    let dir = s.dir + "/index"
    for budget in [0, 100, 48 * 200 + 7, entries * 48 - 10, entries * 48 + 30] {
      let builder = IndexCacheBuilder(directory: dir, runEntries: 200, write: Self.disk(withRoomFor: budget))
      do {
        for (name, file) in zip(names, files) { try builder.add(name: name, file: file) }
        _ = try builder.finish(path: s.path, keys: s.repo.keys, repositoryID: s.repo.config.id)
        Issue.record("a build with \(budget) bytes of space succeeded")
      } catch let e as LifeboatError {
        #expect(e.kind == .noSpace && e.message.contains("No space left"), "\(budget): \(e)")
      }
      #expect(builder.runsWritten > 0 || budget == 0 || entries <= 200)
      // Runs are unnamed files; the cache's temporary file is removed: nothing is left.
      let leftover = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
      #expect(leftover.isEmpty, "\(budget): \(leftover)")
    }
    // Through the repository: a cache directory that cannot be written falls back to memory.
    let blocked = s.dir + "-blocked"
    FileManager.default.createFile(atPath: blocked, contents: Data("a file, not a directory".utf8))
    defer { try? FileManager.default.removeItem(atPath: blocked) }
    let plain = try await Repository.open(backend: s.backend, password: "pw")
    plain.useIndexCache(directory: blocked, minimumEntries: 0, runEntries: 100)
    let p = try await plain.loadIndex()
    #expect(!p.cacheWritten && !plain.index.isCached && p.cacheProblem?.contains("could not be built") == true && p.files == 8, "\(p)")
    Self.expectSame(plain.index, reference.index, pool: s.pool, "without a cache")
  }

  /// A lookup reads the one page its first ID word points to; IDs that share their first word
  /// across pages (never seen with random IDs, but possible) are still all found.
  @Test func idsSharingTheirFirstWordAcrossPagesAreFound() async throws {
    var s = try await Setup(seed: 61, files: 1)
    defer { s.remove() }
    var rng = SeededRandom(seed: 62)
    var entries = [PackEntry]()
    for i in 0..<400 {
      let w0: UInt64 = i < 250 ? 0x4242_4242_4242_4242 : rng.next()
      let id = ID(w0: w0, w1: rng.next(), w2: rng.next(), w3: UInt64(i))
      s.pool.append(id)
      entries.append(PackEntry(type: .data, compressed: false, offset: UInt32(i * 10), length: 10, rawLength: 10, id: id))
    }
    try await s.save(IndexFile(packs: [.init(id: ID(w0: 5, w1: 5, w2: 5, w3: 5), entries: entries)], supersedes: []))
    _ = try await s.open()
    let (cached, c) = try await s.open()
    #expect(c.cacheUsed)
    Self.expectSame(cached.index, try await s.open(cache: false).0.index, pool: s.pool, "shared first words")
    #expect(!cached.index.contains(ID(w0: 0x4242_4242_4242_4242, w1: 0, w2: 0, w3: 0)))
  }

  /// Below the minimum, no cache is written.
  @Test func aSmallIndexHasNoCache() async throws {
    let s = try await Setup(seed: 51, files: 3)
    defer { s.remove() }
    let r = try await Repository.open(backend: s.backend, password: "pw")
    r.useIndexCache(directory: s.dir)
    let report = try await r.loadIndex()
    #expect(!report.cacheWritten && !report.cacheUsed && report.cacheProblem == nil)
    #expect(!FileManager.default.fileExists(atPath: s.path))
  }
}
