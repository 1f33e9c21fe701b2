import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

/// Walks that keep no trees cached (check, restore and prune use them, and a backup reads its
/// parent snapshot that way) must see exactly what a caching walk sees and must not read the
/// trees they already had again: the prefetch reads a window of a pack's trees at once, and
/// re-reading the part a walk has left behind would make a walk quadratic in its directories.
@Suite struct TreeWalkTests {
  @Test func anUncachedWalkVisitsTheSameTreesAndReadsEachAboutOnce() async throws {
    var o = FixtureTree.Options()
    o.directories = 300
    o.files = 600
    o.maxFileSize = 2_000
    o.largeFiles = 0
    let f = try await EngineFixture(seed: 31, options: o, backend: { CountingBackend($0) })
    defer { f.remove() }
    // Empty directories all have the same tree: one tree visited several times in one walk.
    for i in 0..<5 {
      try FileManager.default.createDirectory(atPath: "\(f.source)/dir\(i * 7)/hollow", withIntermediateDirectories: true)
    }
    let snapshot = try await f.backup().snapshot
    let counting = try #require(f.backend as? CountingBackend)

    func walk(cacheTrees: Bool) async throws -> (visits: [String], packBytes: Int, requests: Int) {
      let repo = try await f.open()
      let before = counting.bytesLoaded(.pack)
      let requestsBefore = counting.loads(.pack)
      var visits = [String]()
      try await TreeWalker(repository: repo, cacheTrees: cacheTrees).walk(
        root: snapshot.tree,
        visit: { path, node in
          visits.append("\(PathBytes.display(path)) \(node.subtree?.hex ?? "-") \(node.content.map(\.hex))")
          return true
        },
        onError: { path, error in Issue.record("\(PathBytes.display(path)): \(error)") })
      return (visits, counting.bytesLoaded(.pack) - before, counting.loads(.pack) - requestsBefore)
    }
    let cached = try await walk(cacheTrees: true)
    let uncached = try await walk(cacheTrees: false)
    let again = try await walk(cacheTrees: false)

    #expect(cached.visits.count > 900)
    #expect(cached.visits.filter { $0.contains("/hollow ") }.count == 5)
    #expect(uncached.visits == cached.visits)
    #expect(again.visits == cached.visits)

    let repo = try await f.open()
    let trees = repo.index.entriesByPack().values.joined().filter { $0.type == .tree }
    let treeBytes = trees.reduce(0) { $0 + Int($1.length) }
    #expect(trees.count > 250)
    // Each tree is read about once. A prefetch that re-read the trees already handed out read
    // 1,158,545 bytes here, 15 times the 74,800 bytes of trees.
    #expect(uncached.packBytes <= 3 * treeBytes, "uncached walk read \(uncached.packBytes) bytes of \(treeBytes) in trees")
    #expect(cached.packBytes <= 3 * treeBytes, "cached walk read \(cached.packBytes) bytes of \(treeBytes) in trees")
    // And in few requests: on remote storage each is a round trip, and one request per
    // directory made an S3 restore of /usr/share five times slower (issue #19). Trees are
    // stored bottom-up (a directory after everything below it), so the window a walk needs
    // when it enters a directory ends at that directory's tree.
    let treePacks = Set(repo.index.entriesByPack().filter { $0.value.contains { $0.type == .tree } }.keys).count
    for (label, w) in [("cached", cached), ("uncached", uncached)] {
      #expect(w.requests <= 2 * treePacks + 2, "\(label) walk: \(w.requests) requests for \(trees.count) trees in \(treePacks) packs")
    }
  }
}
