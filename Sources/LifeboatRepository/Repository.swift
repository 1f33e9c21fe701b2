import Foundation
import Synchronization
public import LifeboatCore
public import LifeboatFormat
public import LifeboatStorage

/// An open repository: its keys, config and index, on a backend.
///
/// Thread-safe. Opening never writes; writers take a lock first (`lock(exclusive:)`).
public final class Repository: Sendable {
  public let backend: any Backend
  public let keys: RepositoryKeys
  public let config: RepositoryConfig
  public let chunker: Chunker
  public let index: MasterIndex
  public let clock: any WallClock
  /// The key file that opened the repository.
  public let keyID: String
  /// Set when the repository's `config` is damaged or missing and the copy kept in the key
  /// file that opened it is in use: what is wrong. `lifeboat repair config` writes it back.
  public let configDamage: String?
  private let indexReport = Mutex<IndexLoadReport?>(nil)
  private let indexCaching = Mutex<(directory: String, minimumEntries: Int, runEntries: Int)?>(nil)
  /// zstd decompression contexts for `loadBlob`, reused (creating one costs ~100 µs).
  private let decompressors = Mutex<[ZstdDecompressor]>([])
  let trees = TreeCache()

  init(
    backend: any Backend, keys: RepositoryKeys, config: RepositoryConfig, keyID: String,
    clock: any WallClock, configDamage: String? = nil
  ) {
    self.configDamage = configDamage
    self.backend = Self.locking(backend, config: config, clock: clock)
    self.keys = keys
    self.config = config
    self.keyID = keyID
    self.clock = clock
    self.chunker = Chunker(seed: keys.chunkerSeed, configuration: config.chunker)
    self.index = MasterIndex()
  }

  /// The repository's immutability policy, when its config has one.
  public var immutability: ImmutabilityPolicy? {
    config.immutability.map {
      ImmutabilityPolicy(days: $0.days, mode: LockMode(rawValue: $0.mode) ?? .compliance)
    }
  }

  /// Wraps a backend that supports Object Lock so every object is written locked, when the
  /// config asks for it. A copy of an immutable repository on storage without locks (a local
  /// mirror) still opens; `check` reports the missing locks.
  static func locking(_ backend: any Backend, config: RepositoryConfig, clock: any WallClock)
    -> any Backend
  {
    guard let i = config.immutability, !(backend is LockingBackend),
      let base = backend as? any ObjectLockingBackend
    else { return backend }
    let policy = ImmutabilityPolicy(days: i.days, mode: LockMode(rawValue: i.mode) ?? .compliance)
    return LockingBackend(base: base, policy: policy, now: { clock.now() })
  }

  public struct Identity: Sendable {
    public var hostname: String
    public var username: String

    public init(hostname: String, username: String) {
      self.hostname = hostname
      self.username = username
    }

    public static var current: Identity {
      Identity(
        hostname: ProcessInfo.processInfo.hostName,
        username: ProcessInfo.processInfo.environment["USER"] ?? String(getuid()))
    }
  }

  /// Creates a new repository: layout, config and a first key file.
  public static func initialize(
    backend: any Backend, password: String, derivation: KeyDerivation = .defaultScrypt,
    configuration: RepositoryConfig? = nil, clock: any WallClock = SystemClock(),
    identity: Identity = .current
  ) async throws -> Repository {
    guard !password.isEmpty else {
      throw LifeboatError(.usage, "an empty password is not allowed")
    }
    if try await storage({ try await backend.exists(.config) }) {
      throw LifeboatError(
        .usage, "a repository already exists at \(backend.location)",
        hint: "choose another location, or use the existing repository")
    }
    if let local = backend as? LocalBackend {
      // Never scatter a repository among someone's files: a directory that holds anything
      // but a repository's own folders (or a file system's lost+found) is refused.
      let layout = Set(ObjectType.allCases.filter { $0 != .config }.map(\.rawValue) + ["lost+found"])
      let present = (try? FileManager.default.contentsOfDirectory(atPath: local.root)) ?? []
      let foreign = present.filter { !layout.contains($0) }.sorted()
      if !foreign.isEmpty {
        throw LifeboatError(
          .usage,
          "\(local.root) is not empty and holds no repository (it has \(foreign.prefix(3).joined(separator: ", "))"
            + (foreign.count > 3 ? " and \(foreign.count - 3) more" : "") + ")",
          hint: "choose a new or empty directory for the repository")
      }
      try storageSync { try local.createLayout() }
    }
    let keys = try RepositoryKeys.generate()
    let config = configuration ?? RepositoryConfig()
    if let i = config.immutability {
      guard let lockable = backend as? any ObjectLockingBackend else {
        throw LifeboatError(
          .usage, "\(backend.location) cannot lock objects: immutability needs S3 Object Lock",
          hint: "use an s3: repository on a bucket created with Object Lock enabled")
      }
      let status = try await storage { try await lockable.objectLockStatus() }
      guard status.enabled else {
        throw LifeboatError(
          .usage,
          "the bucket of \(backend.location) does not have Object Lock enabled"
            + (status.versioning ? "" : " (and versioning is off)"),
          hint: "Object Lock can only be turned on for a bucket with versioning; create the bucket "
            + "with it, e.g. `aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket` "
            + "(README: Immutable copies)")
      }
      _ = i
    }
    let backend = locking(backend, config: config, clock: clock)
    let sealedConfig = try config.sealed(keys: keys)
    let keyID = try await addKey(
      backend: backend, masterSecret: keys.masterSecret, sealedConfig: sealedConfig, password: password,
      derivation: derivation, clock: clock, identity: identity)
    try await storage { try await backend.save(.config, data: sealedConfig) }
    return Repository(backend: backend, keys: keys, config: config, keyID: keyID, clock: clock)
  }

  /// Opens a repository with a password.
  ///
  /// Key files are tried in the order `keyOrder` gives: the one named by `keyHint` (a name or
  /// a prefix of one), then the one `memory` says opened this location last, then the rest
  /// cheapest first. A key file that is damaged, or whose KDF costs more than Lifeboat
  /// attempts (`KeyDerivation.limitProblem`), is never tried; the error names it.
  public static func open(
    backend: any Backend, password: String, clock: any WallClock = SystemClock(),
    keyHint: String? = nil, memory: KeyMemory? = nil
  ) async throws -> Repository {
    var sealedConfig: [UInt8]?
    do {
      sealedConfig = try await backend.load(.config)
    } catch let e as StorageError where e.isNotFound {
      sealedConfig = nil
    } catch let e as StorageError {
      throw e.asLifeboatError
    }
    let keyInfos: [ObjectInfo]
    do {
      keyInfos = try await storage { try await backend.list(.key) }
    } catch let e as LifeboatError where sealedConfig == nil && (e.kind == .notFound || e.kind == .repositoryNotFound) {
      keyInfos = []
    }
    guard sealedConfig != nil || !keyInfos.isEmpty else {
      throw LifeboatError(
        .repositoryNotFound, "no repository at \(backend.location)",
        hint: "check --repo / LIFEBOAT_REPOSITORY, or create one with `lifeboat init`")
    }
    guard !keyInfos.isEmpty else {
      throw LifeboatError(
        .corrupt, "the repository at \(backend.location) has no key files",
        hint: "nothing can be decrypted without one: put keys/ back from a copy of this repository's files")
    }
    var candidates: [KeyCandidate] = []
    var unusable: [(name: String, problem: String)] = []
    for info in keyInfos {
      guard info.size <= KeyFile.maximumSize else {
        unusable.append((info.name, "\(info.size) bytes, larger than any key file"))
        continue
      }
      let bytes: [UInt8]
      do {
        bytes = try await backend.load(Handle(.key, info.name))
      } catch let e as StorageError where e.isNotFound {
        continue  // removed since the listing
      } catch let e as StorageError {
        throw e.asLifeboatError
      }
      guard StorageHash.id(bytes).hex == info.name else {
        unusable.append((info.name, "damaged: its content does not match its name"))
        continue
      }
      switch Self.examineKeyFile(bytes) {
      case .usable(let file, let derivation):
        candidates.append(KeyCandidate(name: info.name, file: file, cost: derivation.estimatedMilliseconds))
      case .tooLarge, .undecodable: unusable.append((info.name, "damaged: it does not decode as a key file"))
      case .unknownDerivation(let kdf): unusable.append((info.name, "uses an unknown key derivation '\(kdf)'"))
      case .tooCostly(let problem): unusable.append((info.name, "not tried: " + problem))
      }
    }
    let remembered = memory?.remembered(for: backend.location)
    for c in keyOrder(candidates, hint: keyHint, remembered: remembered) {
      guard let secret = try? c.file.open(password: password) else { continue }
      let keys = try RepositoryKeys(masterSecret: secret)
      let (config, damage) = try openConfig(sealedConfig, copy: c, keys: keys, location: backend.location)
      if c.name != remembered { memory?.remember(c.name, for: backend.location) }
      return Repository(
        backend: backend, keys: keys, config: config, keyID: c.name, clock: clock, configDamage: damage)
    }
    let listed = unusable.sorted { $0.name < $1.name }.map { "\($0.name.prefix(8)) (\($0.problem))" }
      .joined(separator: "; ")
    if candidates.isEmpty {
      throw LifeboatError(
        .corrupt, "no usable key file in \(backend.location): \(listed)",
        hint: "the password cannot be checked without an intact key file; put the key file back from a copy "
          + "of the repository (keys/NAME), or from the backup of keys/ that `lifeboat key list` names")
    }
    var message = "wrong password: no key file of \(backend.location) opens with it"
    var hint = "check LIFEBOAT_PASSWORD / --password-file; nothing was changed"
    if !unusable.isEmpty {
      message += " (\(candidates.count) tried; \(unusable.count) not usable: \(listed))"
      hint = "the \(candidates.count) intact key file(s) still open the repository with their own passwords; "
        + "remove a damaged or planted key file with `lifeboat key remove ID` once you are in; " + hint
    }
    throw LifeboatError(.wrongPassword, message, hint: hint)
  }

  /// The config, or, when it is damaged or missing, the copy kept in the key file that opened
  /// the repository (authenticated the same way), with what was wrong.
  static func openConfig(_ sealed: [UInt8]?, copy key: KeyCandidate, keys: RepositoryKeys, location: String) throws
    -> (RepositoryConfig, String?)
  {
    var problem = "the config of \(location) is missing"
    if let sealed {
      do {
        return (try RepositoryConfig.open(sealed, keys: keys), nil)
      } catch let e as LifeboatError where e.kind == .fatal {
        throw e  // a newer format: not damage
      } catch {
        problem = "the config of \(location) is damaged (\(error))"
      }
    }
    guard let copy = key.file.config, let config = try? RepositoryConfig.open(Array(copy), keys: keys) else {
      throw LifeboatError(
        .corrupt, problem + ", and key file \(key.name.prefix(8)) holds no copy of it",
        hint: "another key file written by this version may hold one: try its password (`--key-hint ID`); "
          + "otherwise put `config` back from a copy of this repository's files")
    }
    return (config, problem + "; using the copy kept in key file \(key.name.prefix(8))")
  }

  /// Writes the config back from the copy in use (after `configDamage`); returns false when
  /// the config was intact.
  @discardableResult
  public func repairConfig() async throws -> Bool {
    guard configDamage != nil else { return false }
    let sealed = try config.sealed(keys: keys)
    if try await Self.storage({ try await backend.exists(.config) }) {
      try await Self.storage { try await backend.remove(.config) }
    }
    try await Self.storage { try await backend.save(.config, data: sealed) }
    return true
  }

  /// Why `bytes` cannot be a key file a client would try (it does not decode, or its KDF is
  /// outside the limits), or nil. The append-only server refuses such uploads.
  public static func keyFileProblem(_ bytes: [UInt8]) -> String? {
    switch examineKeyFile(bytes) {
    case .usable: nil
    case .tooLarge: "a key file is at most \(KeyFile.maximumSize) bytes"
    case .undecodable: "the body does not decode as a key file"
    case .unknownDerivation(let kdf): "unknown key derivation '\(kdf)'"
    case .tooCostly(let problem): problem
    }
  }

  /// What a client makes of a key file's bytes before trying a password on it; the one rule
  /// behind `open` and the server's check of uploads.
  enum KeyFileVerdict {
    case usable(KeyFile, KeyDerivation)
    case tooLarge, undecodable
    case unknownDerivation(String)
    case tooCostly(String)
  }

  static func examineKeyFile(_ bytes: [UInt8]) -> KeyFileVerdict {
    guard bytes.count <= KeyFile.maximumSize else { return .tooLarge }
    guard let file = try? KeyFile.decode(bytes), file.version == 1, file.salt.count == 32 else { return .undecodable }
    guard let derivation = file.derivation else { return .unknownDerivation(file.kdf) }
    if let problem = derivation.limitProblem { return .tooCostly(problem) }
    return .usable(file, derivation)
  }

  /// A key file that may be tried, with its estimated cost in milliseconds.
  public struct KeyCandidate: Sendable {
    public var name: String
    public var file: KeyFile
    public var cost: Double

    public init(name: String, file: KeyFile, cost: Double) {
      self.name = name
      self.file = file
      self.cost = cost
    }
  }

  /// The order key files are tried in: the one `hint` names (a full name or a prefix), then the
  /// one that opened the repository last time, then the others cheapest first (by name on a
  /// tie). A planted key file can then cost at most its own (capped) derivation, and only when
  /// the password is not the one used before.
  public static func keyOrder(_ candidates: [KeyCandidate], hint: String?, remembered: String?) -> [KeyCandidate] {
    func rank(_ c: KeyCandidate) -> Int {
      if let hint, !hint.isEmpty, c.name.hasPrefix(hint.lowercased()) { return 0 }
      if c.name == remembered { return 1 }
      return 2
    }
    return candidates.sorted { a, b in
      let (ra, rb) = (rank(a), rank(b))
      if ra != rb { return ra < rb }
      if a.cost != b.cost { return a.cost < b.cost }
      return a.name < b.name
    }
  }

  /// Writes a new key file for the master secret; returns its name.
  @discardableResult
  static func addKey(
    backend: any Backend, masterSecret: [UInt8], sealedConfig: [UInt8], password: String, derivation: KeyDerivation,
    clock: any WallClock, identity: Identity
  ) async throws -> String {
    let file = try KeyFile.create(
      masterSecret: masterSecret, password: password, derivation: derivation,
      created: clock.now(), hostname: identity.hostname, username: identity.username, sealedConfig: sealedConfig)
    let bytes = try file.encoded()
    let name = StorageHash.id(bytes).hex
    try await storage { try await backend.save(Handle(.key, name), data: bytes) }
    return name
  }

  /// Adds a key file so another password opens this repository.
  @discardableResult
  public func addKey(password: String, derivation: KeyDerivation, identity: Identity = .current)
    async throws -> String
  {
    try await Self.addKey(
      backend: backend, masterSecret: keys.masterSecret, sealedConfig: try config.sealed(keys: keys), password: password,
      derivation: derivation, clock: clock, identity: identity)
  }

  // MARK: - Index

  /// What loading the index found: files read, files that could not be read, and what the
  /// local index cache did.
  public struct IndexLoadReport: Sendable {
    public var files: Int = 0
    public var damaged: [(name: String, error: String)] = []
    /// The index was served from this machine's cache (with `files` read from the repository
    /// on top of it: those written since).
    public var cacheUsed = false
    /// Index files read from the repository this time.
    public var filesRead = 0
    /// The cache was written (built or brought up to date).
    public var cacheWritten = false
    /// Why a cache there was not used, or could not be written (nil when all went well or
    /// there was none yet).
    public var cacheProblem: String?
  }

  /// Keeps a large index in a file under `directory` (`IndexCache`, docs/design.md §14)
  /// instead of memory: from `minimumEntries` blobs on. The command line and the agent turn it
  /// on with the local cache directory (`LocalCache.directory`). `runEntries`: how many
  /// entries building the cache holds at once (tests make it small to exercise the merge).
  public func useIndexCache(
    directory: String, minimumEntries: Int = IndexCache.defaultMinimumEntries,
    runEntries: Int = IndexCache.defaultRunEntries
  ) {
    indexCaching.withLock { $0 = (directory, minimumEntries, runEntries) }
  }

  /// Loads the index: from this machine's index cache when there is a valid one for the
  /// repository's current index files (those written since it are read on top), else every
  /// index file into memory, writing the cache afterwards when the index is large. Damaged
  /// index files are skipped and reported, so the blobs of other packs stay reachable;
  /// `check` reports them as errors.
  @discardableResult
  public func loadIndex() async throws -> IndexLoadReport {
    let infos = try await Self.storage { try await backend.list(.index) }
    var report = IndexLoadReport()
    let caching = indexCaching.withLock { $0 }
    let cachePath = caching.map { IndexCache.path(cacheDirectory: $0.directory, repositoryID: config.id) }
    // The cache serves a first load only; loaded again, the index files are read on top.
    if let cachePath, index.blobCount == 0 && index.packCount == 0 {
      do {
        try await loadIndex(cache: cachePath, infos: infos, report: &report)
        indexReport.withLock { $0 = report }
        return report
      } catch let e as LifeboatError where e.kind == .notFound {
        report.cacheProblem = nil  // none yet
      } catch {
        report.cacheProblem = "the index cache \(cachePath) was not used: \(error)"
      }
      // A large index goes from the index files straight into a new cache, a run at a time,
      // and is served from it: never held whole. A failure (a full disk) falls back to
      // loading into memory below.
      let expected = infos.reduce(0) { $0 + $1.size } / 44
      if let caching, expected >= caching.minimumEntries {
        do {
          try await buildIndexCache(cachePath, infos: infos, runEntries: caching.runEntries, expected: expected, report: &report)
          indexReport.withLock { $0 = report }
          return report
        } catch {
          let built = "the index cache \(cachePath) could not be built: \(error)"
          report.cacheProblem = report.cacheProblem.map { $0 + "; " + built } ?? built
          report.damaged = []
        }
      }
    }
    // Each file's entries go into one flat array as it arrives (MasterIndex.Loader), and the
    // decoded file is freed: loading holds about what the index keeps.
    var loader = MasterIndex.Loader(expectedEntries: infos.reduce(0) { $0 + $1.size } / 44 + 1024)
    var read = [String]()
    try await readIndexFiles(infos) { name, result in
      switch result {
      case .success(let f):
        loader.add(name: name, file: f)
        read.append(name)
      case .failure(let e): report.damaged.append((name, "\(e)"))
      }
    }
    report.files = index.load(consume loader).count
    report.filesRead = infos.count
    if let caching, let cachePath, index.blobCount >= caching.minimumEntries {
      writeIndexCache(cachePath, files: read, report: &report)
    }
    indexReport.withLock { $0 = report }
    return report
  }

  /// Reads every index file into a new cache at `path` (`IndexCacheBuilder`) and serves the
  /// index from it.
  private func buildIndexCache(
    _ path: String, infos: [ObjectInfo], runEntries: Int, expected: Int, report: inout IndexLoadReport
  ) async throws {
    let builder = IndexCacheBuilder(
      directory: (path as NSString).deletingLastPathComponent, runEntries: runEntries, expectedEntries: expected)
    var failure: (any Error)?
    var damaged = [(name: String, error: String)]()
    try await readIndexFiles(infos) { name, result in
      switch result {
      case .success(let f):
        guard failure == nil else { return }
        do { try builder.add(name: name, file: f) } catch { failure = error }
      case .failure(let e): damaged.append((name, "\(e)"))
      }
    }
    if let failure { throw failure }
    let opened = try await Blocking.run { [keys, config] in
      let used = try builder.finish(path: path, keys: keys, repositoryID: config.id)
      return (used, try IndexCache.open(path: path, keys: keys, repositoryID: config.id))
    }
    index.adopt(opened.1)
    report.damaged = damaged
    report.files = opened.0.count
    report.filesRead = infos.count
    report.cacheWritten = true
  }

  /// The cache at `path` as the index, with the index files written since read on top.
  /// Throws, without touching the index, when it must not be used.
  private func loadIndex(cache path: String, infos: [ObjectInfo], report: inout IndexLoadReport) async throws {
    let opened = try await Blocking.run { [keys, config] in try IndexCache.open(path: path, keys: keys, repositoryID: config.id) }
    let covered = Set(opened.header.files)
    let present = Set(infos.map(\.name))
    guard covered.isSubset(of: present) else {
      throw LifeboatError.corrupt("index files it was built from are gone (a prune or repair since); it is rebuilt")
    }
    var newer = [(name: String, file: IndexFile)]()
    try await readIndexFiles(infos.filter { !covered.contains($0.name) }) { name, result in
      switch result {
      case .success(let f): newer.append((name, f))
      case .failure(let e): report.damaged.append((name, "\(e)"))
      }
    }
    guard newer.allSatisfy({ $0.file.supersedes.isEmpty }) else {
      throw LifeboatError.corrupt("an index file written since replaces others (a prune); it is rebuilt")
    }
    index.adopt(opened)
    // In name order, as a full load takes them; a blob already known stays where it was.
    for (_, file) in newer.sorted(by: { $0.name < $1.name }) {
      for p in file.packs { index.add(pack: p.id, entries: p.entries) }
    }
    index.compact()
    report.cacheUsed = true
    report.files = covered.count + newer.count
    report.filesRead = infos.count - covered.count
    if index.entriesBesideCache >= IndexCache.rewriteAfter {
      writeIndexCache(path, files: opened.header.files + newer.map(\.name), report: &report)
    }
  }

  /// Writes the index as the cache at `path`; a failure (a full disk) is reported, not thrown:
  /// the index in memory serves this run either way.
  private func writeIndexCache(_ path: String, files: [String], report: inout IndexLoadReport) {
    do {
      try IndexCache.write(index.cacheContents(), files: files, path: path, keys: keys, repositoryID: config.id)
      report.cacheWritten = true
    } catch {
      report.cacheProblem = report.cacheProblem.map { "\($0); \(error)" } ?? "\(error)"
    }
  }

  /// Reads, checks and decodes index files, a few at a time, handing each to `body` as it
  /// arrives (in no particular order).
  private func readIndexFiles(_ infos: [ObjectInfo], _ body: (String, Result<IndexFile, any Error>) -> Void) async throws {
    try await withThrowingTaskGroup(of: (String, Result<IndexFile, any Error>).self) { group in
      var pending = infos.makeIterator()
      func launch() {
        guard let info = pending.next() else { return }
        group.addTask { [backend, keys] in
          do {
            let sealed = try await backend.load(Handle(.index, info.name))
            return (info.name, .success(try Self.decodeIndexFile(sealed, name: info.name, keys: keys)))
          } catch {
            return (info.name, .failure(error))
          }
        }
      }
      // Each file in flight holds its sealed bytes, plaintext and decoded entries (about
      // 15 MB for a file of 100,000 entries) until `body` has taken it: two at a time from a
      // local disk (decoding is the work), eight from remote storage (where the wait for each
      // GET is).
      for _ in 0..<(backend.isRemote ? 8 : 2) { launch() }
      while let (name, result) = try await group.next() {
        body(name, result)
        launch()
      }
    }
  }

  public var lastIndexReport: IndexLoadReport? { indexReport.withLock { $0 } }

  /// Seals and stores one index file; returns its name.
  @discardableResult
  public func saveIndex(_ file: IndexFile) async throws -> ID {
    let sealed = Envelope.seal(file.encode(), key: keys.metadataKey, purpose: .index)
    let id = StorageHash.id(sealed)
    try await Self.storage { try await backend.save(Handle(.index, id.hex), data: sealed) }
    return id
  }

  /// Replaces the whole index with one describing `packs` (maintenance, under the exclusive
  /// lock). New files are written first, in batches of about 50,000 entries, and only the last
  /// one lists the old files in `supersedes`, so an interruption before it leaves the old index
  /// in force; the old files are deleted after it is saved. Returns (files written, replaced).
  @discardableResult
  public func replaceIndex(with packs: [IndexFile.Pack]) async throws -> (written: Int, replaced: Int) {
    let old = try await Self.storage { try await backend.list(.index) }.compactMap { ID(hex: $0.name) }
    var batches = [[IndexFile.Pack]]()
    var current = [IndexFile.Pack]()
    var count = 0
    for p in packs {
      current.append(p)
      count += p.entries.count
      if count >= 50_000 {
        batches.append(current)
        current = []
        count = 0
      }
    }
    if !current.isEmpty || batches.isEmpty { batches.append(current) }
    for (i, b) in batches.enumerated() {
      try await saveIndex(IndexFile(packs: b, supersedes: i == batches.count - 1 ? old : []))
    }
    for o in old {
      try await Self.storage { try await backend.remove(Handle(.index, o.hex)) }
    }
    return (batches.count, old.count)
  }

  /// Prune's index rewrite (under the exclusive lock): every index file in force that names a
  /// pack of `dropping` is written again without it, one file at a time, in new files of about
  /// 50,000 entries; `adding` goes into them too. The last new file lists every rewritten file
  /// and every superseded one still stored in `supersedes`, so an interruption before it
  /// leaves the old files in force; those are deleted after it is saved. Files that name no
  /// dropped pack stay as they are. Returns (files written, replaced).
  @discardableResult
  public func rewriteIndex(dropping: Set<ID>, adding: [IndexFile.Pack]) async throws -> (written: Int, replaced: Int) {
    let infos = try await Self.storage { try await backend.list(.index) }
    // Pass 1: which files name a dropped pack, and which are superseded already (leftovers of
    // an interrupted prune: replaced again, never carried).
    var superseded = Set<String>()
    var affected = [String]()
    var damaged = [String]()
    try await readIndexFiles(infos) { name, result in
      switch result {
      case .success(let f):
        superseded.formUnion(f.supersedes.map(\.hex))
        if f.packs.contains(where: { dropping.contains($0.id) }) { affected.append(name) }
      case .failure(let e): damaged.append("\(name): \(e)")
      }
    }
    guard damaged.isEmpty else {
      throw LifeboatError(.corrupt, "refusing to rewrite the index: \(damaged.count) index files cannot be read (\(damaged[0]))",
        hint: "run `lifeboat check` and `lifeboat repair index` first")
    }
    let present = Set(infos.map(\.name))
    let replace = Set(affected).union(superseded.intersection(present))
    guard !replace.isEmpty || !adding.isEmpty else { return (0, 0) }
    // Pass 2: the packs that stay, from the rewritten files in force, and the new ones.
    var batch = [IndexFile.Pack]()
    var count = 0
    var written = 0
    func save(final: Bool) async throws {
      let supersedes = final ? replace.sorted().compactMap { ID(hex: $0) } : []
      try await saveIndex(IndexFile(packs: batch, supersedes: supersedes))
      written += 1
      batch = []
      count = 0
    }
    func add(_ p: IndexFile.Pack) async throws {
      batch.append(p)
      count += p.entries.count
      if count >= 50_000 { try await save(final: false) }
    }
    for name in affected.sorted() where !superseded.contains(name) {
      for p in try await Self.storage({ try await loadIndexFile(name) }).packs where !dropping.contains(p.id) { try await add(p) }
    }
    for p in adding { try await add(p) }
    try await save(final: true)
    for name in replace.sorted() {
      try await Self.storage { try await backend.remove(Handle(.index, name)) }
    }
    return (written, replace.count)
  }

  /// One index file, read, checked against its name and decoded.
  private func loadIndexFile(_ name: String) async throws -> IndexFile {
    try Self.decodeIndexFile(try await backend.load(Handle(.index, name)), name: name, keys: keys)
  }

  /// A stored index file checked against its name, opened and decoded.
  private static func decodeIndexFile(_ sealed: [UInt8], name: String, keys: RepositoryKeys) throws -> IndexFile {
    guard StorageHash.id(sealed).hex == name else {
      throw LifeboatError.corrupt("content does not match its name (SHA-256 mismatch)")
    }
    return try IndexFile.decode(try Envelope.open(sealed, key: keys.metadataKey, purpose: .index))
  }

  // MARK: - Blobs

  /// Loads a blob's plaintext and verifies it against its ID.
  public func loadBlob(_ id: ID, decompressor: ZstdDecompressor? = nil) async throws -> [UInt8] {
    if let decompressor { return try await loadBlob(id, using: decompressor) }
    let d = decompressors.withLock { $0.popLast() } ?? ZstdDecompressor()
    defer { decompressors.withLock { if $0.count < 16 { $0.append(d) } } }
    return try await loadBlob(id, using: d)
  }

  private func loadBlob(_ id: ID, using d: ZstdDecompressor) async throws -> [UInt8] {
    guard let loc = index.location(of: id) else {
      throw LifeboatError(
        .notFound, "blob \(id.short) is not in the index",
        hint: "if an index file is damaged or missing, `lifeboat repair index` rebuilds the index from the packs; "
          + "`lifeboat check` tells which snapshots are affected")
    }
    do {
      return try await loadBlob(id, at: loc.entry, in: loc.pack, using: d)
    } catch {
      // A tree pack has a mirror (docs/design.md §7): the same blob at the same place.
      guard let mirror = index.alternate(of: loc.pack),
        let blob = try? await loadBlob(id, at: loc.entry, in: mirror, using: d)
      else { throw error }
      return blob
    }
  }

  private func loadBlob(_ id: ID, at entry: PackEntry, in pack: ID, using d: ZstdDecompressor) async throws -> [UInt8] {
    let stored = try await Self.storage {
      try await backend.load(Handle(.pack, pack.hex), offset: Int(entry.offset), length: Int(entry.length))
    }
    do {
      return try stored.withUnsafeBytes {
        try PackFormat.openBlob($0, entry: entry, keys: keys, decompressor: d)
      }
    } catch let e as LifeboatError {
      throw LifeboatError.corrupt("blob \(id.short) in pack \(pack.short): \(e.message)")
    }
  }

  /// Loads and decodes a tree. Trees are cached, and a miss reads every tree blob of the same
  /// pack in one request (trees of one backup are packed together, and walks visit them all),
  /// so walking a snapshot costs one read per pack instead of one per directory.
  ///
  /// `cache: false` still uses (and fills) the prefetched stored bytes but keeps the decoded
  /// tree out of the cache: for a caller that reads each tree once, such as a backup comparing
  /// against its parent snapshot, the cache would only hold every directory of the parent in
  /// memory until the end.
  public func loadTree(_ id: ID, cache: Bool = true) async throws -> Tree {
    if let t = trees.get(id) { return t }
    if !trees.hasStored(id), let loc = index.location(of: id), loc.entry.type == .tree {
      await prefetchTrees(inPack: loc.pack, around: loc.entry, skippingTaken: !cache)
    }
    var bytes: [UInt8]
    if let pre = trees.takeStored(id) {
      let d = decompressors.withLock { $0.popLast() } ?? ZstdDecompressor()
      defer { decompressors.withLock { if $0.count < 16 { $0.append(d) } } }
      do {
        bytes = try pre.bytes.withUnsafeBytes {
          try PackFormat.openBlob($0, entry: pre.entry, keys: keys, decompressor: d)
        }
      } catch {
        bytes = try await loadBlob(id)  // reports the damage with its location
      }
    } else {
      bytes = try await loadBlob(id)
    }
    do {
      let tree = try TreeFormat.decode(bytes)
      // A walk that reads each tree once still keeps the smallest ones: empty directories
      // share one tree, visited once per empty directory, and each visit would otherwise be a
      // request (a round trip on remote storage). They cost next to no memory.
      if cache || tree.nodes.count <= TreeCache.smallTree { trees.put(id, tree) } else { trees.markTaken(id) }
      return tree
    } catch let e as LifeboatError {
      throw LifeboatError.corrupt("tree \(id.short): \(e.message)")
    }
  }

  /// Reads, in one request, the run of tree blobs of a pack that a walk will ask for next, and
  /// keeps their stored bytes (small: trees compress well); each is opened and decoded only
  /// when the walk asks for it.
  ///
  /// A backup saves trees bottom-up, so everything below a directory lies just before that
  /// directory's tree, and a walk that enters the directory visits exactly that next: the run
  /// ends at `entry` and reaches back over the trees not yet read, up to 4 MiB. (When nothing
  /// lies before it, the run starts at `entry` and reaches forward.) A walk then costs about
  /// one request per 4 MiB of trees instead of one per directory; one request per directory
  /// made restores from S3 five times slower (issue #19, `TreeWalkTests`).
  ///
  /// `skippingTaken` (a caller that reads each tree once) counts the trees it already had as
  /// read, so the run only holds what the walk has yet to visit.
  private func prefetchTrees(inPack pack: ID, around entry: PackEntry, skippingTaken: Bool) async {
    let all = trees.treeEntries(inPack: pack, index: index)
    guard let at = all.firstIndex(where: { $0.id == entry.id && $0.offset == entry.offset }) else { return }
    let window = 4 << 20
    let entryEnd = Int(entry.offset) + Int(entry.length)
    func wanted(_ e: PackEntry) -> Bool { !trees.needsNoPrefetch(e.id, skippingTaken: skippingTaken) }
    var first = at
    while first > 0, wanted(all[first - 1]), entryEnd - Int(all[first - 1].offset) <= window { first -= 1 }
    var last = at
    if first == at {
      while last + 1 < all.count, wanted(all[last + 1]),
        Int(all[last + 1].offset) + Int(all[last + 1].length) - Int(entry.offset) <= window
      { last += 1 }
    }
    guard last > first else { return }
    let run = all[first...last]
    let start = Int(run.first!.offset)
    let end = Int(run.last!.offset) + Int(run.last!.length)
    guard let data = try? await backend.load(Handle(.pack, pack.hex), offset: start, length: end - start)
    else { return }
    for e in run {
      let lo = Int(e.offset) - start
      trees.putStored(e.id, entry: e, bytes: Array(data[lo..<lo + Int(e.length)]))
    }
  }

  /// Reads a pack's header (the list of its blobs) without reading its data.
  public func loadPackHeader(_ id: ID, size: Int) async throws -> [PackEntry] {
    var want = min(size, 64 << 10)
    while true {
      let tail = try await Self.storage {
        try await backend.load(Handle(.pack, id.hex), offset: size - want, length: want)
      }
      if let entries = try PackFormat.parseHeader(tail: tail, packLength: size, keys: keys) {
        return entries
      }
      // A larger header (over about 1,500 blobs): the trailer gave its length, and
      // parseHeader checked it fits the pack. Read exactly that, not the whole pack.
      let needed = try PackFormat.tailLength(tail, packLength: size)
      guard needed > want else { throw LifeboatError.corrupt("pack \(id.short): header too long") }
      want = needed
    }
  }

  // MARK: - Snapshots

  @discardableResult
  public func saveSnapshot(_ snapshot: Snapshot) async throws -> ID {
    let sealed = try SnapshotFormat.seal(snapshot, keys: keys)
    let id = StorageHash.id(sealed)
    try await Self.storage { try await backend.save(Handle(.snapshot, id.hex), data: sealed) }
    return id
  }

  public func loadSnapshot(_ id: ID) async throws -> Snapshot {
    let sealed = try await Self.storage { try await backend.load(Handle(.snapshot, id.hex)) }
    guard StorageHash.id(sealed) == id else {
      throw LifeboatError.corrupt("snapshot \(id.short): content does not match its name")
    }
    do {
      return try SnapshotFormat.open(sealed, keys: keys)
    } catch let e as LifeboatError {
      throw LifeboatError.corrupt("snapshot \(id.short): \(e.message)")
    }
  }

  public struct SnapshotList: Sendable {
    /// Readable snapshots, oldest first.
    public var snapshots: [(id: ID, snapshot: Snapshot)]
    public var damaged: [(name: String, error: String)]
  }

  /// All snapshots; damaged ones are reported, not fatal.
  public func listSnapshots() async throws -> SnapshotList {
    let infos = try await Self.storage { try await backend.list(.snapshot) }
    var ok = [(id: ID, snapshot: Snapshot)]()
    var damaged = [(name: String, error: String)]()
    for info in infos {
      guard let id = ID(hex: info.name) else { continue }
      do {
        ok.append((id, try await loadSnapshot(id)))
      } catch {
        damaged.append((info.name, "\(error)"))
      }
    }
    ok.sort { ($0.snapshot.time, $0.id) < ($1.snapshot.time, $1.id) }
    return SnapshotList(snapshots: ok, damaged: damaged)
  }

  /// Resolves `latest`, a full ID or a unique prefix of at least 4 hex digits, among all
  /// snapshots (the CLI's `SnapshotFilter` narrows them with `matching:`).
  public func findSnapshot(_ ref: String) async throws -> (id: ID, snapshot: Snapshot) {
    try await findSnapshot(ref, matching: { _ in true }, filterDescription: "")
  }

  /// The snapshot `ref` names (`latest`, an ID or a unique prefix of at least 4 digits) among
  /// those `matching` accepts; `filterDescription` says what the filter was, for the error.
  public func findSnapshot(
    _ ref: String, matching: (Snapshot) -> Bool, filterDescription: String
  ) async throws -> (id: ID, snapshot: Snapshot) {
    let list = try await listSnapshots()
    let all = list.snapshots.filter { matching($0.snapshot) }
    let filtered = filterDescription.isEmpty ? "" : " (\(filterDescription))"
    // A snapshot that cannot be read may be the one asked for: say so rather than "no match".
    let damaged = list.damaged.filter { ref == "latest" || $0.name.hasPrefix(ref.lowercased()) }
    func damagedNote() -> String {
      damaged.isEmpty ? "" : "; \(damaged.count) snapshot(s) cannot be read: "
        + damaged.map { "\($0.name.prefix(8)) (\($0.error))" }.joined(separator: ", ")
    }
    let damagedHint = "run `lifeboat check` to see what is damaged; a copy of the repository (`lifeboat copy`) has its own snapshot"
    if ref == "latest" {
      guard let last = all.last else {
        throw LifeboatError(
          damaged.isEmpty ? .notFound : .corrupt, "no snapshot matches\(filtered)" + damagedNote(),
          hint: damaged.isEmpty ? "run `lifeboat snapshots`" : damagedHint)
      }
      return last
    }
    let matches = all.filter { $0.id.hex.hasPrefix(ref.lowercased()) }
    guard ref.count >= 4, matches.count == 1 else {
      if matches.isEmpty && !damaged.isEmpty {
        throw LifeboatError(.corrupt, "snapshot \(ref) cannot be read" + damagedNote(), hint: damagedHint)
      }
      throw LifeboatError(
        .notFound,
        matches.isEmpty ? "no snapshot \(ref)\(filtered)" : "snapshot prefix \(ref) is ambiguous",
        hint: "give `latest`, a full snapshot ID or a longer unique prefix")
    }
    return matches[0]
  }

  // MARK: - Helpers

  /// Runs a storage call, lifting `StorageError` into `LifeboatError`.
  public static func storage<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let e as StorageError {
      throw e.asLifeboatError
    }
  }

  static func storageSync<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let e as StorageError {
      throw e.asLifeboatError
    }
  }
}
