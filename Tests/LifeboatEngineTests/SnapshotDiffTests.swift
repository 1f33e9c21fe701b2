import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatTesting
import Testing

@Suite struct SnapshotDiffTests {
  @Test func reportsEachKindOfChange() async throws {
    let f = try await EngineFixture(seed: 30)
    defer { f.remove() }
    let first = try await f.backup()
    let s = f.source
    try FixtureTree.write(s + "/mode-0640", Array("new content".utf8))          // modified
    chmod(s + "/script.sh", 0o700)                                             // metadata
    try FixtureTree.write(s + "/added.txt", Array("added".utf8))               // added
    unlink(s + "/empty-file")                                                  // removed
    unlink(s + "/link-dangling")                                               // type changed
    mkdir(s + "/link-dangling", 0o755)
    let second = try await f.backup()
    let repo = try await f.open()
    let (entries, summary) = try await SnapshotDiff(repository: repo).compare(first.snapshot.tree, second.snapshot.tree)
    func change(_ suffix: String) -> SnapshotDiff.Change? {
      entries.first { $0.path == s + suffix }?.change
    }
    #expect(change("/mode-0640") == .modified)
    #expect(change("/script.sh") == .metadata)
    #expect(change("/added.txt") == .added)
    #expect(change("/empty-file") == .removed)
    #expect(change("/link-dangling") == .typeChanged)
    #expect(summary.added == 1 && summary.removed == 1 && summary.modified == 1 && summary.typeChanged == 1)
    #expect(summary.addedBytes == 5)
    #expect(!entries.contains { $0.path.hasSuffix("/large0.bin") }, "unchanged files are not listed")
    let same = try await SnapshotDiff(repository: repo).compare(second.snapshot.tree, second.snapshot.tree)
    #expect(same.entries.isEmpty)
  }
}
