import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting

/// A temporary repository and source tree for engine tests.
struct EngineFixture {
  let dir: TemporaryDirectory
  let backend: any Backend
  let source: String
  /// When set, every open keeps the index in an index cache there, from the first blob on.
  var indexCache: String?

  static let password = "engine-test"

  init(seed: UInt64, options: FixtureTree.Options = .init(), backend: ((LocalBackend) -> any Backend)? = nil) async throws {
    dir = TemporaryDirectory("lifeboat-engine")
    source = dir.sub("source")
    try FixtureTree.build(at: source, seed: seed, options: options)
    let local = LocalBackend(path: dir.sub("repo"))
    self.backend = backend?(local) ?? local
    var cfg = RepositoryConfig()
    cfg.packSize = 256 << 10
    _ = try await Repository.initialize(
      backend: local, password: Self.password, derivation: .scrypt(logN: 10, r: 8, p: 1), configuration: cfg)
  }

  func open() async throws -> Repository {
    let r = try await Repository.open(backend: backend, password: Self.password)
    if let indexCache { r.useIndexCache(directory: indexCache, minimumEntries: 0) }
    try await r.loadIndex()
    return r
  }

  func backup(_ paths: [String]? = nil, configure: (inout BackupOptions) -> Void = { _ in }) async throws -> BackupResult {
    let repo = try await open()
    var o = BackupOptions(paths: paths ?? [source], hostname: "test-host")
    configure(&o)
    let saver = BlobSaver(repository: repo, indexEvery: 2)
    return try await Archiver(repository: repo, saver: saver, options: o).run()
  }

  func restore(_ snapshot: ID, to target: String, configure: (inout RestoreOptions) -> Void = { _ in }) async throws -> RestoreResult {
    let repo = try await open()
    var o = RestoreOptions(target: target)
    configure(&o)
    return try await Restorer(repository: repo, options: o).run(snapshot: try await repo.loadSnapshot(snapshot))
  }

  func check(readData: Bool = true) async throws -> CheckReport {
    let repo = try await open()
    return try await Checker(repository: repo, options: CheckOptions(readData: readData ? .all : .none)).run()
  }

  /// Where the source tree lands inside a restore target.
  func restored(_ target: String) -> String { target + source }

  func remove() { dir.remove() }

  /// The node of the source directory in a snapshot.
  func sourceNode(_ b: BackupResult) async throws -> Node {
    let repo = try await open()
    var found: Node?
    try await TreeWalker(repository: repo).walk(root: b.snapshot.tree, visit: { p, n in
      if p == Array(source.utf8) { found = n }
      return found == nil
    })
    guard let found else { throw LifeboatError(.notFound, "source not in snapshot") }
    return found
  }
}
