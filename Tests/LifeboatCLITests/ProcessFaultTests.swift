import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

/// Faults that need a real process: SIGKILL mid-backup, SIGINT, another user's permissions and
/// a real full filesystem. These need root for setpriv and mount; CI runs as root, and there a
/// missing capability is a failure, not a skip.
@Suite(.serialized) struct ProcessFaultTests {
  var isRoot: Bool { getuid() == 0 }
  var inCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

  func requireRoot() -> Bool {
    if isRoot { return true }
    if inCI { Issue.record("this test needs root (setpriv, mount) and CI runs as root") }
    return false
  }

  /// A small tmpfs to fill up (root only); returns its path.
  func mountTmpfs(_ path: String, size: String) throws -> String {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let mount = Process()
    mount.executableURL = URL(fileURLWithPath: "/bin/mount")
    mount.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]
    try mount.run()
    mount.waitUntilExit()
    #expect(mount.terminationStatus == 0, "mount tmpfs failed")
    return path
  }

  func unmount(_ path: String) {
    let u = Process()
    u.executableURL = URL(fileURLWithPath: "/bin/umount")
    u.arguments = [path]
    try? u.run()
    u.waitUntilExit()
  }

  func makeData(_ root: String, seed: UInt64, files: Int, size: Int) throws {
    var rng = SeededRandom(seed: seed)
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    for i in 0..<files {
      try FixtureTree.write("\(root)/f\(i).bin", rng.bytes(size))
    }
  }

  @Test func sigkillAtRandomPointsLeavesACleanRepositoryAndTheNextBackupReusesPacks() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try makeData(src, seed: 50, files: 48, size: 3 << 20)  // 144 MiB
    #expect(await f.run(["init", "--pack-size", "1", "--kdf", "pbkdf2"]) == 0)
    var rng = SeededRandom(seed: 51)
    var killedMidway = 0
    @Sendable func packCount() -> Int {
      (try? FileManager.default.subpathsOfDirectory(atPath: f.repo + "/data"))?.filter { $0.count > 60 && !$0.contains(".tmp") }.count ?? 0
    }
    for round in 0..<4 {
      // Kill once a random number of new packs (2–20, so before and after index files) is
      // on disk: random points of the backup, independent of machine speed.
      let target = packCount() + 2 + Int(rng.next() % 19)
      let p = try f.spawn(["backup", src])
      // Watched and waited for off the cooperative pool.
      let killed = try await offThePool { () -> Bool in
        while p.isRunning && packCount() < target { usleep(2_000) }
        guard p.isRunning else { return false }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return true
      }
      if killed { killedMidway += 1 }
      try await offThePool { p.waitUntilExit() }
      let check = try await f.runProcess(["check", "--read-data"])
      #expect(check.code == 0, "round \(round): check after SIGKILL: \(check.output)")
    }
    #expect(killedMidway >= 3, "the backups should have been interrupted")
    let packsBefore = try await LocalBackend(path: f.repo).list(.pack).count
    let final = try await f.runProcess(["backup", src, "--json"])
    #expect(final.code == 0, "\(final.output)")
    #expect(final.output.contains("\"snapshot\""))
    // Data uploaded by the killed runs and indexed is not uploaded again.
    let repo = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let snaps = try await repo.listSnapshots().snapshots
    let summary = try #require(snaps.last?.snapshot.summary)
    #expect(packsBefore > 8, "the killed runs uploaded packs")
    #expect(summary.dataAdded < 144 << 20, "added \(summary.dataAdded) bytes although \(packsBefore) packs were already there")
    #expect(await f.run(["restore", "latest", "--target", f.dir.sub("r"), "--verify"]) == 0)
    #expect(TreeComparison.differences(src, f.dir.sub("r") + src) == [])
  }

  @Test func sigintExitsWith130AndRemovesTheLock() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try makeData(src, seed: 52, files: 40, size: 4 << 20)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    let p = try f.spawn(["backup", src])
    // Interrupt once the lock is taken (not after a guessed delay).
    // Watched, interrupted and waited for on a thread of its own, started at once: a hop back
    // to the (busy) pool between seeing the lock and sending SIGINT, or a watcher queued behind
    // other tests' waits, let the backup finish first.
    let locks = f.repo + "/locks"
    let interrupted = await onOwnThread { () -> Bool in
      for _ in 0..<4_000 where p.isRunning {
        if !((try? FileManager.default.contentsOfDirectory(atPath: locks)) ?? []).isEmpty { break }
        usleep(5_000)
      }
      guard p.isRunning else { return false }
      kill(p.processIdentifier, SIGINT)
      p.waitUntilExit()
      return true
    }
    guard interrupted else {
      Issue.record("backup finished before it could be interrupted")
      return
    }
    #expect(p.terminationStatus == 130)
    #expect(try await LocalBackend(path: f.repo).list(.lock).isEmpty)
    #expect(try await f.runProcess(["check"]).code == 0)
  }

  @Test func unreadableFileGivesExitCode3AndASnapshotOfTheRest() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 53)
    try FixtureTree.write(src + "/secret", Array("not for you".utf8))
    chmod(src + "/secret", 0)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    var prefix: [String] = []
    if isRoot {
      // Root reads everything: run as nobody, who owns the repository.
      _ = try FileManager.default.subpathsOfDirectory(atPath: f.dir.path)
      for p in [f.dir.path] + (try FileManager.default.subpathsOfDirectory(atPath: f.dir.path)).map({ f.dir.path + "/" + $0 }) {
        chown(p, 65534, 65534)
      }
      chmod(f.dir.path, 0o755)
      chown(src + "/secret", 0, 0)
      prefix = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    }
    let r = try await f.runProcess(["backup", src], prefix: prefix)
    #expect(r.code == 3, "\(r.output)")
    #expect(r.output.contains("secret"))
    let restore = try await f.runProcess(["restore", "latest", "--target", f.dir.sub("r")], prefix: prefix)
    #expect(restore.code == 0, "\(restore.output)")
    #expect(FileManager.default.fileExists(atPath: f.dir.sub("r") + src + "/mode-0640"))
    #expect(!FileManager.default.fileExists(atPath: f.dir.sub("r") + src + "/secret"))
  }

  @Test func fullDiskGivesAClearErrorAndTheRepositoryStillChecksClean() async throws {
    guard requireRoot() else { return }
    let f = try CLIFixture()
    defer { f.remove() }
    let mnt = try mountTmpfs(f.dir.sub("small"), size: "24m")
    defer { unmount(mnt) }
    let src = f.dir.sub("src")
    try makeData(src, seed: 54, files: 4, size: 4 << 20)  // 16 MiB of random data
    let repoArgs = ["--repo", mnt + "/repo", "--password-file", f.passwordFile, "--quiet"]
    #expect(await LifeboatMain.main(["init", "--pack-size", "2", "--kdf", "pbkdf2"] + repoArgs) == 0)
    // Something else fills the disk: 16 of its 24 MiB.
    let filler = mnt + "/filler"
    try FixtureTree.write(filler, [UInt8](repeating: 7, count: 16 << 20))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CLIFixture.binary)
    p.arguments = ["backup", src] + repoArgs
    let pipe = Pipe()
    p.standardError = pipe
    try p.run()
    p.waitUntilExit()
    let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(p.terminationStatus == 1)
    #expect(err.contains("no space left"), "\(err)")
    // No snapshot, no half-written objects, and the repository checks clean.
    #expect(try await LocalBackend(path: mnt + "/repo").list(.snapshot).isEmpty)
    #expect(await LifeboatMain.main(["check", "--read-data"] + repoArgs) == 0)
    // What the hint says is true: every pack the failed backup stored is indexed, so the next
    // backup reuses it instead of uploading it again.
    let stored = try await LocalBackend(path: mnt + "/repo").list(.pack).map(\.name)
    #expect(!stored.isEmpty, "some packs fitted before the disk was full")
    let reopened = try await Repository.open(backend: LocalBackend(path: mnt + "/repo"), password: "cli-test-password")
    try await reopened.loadIndex()
    let indexed = Set(reopened.index.packIDs.map(\.hex))
    #expect(stored.allSatisfy { indexed.contains($0) }, "\(stored.filter { !indexed.contains($0) }.count) of \(stored.count) packs unindexed")
    #expect(err.contains("indexed when the index still fits"), "\(err)")
    // The administrator frees space; the same backup now succeeds, reusing what was stored.
    unlink(filler)
    #expect(await LifeboatMain.main(["backup", src] + repoArgs) == 0)
    #expect(await LifeboatMain.main(["check", "--read-data"] + repoArgs) == 0)
    #expect(await LifeboatMain.main(["restore", "latest", "--target", f.dir.sub("r")] + repoArgs) == 0)
    #expect(TreeComparison.differences(src, f.dir.sub("r") + src) == [])
  }

  /// A restore onto a full disk says the target is full and that nothing in the repository is
  /// wrong; it never calls the data damaged or sends the user to `check`.
  @Test func aRestoreOntoAFullTargetSaysSoAndBlamesNothingInTheRepository() async throws {
    guard requireRoot() else { return }
    let f = try CLIFixture()
    defer { f.remove() }
    let mnt = try mountTmpfs(f.dir.sub("small-target"), size: "8m")
    defer { unmount(mnt) }
    let src = f.dir.sub("src")
    try makeData(src, seed: 55, files: 6, size: 3 << 20)  // 18 MiB onto 8 MiB
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    let r = try await f.runProcess(["restore", "latest", "--target", mnt + "/r"])
    #expect(r.code == ExitStatus.fatal, "\(r.output)")
    #expect(r.output.contains("is full") && r.output.contains("Nothing in the repository is wrong"), "\(r.output)")
    #expect(!r.output.contains("damaged") && !r.output.contains("lifeboat check"), "\(r.output)")
    #expect(await f.run(["check", "--read-data"]) == 0, "and indeed the repository is fine")
  }

  @Test func retryLockWaitsForTheLockToBeReleased() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    let repo = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let lock = try await repo.lock(exclusive: true, command: "maintenance")
    let p = try f.spawn(["backup", "/etc/hostname", "--retry-lock", "1m"])
    _ = try await offThePool { usleep(1_500_000) }
    #expect(p.isRunning, "the backup waits instead of failing")
    await lock.release()
    try await offThePool { p.waitUntilExit() }
    #expect(p.terminationStatus == 0)
    #expect(try await LocalBackend(path: f.repo).list(.snapshot).count == 1)
  }

  @Test func oneFileSystemDoesNotCrossIntoAMount() async throws {
    guard requireRoot() else { return }
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FileManager.default.createDirectory(atPath: src + "/mnt", withIntermediateDirectories: true)
    try FixtureTree.write(src + "/here", Array("on the root filesystem".utf8))
    let mount = Process()
    mount.executableURL = URL(fileURLWithPath: "/bin/mount")
    mount.arguments = ["-t", "tmpfs", "-o", "size=4m", "tmpfs", src + "/mnt"]
    try mount.run()
    mount.waitUntilExit()
    defer {
      let u = Process()
      u.executableURL = URL(fileURLWithPath: "/bin/umount")
      u.arguments = [src + "/mnt"]
      try? u.run()
      u.waitUntilExit()
    }
    try FixtureTree.write(src + "/mnt/elsewhere", Array("on another filesystem".utf8))
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", "--one-file-system", src]) == 0)
    #expect(await f.run(["restore", "latest", "--target", f.dir.sub("r")]) == 0)
    let restored = f.dir.sub("r") + src
    #expect(FileManager.default.fileExists(atPath: restored + "/here"))
    #expect(FileManager.default.fileExists(atPath: restored + "/mnt"), "the mount point itself is kept")
    #expect(!FileManager.default.fileExists(atPath: restored + "/mnt/elsewhere"))
    #expect(await f.run(["backup", src]) == 0)
    #expect(await f.run(["restore", "latest", "--target", f.dir.sub("r2")]) == 0)
    #expect(FileManager.default.fileExists(atPath: f.dir.sub("r2") + src + "/mnt/elsewhere"), "without the flag it is crossed")
  }
}

/// Runs `body` on a new thread (not a shared pool) and waits for it: for a watcher that must
/// start now, whatever else the test process is waiting for.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
  await withCheckedContinuation { c in Thread { c.resume(returning: body()) }.start() }
}
