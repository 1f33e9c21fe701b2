import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

@Suite(.serialized) struct LifecycleCommandTests {
  @Test func forgetKeepsWhatTheRulesSayAndRefusesNoRules() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 60, options: { var o = FixtureTree.Options(); o.files = 5; o.largeFiles = 0; return o }())
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    for i in 0..<5 {
      try FixtureTree.write(src + "/counter", Array("\(i)".utf8))
      #expect(await f.run(["backup", src] + (i == 0 ? ["--tag", "legal-hold"] : [])) == 0)
    }
    let backend = LocalBackend(path: f.repo)
    #expect(try await backend.list(.snapshot).count == 5)
    #expect(await f.run(["forget"]) == ExitStatus.fatal, "no rule: refuse")
    #expect(await f.run(["forget", "--keep-within", "soon"]) == ExitStatus.fatal)
    #expect(await f.run(["forget", "--keep-last", "2", "--dry-run"]) == 0)
    #expect(try await backend.list(.snapshot).count == 5, "a dry run removes nothing")
    #expect(await f.run(["forget", "--keep-last", "2", "--keep-tag", "legal-hold"]) == 0)
    #expect(try await backend.list(.snapshot).count == 3)
    #expect(await f.run(["check"]) == 0)
    #expect(await f.run(["restore", "latest", "--target", f.dir.sub("r")]) == 0)
    #expect(try String(contentsOfFile: f.dir.sub("r") + src + "/counter", encoding: .utf8) == "4")
  }

  @Test func diffAndFindRun() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 61)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    try FixtureTree.write(src + "/new-report.docx", Array("new".utf8))
    #expect(await f.run(["backup", src]) == 0)
    let repo = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let snaps = try await repo.listSnapshots().snapshots
    #expect(await f.run(["diff", snaps[0].id.short, snaps[1].id.short, "--json"]) == 0)
    #expect(await f.run(["find", "*.docx"]) == 0)
    #expect(await f.run(["find", src + "/dir0/*"]) == 0)
    #expect(await f.run(["diff", "nope", "latest"]) == ExitStatus.fatal)
  }

  @Test func passwordsChangeWithoutTouchingTheMasterKey() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", "/etc/hostname"]) == 0)
    let before = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let second = f.dir.sub("second")
    try FixtureTree.write(second, Array("second password".utf8))
    #expect(await f.run(["key", "add", "--new-password-file", second, "--kdf", "pbkdf2"]) == 0)
    // The key that opened the repository cannot be removed.
    #expect(await f.run(["key", "remove", before.keyID]) == ExitStatus.fatal)
    let third = f.dir.sub("third")
    try FixtureTree.write(third, Array("third password".utf8))
    #expect(await f.run(["key", "passwd", "--new-password-file", third, "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["snapshots"]) == ExitStatus.wrongPassword, "the old password is gone")
    #expect(await f.run(["snapshots"], password: "third password") == 0)
    #expect(await f.run(["snapshots"], password: "second password") == 0)
    let after = try await Repository.open(backend: LocalBackend(path: f.repo), password: "third password")
    #expect(after.keys.masterSecret == before.keys.masterSecret)
    // Remove the second key while opened with the third.
    let keys = try await LocalBackend(path: f.repo).list(.key).map(\.name)
    let secondKey = try #require(keys.first { $0 != after.keyID })
    #expect(await f.run(["key", "remove", String(secondKey.prefix(10))], password: "third password") == 0)
    #expect(await f.run(["snapshots"], password: "second password") == ExitStatus.wrongPassword)
    #expect(await f.run(["check", "--read-data"], password: "third password") == 0)
  }

  /// Prunes race against backups of other trees; with the exclusive lock and --retry-lock
  /// everyone succeeds, and afterwards every snapshot restores byte for byte.
  @Test func pruneRacingBackupsLosesNothing() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    #expect(await f.run(["init", "--kdf", "pbkdf2", "--pack-size", "1"]) == 0)
    var rng = SeededRandom(seed: 80)
    let base = f.dir.sub("base")
    for generation in 0..<3 {
      try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
      try FixtureTree.write(base + "/data", rng.bytes(4 << 20))
      #expect(await f.run(["backup", base]) == 0)
      _ = generation
    }
    var sources = [String]()
    for i in 0..<4 {
      let d = f.dir.sub("src\(i)")
      try FixtureTree.build(at: d, seed: 81 + UInt64(i), options: { var o = FixtureTree.Options(); o.largeFileSize = 6 << 20; return o }())
      sources.append(d)
    }
    var procs = [Process]()
    for (i, d) in sources.enumerated() {
      procs.append(try f.spawn(["backup", d, "--retry-lock", "3m"]))
      if i == 1 {
        procs.append(try f.spawn(["forget", "--keep-last", "1", "--host", Repository.Identity.current.hostname, "--prune", "--max-unused", "0%", "--retry-lock", "3m"]))
      }
    }
    procs.append(try f.spawn(["prune", "--max-unused", "0%", "--retry-lock", "3m"]))
    for p in procs {
      p.waitUntilExit()
      #expect(p.terminationStatus == 0, "\(p.arguments ?? [])")
    }
    let check = try await f.runProcess(["check", "--read-data"])
    #expect(check.code == 0, "\(check.output)")
    // Every remaining snapshot restores to exactly the tree it was taken of.
    let repo = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let snaps = try await repo.listSnapshots().snapshots
    #expect(snaps.count >= 1)
    for (id, snap) in snaps {
      let target = f.dir.sub("r-\(id.short)")
      #expect(await f.run(["restore", id.hex, "--target", target, "--verify"]) == 0)
      for path in snap.paths where path != base {
        #expect(TreeComparison.differences(path, target + path) == [], "\(path)")
      }
    }
  }
}

@Suite(.serialized) struct CopyCommandTests {
  /// Two repositories with different passwords (hence keys and chunker secrets): copy, copy
  /// again (nothing to do), restore from the copy byte for byte, check both.
  @Test func copyBetweenRepositoriesWithDifferentSecrets() async throws {
    let a = try CLIFixture(password: "first repository")
    let b = try CLIFixture(password: "second repository")
    defer {
      a.remove()
      b.remove()
    }
    let src = a.dir.sub("src")
    try FixtureTree.build(at: src, seed: 90, options: { var o = FixtureTree.Options(); o.largeFiles = 2; o.largeFileSize = 11 << 20; return o }())
    #expect(await a.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await a.run(["backup", src]) == 0)
    try FixtureTree.write(src + "/later", Array("second snapshot".utf8))
    #expect(await a.run(["backup", src, "--tag", "second"]) == 0)
    #expect(await b.run(["init", "--kdf", "pbkdf2"]) == 0)
    let args = ["copy", "--from-repo", a.repo, "--from-password-file", a.passwordFile]
    #expect(await b.run(args) == 0)
    let dest = try await Repository.open(backend: LocalBackend(path: b.repo), password: "second repository")
    let copied = try await dest.listSnapshots().snapshots
    #expect(copied.count == 2)
    #expect(copied.allSatisfy { $0.snapshot.original != nil })
    #expect(copied.last?.snapshot.tags == ["second"])
    let packsAfterFirst = try await dest.backend.list(.pack).count
    #expect(await b.run(args) == 0)
    #expect(try await dest.listSnapshots().snapshots.count == 2, "already-copied snapshots are skipped")
    #expect(try await dest.backend.list(.pack).count == packsAfterFirst)
    let source = try await Repository.open(backend: LocalBackend(path: a.repo), password: "first repository")
    #expect(source.keys.chunkerSeed != dest.keys.chunkerSeed, "the chunker secrets differ")
    #expect(await b.run(["restore", "latest", "--target", b.dir.sub("r"), "--verify"]) == 0)
    #expect(TreeComparison.differences(src, b.dir.sub("r") + src) == [])
    #expect(await b.run(["check", "--read-data"]) == 0)
    #expect(await a.run(["check", "--read-data"]) == 0)
    #expect(await b.run(["copy", "--from-repo", a.repo, "--from-password-file", b.passwordFile]) == ExitStatus.wrongPassword)
  }
}
