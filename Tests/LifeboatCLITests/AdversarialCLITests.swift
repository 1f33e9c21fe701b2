import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatFormat
import LifeboatStorage
import LifeboatTesting
import Testing

/// Faults that held but told the user the wrong thing (issue #19), through the command line.
@Suite(.serialized) struct AdversarialCLITests {
  /// `-r` at a file is "no repository" (10); init refuses a directory that holds other files;
  /// a bad --retry-lock is refused by every command; excludes that leave nothing are exit 3.
  @Test func badInputGetsTheRightExitCodeAndChangesNothing() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let file = f.dir.sub("a-file")
    try FixtureTree.write(file, Array("hello".utf8))
    #expect(await LifeboatMain.main(["snapshots", "--repo", file, "--password-file", f.passwordFile, "--quiet"]) == ExitStatus.noRepository)

    let busy = f.dir.sub("documents")
    try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: true)
    try FixtureTree.write(busy + "/report.docx", Array("quarterly".utf8))
    let r = try await CLIFixture.launch(["init", "--repo", busy, "--password-file", f.passwordFile], environment: [:], dir: f.dir)
    #expect(r.code == ExitStatus.fatal && r.output.contains("is not empty and holds no repository"), "\(r.output)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: busy) == ["report.docx"], "nothing was written")

    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["snapshots", "--retry-lock", "zz"]) == ExitStatus.fatal)

    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 61)
    let all = try await f.runProcess(["backup", src, "--exclude", "*"])
    #expect(all.code == ExitStatus.partial && all.output.contains("nothing was selected"), "\(all.output)")
    #expect(await f.run(["backup", src, "--exclude", "*.tmp"]) == 0, "an ordinary exclude is fine")
  }

  /// A damaged config: every command still works from the key file's copy and says so, check
  /// fails until `repair config` writes it back.
  @Test func aDamagedConfigIsRepaired() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 62)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: f.repo + "/config")))
    bytes[bytes.count / 2] ^= 0x40
    try FileManager.default.removeItem(atPath: f.repo + "/config")
    try FixtureTree.write(f.repo + "/config", bytes)
    var r = try await f.runProcess(["restore", "latest", "--target", f.dir.sub("r")])
    #expect(r.code == 0 && r.output.contains("config") && r.output.contains("repair config"), "\(r.output)")
    #expect(TreeComparison.differences(src, f.dir.sub("r") + src) == [])
    #expect(try await f.runProcess(["check"]).code == ExitStatus.fatal, "check reports the damage")
    r = try await f.runProcess(["repair", "config"])
    #expect(r.code == 0 && r.output.contains("wrote the config back"), "\(r.output)")
    r = try await f.runProcess(["check", "--read-data"])
    #expect(r.code == 0 && !r.output.contains("repair config"), "\(r.output)")
  }

  /// A tree deeper than PATH_MAX (4,096 bytes) is backed up and restored, not skipped.
  @Test func pathsLongerThanPathMaxAreBackedUpAndRestored() async throws {
    let f = try CLIFixture()
    defer {
      // FileManager cannot remove what it cannot name; rm walks with openat.
      _ = try? Subprocess.run(["rm", "-rf", f.dir.path])
      f.remove()
    }
    let src = f.dir.sub("src")
    try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
    // 24 levels of 200-byte names: about 4,850 bytes below src.
    var fd = open(src, O_RDONLY | O_DIRECTORY)
    #expect(fd >= 0)
    let level = String(repeating: "d", count: 200)
    for i in 0..<24 {
      let name = level + String(format: "%02d", i)
      #expect(mkdirat(fd, name, 0o755) == 0)
      let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
      close(fd)
      fd = next
    }
    let content = Array("found at the bottom\n".utf8)
    let file = openat(fd, "deep.txt", O_WRONLY | O_CREAT, 0o644)
    #expect(write(file, content, content.count) == content.count)
    close(file)
    #expect(symlinkat("deep.txt", fd, "link") == 0)
    close(fd)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    let backup = try await f.runProcess(["backup", src])
    #expect(backup.code == 0, "nothing skipped: \(backup.output)")
    let r = try await f.runProcess(["restore", "latest", "--target", f.dir.sub("r"), "--verify"])
    #expect(r.code == 0 && r.output.contains("all identical"), "\(r.output)")
    let found = try await f.runProcess(["find", "deep.txt"])
    #expect(found.output.contains("deep.txt"), "\(found.output)")
    // Read the restored file back through the same chain of directories.
    var dir = open(f.dir.sub("r") + src, O_RDONLY | O_DIRECTORY)
    for i in 0..<24 {
      let next = openat(dir, level + String(format: "%02d", i), O_RDONLY | O_DIRECTORY)
      close(dir)
      dir = next
    }
    #expect(dir >= 0)
    var buf = [UInt8](repeating: 0, count: 100)
    let rfd = openat(dir, "deep.txt", O_RDONLY)
    let n = read(rfd, &buf, 100)
    close(rfd)
    #expect(Array(buf.prefix(max(n, 0))) == content)
    var target = [UInt8](repeating: 0, count: 64)
    let ln = readlinkat(dir, "link", &target, 64)
    #expect(Array(target.prefix(max(ln, 0))) == Array("deep.txt".utf8))
    close(dir)
  }

  /// Sockets are recorded but not recreated; the restore says so and still exits 0.
  @Test func socketsAreNotRecreatedAndTheRestoreSaysSo() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
    try FixtureTree.write(src + "/file", Array("data".utf8))
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let path = src + "/app.sock"
    withUnsafeMutableBytes(of: &addr.sun_path) { buf in
      for (i, b) in path.utf8.enumerated() where i < buf.count - 1 { buf[i] = b }
    }
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    #expect(bound == 0)
    close(fd)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    let r = try await f.runProcess(["restore", "latest", "--target", f.dir.sub("r")])
    #expect(r.code == 0, "\(r.output)")
    #expect(r.output.contains("1 sockets were not recreated"), "\(r.output)")
    #expect(FileManager.default.fileExists(atPath: f.dir.sub("r") + src + "/file"))
  }

  /// A garbage key file beside the real one: the right password opens the repository; a wrong
  /// one exits 12 and names the damaged file. When the only key file is damaged: exit 1, and
  /// the message says the key file is damaged, not that the password is wrong.
  @Test func damagedKeyFilesAreNamed() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    let keys = try FileManager.default.contentsOfDirectory(atPath: f.repo + "/keys")
    let garbage = Array("{\"version\": 1, \"kdf\": ".utf8)
    let gname = StorageHash.id(garbage).hex
    try FixtureTree.write(f.repo + "/keys/" + gname, garbage)
    #expect(await f.run(["snapshots"]) == 0)
    let wrong = try await CLIFixture.launch(["snapshots", "--repo", f.repo], environment: ["LIFEBOAT_PASSWORD": "wrong"], dir: f.dir)
    #expect(wrong.code == ExitStatus.wrongPassword && wrong.output.contains(String(gname.prefix(8))), "\(wrong.output)")
    try FileManager.default.removeItem(atPath: f.repo + "/keys/" + gname)
    let only = f.repo + "/keys/" + keys[0]
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: only)))
    bytes[10] ^= 0x01
    try FileManager.default.removeItem(atPath: only)
    try FixtureTree.write(only, bytes)
    let r = try await f.runProcess(["snapshots"])
    #expect(r.code == ExitStatus.fatal && r.output.contains("damaged") && !r.output.contains("wrong password"), "\(r.output)")
  }
}
