import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatTesting
import Testing

/// The engine's shape at scale (#23): the backup scan holds the open directories, not the
/// tree; deep and wide trees back up and restore whole.
@Suite struct ScaleTests {
  /// 20 folders of 15 folders of 60 small files: 18,000 files, 18,321 entries.
  static func buildWideTree(at root: String) throws {
    var rng = SeededRandom(seed: 2323)
    for a in 0..<20 {
      for b in 0..<15 {
        let dir = "\(root)/a\(a)/b\(b)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for c in 0..<60 { try FixtureTree.write("\(dir)/f\(c)", rng.bytes(Int(rng.next() % 200))) }
      }
    }
  }

  @Test func theScanHoldsTheOpenDirectoriesNotTheWholeTree() async throws {
    let f = try await EngineFixture(seed: 1, options: .init())
    defer { f.remove() }
    let source = f.dir.sub("wide")
    // Made off the cooperative pool: a test blocked in a million system calls there starves
    // the tests that serve HTTP beside it.
    try await offThePool { try Self.buildWideTree(at: source) }
    let entries = 20 + 20 * 15 + 20 * 15 * 60

    let first = try await f.backup([source])
    #expect(first.errors.isEmpty)
    #expect(first.snapshot.summary?.filesNew == 18_000)
    // Files wait in the queue (at most JobQueue.ahead) with their folders open; everything
    // else is saved as it finishes. Holding the whole tree would be all 18,321 entries.
    #expect(first.peakEntriesHeld > 0)
    // The bound: the queue, plus the folders its files sit in and the path above them.
    #expect(first.peakEntriesHeld < 4096 + 400, "held \(first.peakEntriesHeld) of \(entries)")

    // Nothing to read: the scan holds one path of folders (20 + 15 + 60 entries at most).
    let second = try await f.backup([source])
    #expect(second.snapshot.summary?.filesUnmodified == 18_000)
    #expect(second.peakEntriesHeld <= 20 + 15 + 60 + 8, "held \(second.peakEntriesHeld) of \(entries)")

    let target = f.dir.sub("restore")
    let r = try await f.restore(second.snapshotID, to: target) { $0.verify = true }
    #expect(r.isComplete, "\(r.errors)")
    #expect(try await offThePool { TreeComparison.differences(source, target + source) } == [])
  }

  /// A restore in batches (here of 7 files, so the fixture's hard links, sparse and large
  /// files and damaged data all fall in different batches) restores what one batch does.
  @Test func aRestoreInSmallBatchesRestoresTheWholeSnapshot() async throws {
    var options = FixtureTree.Options()
    options.files = 120
    options.largeFiles = 3
    let f = try await EngineFixture(seed: 23, options: options)
    defer { f.remove() }
    let b = try await f.backup()
    let target = f.dir.sub("batched")
    let r = try await f.restore(b.snapshotID, to: target) {
      $0.verify = true
      $0.batchFiles = 7
    }
    #expect(r.isComplete, "\(r.errors)")
    #expect(r.hardLinks > 0 && r.symlinks > 0)
    #expect(r.verifiedFiles == r.files)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
    // Over the first restore: the same, file by file.
    let again = try await f.restore(b.snapshotID, to: target) { $0.batchFiles = 7 }
    #expect(again.isComplete && again.files == r.files)
    #expect(TreeComparison.differences(f.source, f.restored(target)) == [])
  }

  @Test func aTreeTwoThousandLevelsDeepBacksUpAndRestores() async throws {
    let f = try await EngineFixture(seed: 2, options: .init())
    defer { f.remove() }
    // 2,000 levels of one-letter folders: 4,000 bytes of path below the source, inside
    // PATH_MAX (4,096) when the source and the restore target have short names.
    let source = shortTemporaryDirectory()
    let target = shortTemporaryDirectory()
    defer {
      try? FileManager.default.removeItem(atPath: source)
      try? FileManager.default.removeItem(atPath: target)
    }
    try await offThePool {
      var path = source
      for level in 0..<2_000 {
        path += "/d"
        if level % 500 == 499 {
          try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
          try FixtureTree.write(path + "/level.txt", Array("level \(level)".utf8))
        }
      }
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      try FixtureTree.write(path + "/bottom", Array("the bottom".utf8))
    }

    let b = try await f.backup([source])
    #expect(b.errors.isEmpty, "\(b.errors)")
    #expect(b.snapshot.summary?.dirsNew ?? 0 >= 2_000)
    #expect(b.peakEntriesHeld < 2_100)
    let report = try await f.check(readData: true)
    #expect(report.isClean, "\(report)")
    let r = try await f.restore(b.snapshotID, to: target)
    #expect(r.isComplete, "\(r.errors)")
    #expect(try await offThePool { TreeComparison.differences(source, target + source) } == [])
  }

  @Test func aDirectoryOfOneMillionEntriesBacksUpAndLists() async throws {
    let f = try await EngineFixture(seed: 3, options: .init())
    defer { f.remove() }
    let source = f.dir.sub("wide-dir")
    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    // Empty files: a million names and nodes, no data to read.
    let count = 1_000_000
    let failed = try await offThePool {
      var failed = 0
      for i in 0..<count {
        let fd = open("\(source)/\(i)", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        if fd < 0 { failed += 1 } else { close(fd) }
      }
      return failed
    }
    #expect(failed == 0)
    let b = try await f.backup([source])
    #expect(b.errors.isEmpty)
    #expect(b.snapshot.summary?.filesNew == count)
    let repo = try await f.open()
    // Decoding a tree of a million nodes takes seconds in a debug build: off the cooperative
    // pool, which the tests beside this one need.
    let listed = try await withTaskExecutorPreference(BlockingExecutor.shared) {
      var listed = 0
      try await TreeWalker(repository: repo).walk(root: b.snapshot.tree) { _, n in
        if n.kind == .file { listed += 1 }
        return true
      }
      return listed
    }
    #expect(listed == count)
  }
}

/// A directory with a name of 14 bytes (/tmp/lbXXXXXX).
private func shortTemporaryDirectory() -> String {
  var template = Array("/tmp/lbXXXXXX".utf8CString)
  return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}
