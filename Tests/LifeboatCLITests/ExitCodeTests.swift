import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

@Suite(.serialized) struct ExitCodeTests {
  @Test func documentedExitCodes() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 40)

    #expect(await f.run(["snapshots"]) == ExitStatus.noRepository)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["init"]) == ExitStatus.fatal, "init refuses to overwrite a repository")
    #expect(await f.run(["snapshots"], password: "wrong") == ExitStatus.wrongPassword)
    #expect(await f.run(["backup", src]) == 0)
    #expect(await f.run(["backup", src, f.dir.sub("missing")]) == ExitStatus.partial)
    #expect(await f.run(["backup"]) == ExitStatus.fatal, "usage errors exit 1")
    #expect(await f.run(["restore", "latest", "--target", f.dir.sub("r"), "--verify"]) == 0)
    #expect(TreeComparison.differences(src, f.dir.sub("r") + src) == [])
    #expect(await f.run(["check", "--read-data"]) == 0)
    #expect(await f.run(["check", "--read-data-subset", "50%"]) == 0)
    #expect(await f.run(["check", "--read-data-subset", "150%"]) == ExitStatus.fatal)
    #expect(await f.run(["ls", "latest"]) == 0)
    #expect(await f.run(["stats"]) == 0)
    #expect(await f.run(["restore", "deadbeef", "--target", f.dir.sub("x")]) == ExitStatus.fatal)

    // A conflicting exclusive lock: backup exits 11 and leaves nothing behind.
    let repo = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let lock = try await repo.lock(exclusive: true, command: "test")
    let snapshotsBefore = try await repo.backend.list(.snapshot).count
    #expect(await f.run(["backup", src]) == ExitStatus.lockFailed)
    #expect(try await repo.backend.list(.snapshot).count == snapshotsBefore)
    await lock.release()
    #expect(await f.run(["unlock"]) == 0)
  }

  @Test func wrongPasswordWritesNothing() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    #expect(await f.run(["init"]) == 0)
    let before = try FileManager.default.subpathsOfDirectory(atPath: f.repo).sorted()
    #expect(await f.run(["backup", "/etc/hostname"], password: "nope") == ExitStatus.wrongPassword)
    #expect(try FileManager.default.subpathsOfDirectory(atPath: f.repo).sorted() == before)
  }

  @Test func keyAddLetsASecondPasswordIn() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    #expect(await f.run(["init"]) == 0)
    let newPw = f.dir.sub("new-password")
    try FixtureTree.write(newPw, Array("second password".utf8))
    #expect(await f.run(["key", "add", "--new-password-file", newPw, "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["snapshots"], password: "second password") == 0)
    #expect(await f.run(["key", "list"]) == 0)
  }

  @Test func helpTeachesAndExitsZero() async {
    #expect(await LifeboatMain.main(["--help"]) == 0)
    #expect(await LifeboatMain.main(["backup", "--help"]) == 0)
  }
}
