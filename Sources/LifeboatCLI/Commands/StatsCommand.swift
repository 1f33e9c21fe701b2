import ArgumentParser
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatStorage
import Foundation

struct StatsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats",
    abstract: "Show how much is stored and how well it deduplicates and compresses.",
    discussion: """
      restore size: what restoring the snapshots would write (all snapshots, or the one given). raw data: unique plaintext in the repository. stored: bytes on storage. dedup ratio = restore size / raw data; compression ratio = raw data / stored data.
      """)

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Only this snapshot (latest, ID or prefix); default: all.")
  var snapshot: String?

  struct Result: Encodable {
    var snapshots: Int
    var files: Int
    var restore_size: UInt64
    var data_blobs: Int
    var tree_blobs: Int
    var raw_data: UInt64
    var stored_blobs: UInt64
    var packs: Int
    var repository_size: UInt64
    /// Bytes of the mirrors of tree packs (docs/design.md §7): what the redundancy costs.
    var tree_mirror_bytes: UInt64
    var dedup_ratio: Double
    var compression_ratio: Double
    var index_bytes_per_blob: Double
  }

  func run() async throws {
    let repo = try await global.openRepository()
    try await repo.loadIndex()
    let snaps: [(id: ID, snapshot: Snapshot)]
    if let s = snapshot {
      snaps = [try await repo.findSnapshot(s)]
    } else {
      snaps = try await repo.listSnapshots().snapshots
    }
    var files = 0
    var restoreSize: UInt64 = 0
    let walker = TreeWalker(repository: repo)
    for (_, snap) in snaps {
      try await walker.walk(root: snap.tree, visit: { _, node in
        if node.kind == .file {
          files += 1
          restoreSize += node.size
        }
        return true
      })
    }
    let t = repo.index.totals()
    let packs = try await repo.backend.list(.pack)
    let mirrors = Set(repo.index.mirrors.keys.map(\.hex))
    let mirrorBytes = packs.filter { mirrors.contains($0.name) }.reduce(UInt64(0)) { $0 + UInt64($1.size) }
    var repoSize: UInt64 = 0
    for type in [ObjectType.pack, .index, .snapshot, .key] {
      repoSize += try await repo.backend.list(type).reduce(0) { $0 + UInt64($1.size) }
    }
    let r = Result(
      snapshots: snaps.count, files: files, restore_size: restoreSize, data_blobs: t.dataBlobs,
      tree_blobs: t.treeBlobs, raw_data: t.rawBytes, stored_blobs: t.storedBytes,
      packs: packs.count, repository_size: repoSize, tree_mirror_bytes: mirrorBytes,
      dedup_ratio: t.rawBytes > 0 ? Double(restoreSize) / Double(t.rawBytes) : 0,
      compression_ratio: t.storedBytes > 0 ? Double(t.rawBytes) / Double(t.storedBytes) : 0,
      index_bytes_per_blob: repo.index.memoryBytesPerBlob())
    let out = global.output
    out.line("snapshots:          \(r.snapshots)")
    out.line("files:              \(r.files)")
    out.line("restore size:       \(Format.bytes(r.restore_size))")
    out.line("blobs:              \(r.data_blobs) data, \(r.tree_blobs) tree")
    out.line("raw data:           \(Format.bytes(r.raw_data))")
    out.line("stored:             \(Format.bytes(r.stored_blobs)) in \(r.packs) packs")
    out.line("repository size:    \(Format.bytes(r.repository_size))")
    out.line("tree mirrors:       \(Format.bytes(r.tree_mirror_bytes))"
      + (r.repository_size > 0 ? String(format: " (%.2f %% of the repository)", Double(r.tree_mirror_bytes) * 100 / Double(r.repository_size)) : ""))
    out.line("dedup ratio:        \(String(format: "%.2f", r.dedup_ratio))x")
    out.line("compression ratio:  \(String(format: "%.2f", r.compression_ratio))x")
    out.line("index memory:       \(String(format: "%.1f", r.index_bytes_per_blob)) bytes per blob"
      + (repo.index.isCached ? " (the entries are read from this machine's index cache)" : ""))
    try out.emit(r)
  }
}

