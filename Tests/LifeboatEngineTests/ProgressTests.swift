import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatTesting
import Testing

/// The counters behind the progress line tell the truth: a backup's scan counts what it finds
/// as it goes, and a restore counts each file once, when its last blob is in place (#21).
@Suite struct ProgressTests {
  @Test func backupAndRestoreCountEveryFileExactlyOnce() async throws {
    var options = FixtureTree.Options()
    options.files = 60
    options.largeFiles = 2
    options.specialFiles = false  // no hard links: every file is restored as a file of its own
    let f = try await EngineFixture(seed: 215, options: options)
    defer { f.remove() }
    // An empty file and a file of zeros (a hole) count too.
    try FixtureTree.write(f.source + "/empty", [])
    try FixtureTree.write(f.source + "/zeros", [UInt8](repeating: 0, count: 3 << 20))

    let repo = try await f.open()
    let backupProgress = OperationProgress()
    let saver = BlobSaver(repository: repo)
    let backup = try await Archiver(
      repository: repo, saver: saver, options: BackupOptions(paths: [f.source], hostname: "h"), progress: backupProgress
    ).run()
    let b = backupProgress.counters
    let summary = try #require(backup.snapshot.summary)
    #expect(b.filesDone == summary.totalFilesProcessed)
    #expect(b.filesTotal == summary.totalFilesProcessed)
    #expect(b.scannedBytes == summary.totalBytesProcessed, "the scan counted every byte it found")
    #expect(b.bytesDone == summary.totalBytesProcessed)

    let restoreProgress = OperationProgress()
    let restored = try await Restorer(repository: repo, options: RestoreOptions(target: f.dir.sub("r")), progress: restoreProgress)
      .run(snapshot: backup.snapshot)
    let r = restoreProgress.counters
    #expect(restored.files == summary.totalFilesProcessed)
    #expect(r.filesDone == restored.files, "each file counted once as it completed: \(r.filesDone) of \(restored.files)")
    #expect(r.filesTotal == restored.files)
  }
}
