import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatEngine
import LifeboatRepository
import LifeboatStorage
import LifeboatTesting
import Testing

/// What a restic user reaches for in the first hour (issue #21): did-you-mean, `help`,
/// `version`, grouped help, `tag`, `cat`, snapshot filters, `SNAPSHOT:PATH`, and a server whose
/// first start fails cleanly.
@Suite(.serialized) struct FirstHourTests {
  /// Runs the binary without the fixture's --repo (for commands that take none).
  static func bare(_ args: [String], in dir: TemporaryDirectory) async throws -> (code: Int32, output: String) {
    let r = try await CLIFixture.launch(args, environment: ["LIFEBOAT_CACHE_DIR": "off"], dir: dir)
    return (r.code, r.output)
  }

  @Test func mistypedCommandsSuggestAndFail() async throws {
    let dir = TemporaryDirectory("lifeboat-first-hour")
    defer { dir.remove() }
    let typo = try await Self.bare(["bakup"], in: dir)
    #expect(typo.code == ExitStatus.fatal)
    #expect(typo.output.contains("unknown command 'bakup'. Did you mean 'backup'?"), "\(typo.output)")
    let nested = try await Self.bare(["plan", "chek"], in: dir)
    #expect(nested.code == ExitStatus.fatal)
    #expect(nested.output.contains("lifeboat plan: unknown command 'chek'. Did you mean 'check'?"), "\(nested.output)")
    let help = try await Self.bare(["help", "restor"], in: dir)
    #expect(help.code == ExitStatus.fatal, "help of an unknown command is an error")
    #expect(help.output.contains("Did you mean 'restore'?"))
    let nothing = try await Self.bare(["help", "zzzzzzzz"], in: dir)
    #expect(nothing.code == ExitStatus.fatal && !nothing.output.contains("Did you mean"))
    let option = try await Self.bare(["backup", "--exclud", "x"], in: dir)
    #expect(option.code == ExitStatus.fatal && option.output.contains("Did you mean '--exclude'?"))
    #expect(try await Self.bare(["help", "restore"], in: dir).code == 0)

    let version = try await Self.bare(["version"], in: dir)
    #expect(version.code == 0 && version.output.contains(LifeboatVersion.string))
    #expect(try await Self.bare(["--version"], in: dir).output.contains(LifeboatVersion.number))

    let top = try await Self.bare(["--help"], in: dir).output
    for group in ["REPOSITORY SUBCOMMANDS:", "PLANS AND PROOF SUBCOMMANDS:", "SERVER SUBCOMMANDS:"] {
      #expect(top.contains(group), "\(group) in --help")
    }
    let repositoryPart = top.components(separatedBy: "PLANS AND PROOF SUBCOMMANDS:")[0]
    #expect(repositoryPart.contains("  restore ") && !repositoryPart.contains("  drill "))
  }

  @Test func tagChangesSnapshotsButNeverAProtectedOne() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 211)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src, "--tag", "nightly"]) == 0)
    #expect(await f.run(["backup", src, "--tag", "nightly,test"]) == 0)
    let repo = try await Repository.open(backend: LocalBackend(path: f.repo), password: "cli-test-password")
    let before = try await repo.listSnapshots().snapshots
    #expect(before.count == 2)
    let (oldID, first) = before[0]
    // A suspicious mark on the first snapshot moves with it.
    try await repo.addMark(SnapshotMark(snapshot: oldID, kind: .suspicious, reason: "entropy", time: first.time, author: "test"))

    let add = try await f.runProcess(["tag", oldID.hex, "--add", "before-upgrade,audit"])
    #expect(add.code == 0, "\(add.output)")
    var now = try await repo.listSnapshots().snapshots
    #expect(now.count == 2)
    #expect(!now.contains { $0.id == oldID }, "the old snapshot is gone")
    let retagged = try #require(now.first { $0.snapshot.tags == ["nightly", "before-upgrade", "audit"] })
    #expect(retagged.snapshot.original == oldID)
    #expect(retagged.snapshot.tree == first.tree)
    #expect(try await repo.loadMarks().suspicion(of: retagged.id) != nil, "the suspicious mark moved")

    // The same snapshot named twice is changed once.
    let before2 = try await repo.listSnapshots().snapshots.count
    let newest = try #require(now.last)
    let twice = try await f.runProcess(["tag", "latest", "latest", String(newest.id.hex.prefix(8)), "--add", "twice"])
    #expect(twice.code == 0, "\(twice.output)")
    #expect(try await repo.listSnapshots().snapshots.count == before2, "no duplicate copy")
    #expect(twice.output.components(separatedBy: "→").count - 1 == 1, "\(twice.output)")
    now = try await repo.listSnapshots().snapshots

    #expect(try await f.runProcess(["tag", "--tag", "test", "--remove", "test"]).code == 0)
    now = try await repo.listSnapshots().snapshots
    #expect(now.allSatisfy { !$0.snapshot.tags.contains("test") })
    #expect(try await f.runProcess(["tag", "latest", "--set", "monthly"]).code == 0)
    now = try await repo.listSnapshots().snapshots
    #expect(now.last?.snapshot.tags == ["monthly"])

    // A protected snapshot keeps its tags, with the reason and what to do.
    #expect(try await f.runProcess(["protect", "latest", "--reason", "legal hold"]).code == 0)
    let protectedID = try #require(now.last?.id)
    let refused = try await f.runProcess(["tag", "latest", "--add", "x"])
    #expect(refused.code == ExitStatus.fatal)
    #expect(refused.output.contains("protected: legal hold") && refused.output.contains("lifeboat unprotect"), "\(refused.output)")
    #expect(try await repo.listSnapshots().snapshots.contains { $0.id == protectedID })
    #expect(try await f.runProcess(["tag", "latest"]).code == ExitStatus.fatal, "nothing to change is a usage error")
  }

  /// A Lifeboat server's repositories are append-only for clients: `tag` refuses before it
  /// writes anything, instead of leaving a copy it cannot remove the original of.
  @Test func tagRefusesAppendOnlyServerRepositories() async throws {
    let server = try await RunningServer()
    defer { _ = server.stop() }
    #expect(try server.api("POST", "/api/v1/tenants", json: "{\"id\":\"t\"}").0 == 201)
    #expect(try server.api("POST", "/api/v1/tenants/t/repositories", json: "{\"name\":\"r\"}").0 == 201)
    let dir = TemporaryDirectory("lifeboat-tag-rest")
    defer { dir.remove() }
    let token = dir.sub("token")
    try FixtureTree.write(token, Array(try server.token("agent", role: "backup", tenant: "t").utf8))
    try FixtureTree.build(at: dir.sub("src"), seed: 217, options: { var o = FixtureTree.Options(); o.files = 5; o.specialFiles = false; return o }())
    let env = ["LIFEBOAT_SERVER_TOKEN_FILE": token, "LIFEBOAT_PASSWORD": "tag-rest", "LIFEBOAT_CACHE_DIR": "off"]
    let repo = "rest:\(server.base)/t/r"
    #expect(try await CLIFixture.launch(["init", "-r", repo, "--kdf", "pbkdf2"], environment: env, dir: dir).code == 0)
    #expect(try await CLIFixture.launch(["backup", "-r", repo, dir.sub("src")], environment: env, dir: dir).code == 0)
    let r = try await CLIFixture.launch(["tag", "-r", repo, "latest", "--add", "x"], environment: env, dir: dir)
    #expect(r.code == ExitStatus.fatal && r.output.contains("append-only") && r.output.contains("nothing was written"), "\(r.output)")
    let list = try await CLIFixture.launch(["snapshots", "-r", repo], environment: env, dir: dir)
    #expect(list.output.contains("1 snapshot\n"), "\(list.output)")
  }

  @Test func catShowsObjectsWithoutSecrets() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 212)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    let config = try await f.runProcess(["cat", "config"])
    #expect(config.code == 0 && config.output.contains("\"chunker\""))
    let snapshot = try await f.runProcess(["cat", "snapshot", "latest"])
    #expect(snapshot.code == 0 && snapshot.output.contains("\"tree\""))
    let index = try #require(try FileManager.default.contentsOfDirectory(atPath: f.repo + "/index").first)
    let shown = try await f.runProcess(["cat", "index", String(index.prefix(8))])
    #expect(shown.code == 0 && shown.output.contains("\"blobs\""))
    let key = try #require(try FileManager.default.contentsOfDirectory(atPath: f.repo + "/keys").first)
    let keyFile = try await f.runProcess(["cat", "key", String(key.prefix(6))])
    #expect(keyFile.code == 0 && keyFile.output.contains("pbkdf2"))
    let stored = try String(contentsOfFile: f.repo + "/keys/" + key, encoding: .utf8)
    let sealed = try #require(
      (try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any])?["data"] as? String)
    #expect(!keyFile.output.contains(sealed) && !keyFile.output.contains("\"salt\""), "no sealed master key, no salt")
    let missing = try await f.runProcess(["cat", "index", "ffffffff"])
    #expect(missing.code == ExitStatus.fatal && missing.output.contains("no index file ffffffff"))
  }

  @Test func filtersAndSubfoldersChooseWhatIsListedAndRestored() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FileManager.default.createDirectory(atPath: src + "/docs/deep", withIntermediateDirectories: true)
    try FixtureTree.write(src + "/docs/deep/report.txt", Array("quarterly".utf8))
    try FixtureTree.write(src + "/docs/scratch.tmp", Array("temp".utf8))
    try FixtureTree.write(src + "/top.txt", Array("top".utf8))
    let other = f.dir.sub("other")
    try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
    try FixtureTree.write(other + "/only-here.txt", Array("x".utf8))
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src, "--tag", "nightly", "--host", "fileserver-with-a-long-name.district.example"]) == 0)
    #expect(await f.run(["backup", other]) == 0)

    let snapshots = try await f.runProcess(["snapshots"])
    #expect(snapshots.output.contains("fileserver-with-a-long-name.district.example"), "host names are not cut")

    // latest with filters: the tagged one, not the newest.
    let ls = try await f.runProcess(["ls", "latest", "--tag", "nightly"])
    #expect(ls.code == 0 && ls.output.contains("report.txt") && !ls.output.contains("only-here.txt"))
    let byPath = try await f.runProcess(["ls", "latest", "--path", other])
    #expect(byPath.output.contains("only-here.txt"))
    let sub = try await f.runProcess(["ls", "latest:\(src)/docs", "--host", "fileserver-with-a-long-name.district.example"])
    #expect(sub.output.contains("report.txt") && !sub.output.contains("top.txt"), "\(sub.output)")
    let none = try await f.runProcess(["ls", "latest", "--host", "nowhere"])
    #expect(none.code == ExitStatus.fatal && none.output.contains("no snapshot matches (host nowhere)"))

    // SNAPSHOT:FOLDER restores the folder's contents at the target's root; --exclude skips.
    let target = f.dir.sub("restored")
    let restore = try await f.runProcess([
      "restore", "latest:\(src)/docs", "--tag", "nightly", "--path", src, "--target", target, "--exclude", "*.tmp",
    ])
    #expect(restore.code == 0, "\(restore.output)")
    #expect(FileManager.default.fileExists(atPath: target + "/deep/report.txt"))
    #expect(!FileManager.default.fileExists(atPath: target + "/scratch.tmp"), "excluded")
    #expect(!FileManager.default.fileExists(atPath: target + "/top.txt"), "outside the folder")
    let wrong = try await f.runProcess(["restore", "latest:\(src)/nope", "--tag", "nightly", "--target", f.dir.sub("x")])
    #expect(wrong.code == ExitStatus.fatal && wrong.output.contains("has no \(src)/nope"), "\(wrong.output)")
    let file = try await f.runProcess(["restore", "latest:\(src)/top.txt", "--tag", "nightly", "--target", f.dir.sub("y")])
    #expect(file.code == ExitStatus.fatal && file.output.contains("is a file, not a folder"), "\(file.output)")
  }

  /// Messages name the thing and why: the missing part of a path, why a password file cannot
  /// be read, a value shown whole.
  @Test func messagesNameTheThingAndWhy() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FixtureTree.build(at: src, seed: 214)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    let missing = try await f.runProcess(["backup", src, "/lifeboat-no-such-dir/data"])
    #expect(missing.code == ExitStatus.partial)
    #expect(missing.output.contains("warning: /lifeboat-no-such-dir/data: does not exist (there is no /lifeboat-no-such-dir)"), "\(missing.output)")
    #expect(!missing.output.contains("warning: warning:"))

    for (file, reason) in [(f.dir.sub("no-such-password"), "No such file or directory"), (f.dir.path, "it is a directory")] {
      let r = try await CLIFixture.launch(
        ["snapshots", "--repo", f.repo, "--password-file", file], environment: ["LIFEBOAT_PASSWORD": ""], dir: f.dir)
      #expect(r.code == ExitStatus.fatal)
      #expect(r.output.contains("cannot read the password file \(file): \(reason)"), "\(r.output)")
      #expect(r.output.contains("\n  hint: --password-file and LIFEBOAT_PASSWORD_FILE"), "a hint sits two columns in: \(r.output)")
    }

    let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/examples/plan.yaml").path
    let show = try await Self.bare(["plan", "show", "--plan", example], in: f.dir)
    #expect(show.output.contains("hourly 24, daily 14, weekly 8, monthly 12, yearly 7 ← plan line"), "never cut mid-word: \(show.output)")
  }

  /// `make install-files` (what `make install` runs after the release build): a stripped
  /// binary and a man page per command, generated from --help, that groff reads without a warning.
  @Test func installPutsAStrippedBinaryAndAManPagePerCommand() throws {
    let dir = TemporaryDirectory("lifeboat-install")
    defer { dir.remove() }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
    let make = try Subprocess.run(["make", "-s", "-C", root, "install-files", "BIN=\(CLIFixture.binary)", "DESTDIR=\(dir.path)", "PREFIX=/usr"])
    #expect(make.status == 0, "\(make.output)")
    let binary = dir.sub("usr/bin/lifeboat")
    let sections = try Subprocess.run(["readelf", "-S", "-W", binary]).output
    #expect(sections.contains(".text") && !sections.contains(".debug_info") && !sections.contains(".symtab"), "stripped")
    #expect(try Subprocess.run([binary, "version"]).output.contains(LifeboatVersion.string))

    // A page for every command, subcommands of groups included.
    let pages = dir.sub("usr/share/man/man1")
    let expected = LifeboatCommands.paths.map { $0.joined(separator: "-") }
    #expect(expected.count > 40)
    for name in expected {
      let page = pages + "/\(name).1"
      #expect(FileManager.default.fileExists(atPath: page), "\(name).1")
      let lint = try Subprocess.run(["groff", "-man", "-ww", "-z", page])
      #expect(lint.status == 0 && lint.output.isEmpty, "\(name).1: \(lint.output)")
    }
    let restore = try Subprocess.run(["groff", "-man", "-Tutf8", pages + "/lifeboat-restore.1"], environment: ["LC_ALL": "C.UTF-8"]).output
    #expect(restore.contains("latest:/home/ana") && restore.contains("--exclude"), "the page is the --help text")
  }

  /// Restore's last lines count the same things as --verify and name each kind.
  @Test func restoreAndVerifyCountTheSameThings() async throws {
    let f = try CLIFixture()
    defer { f.remove() }
    let src = f.dir.sub("src")
    try FileManager.default.createDirectory(atPath: src + "/docs", withIntermediateDirectories: true)
    try FixtureTree.write(src + "/docs/a.txt", Array("alpha".utf8))
    try FixtureTree.write(src + "/docs/b.txt", Array("bravo".utf8))
    try FixtureTree.write(src + "/c.bin", [UInt8](repeating: 7, count: 3000))
    try FileManager.default.createSymbolicLink(atPath: src + "/docs/link", withDestinationPath: "a.txt")
    #expect(link(src + "/c.bin", src + "/c-again.bin") == 0)
    #expect(await f.run(["init", "--kdf", "pbkdf2"]) == 0)
    #expect(await f.run(["backup", src]) == 0)
    let r = try await f.runProcess(["restore", "latest:\(src)", "--target", f.dir.sub("out"), "--verify"])
    #expect(r.code == 0, "\(r.output)")
    #expect(r.output.contains(": 3 files (2.94 KiB), 1 directory, 1 symbolic link, 1 hard link"), "\(r.output)")
    #expect(r.output.contains("verified: 3 files read back, all identical to the snapshot"), "\(r.output)")
  }

  /// The progress line from the first second: files, bytes and the rate while the scan still
  /// runs (with what it found so far); then the totals, the share and an ETA.
  @Test func theProgressLineTellsTheTruth() {
    var c = OperationProgress.Counters()
    c.phase = "backing up, scanning"
    c.scanned = 12_000
    c.scannedBytes = 3 << 30
    c.filesDone = 1_500
    c.bytesDone = 512 << 20
    let early = ProgressLine.text(c, elapsed: 4)
    #expect(early == "[0:04] backing up, scanning: 1500 files of 12000+ found, 512 MiB of 3.00 GiB+, 128 MiB/s", "\(early)")
    c.phase = "backing up"
    c.filesTotal = 115_000
    c.bytesTotal = 5 << 30
    c.filesDone = 60_000
    c.bytesDone = (5 << 30) / 2
    let later = ProgressLine.text(c, elapsed: 20)
    #expect(later == "[0:20] backing up: 60000/115000 files, 2.50 GiB/5.00 GiB (50%), 128 MiB/s, ETA 0:20", "\(later)")
    #expect(ProgressLine.text(OperationProgress.Counters(), elapsed: 0.3) == "[0:00] : 0 files, 0 B")
  }

  @Test func aServerThatCannotListenCreatesNoToken() async throws {
    let first = try await RunningServer()
    defer { _ = first.stop() }
    let port = try #require(first.base.split(separator: ":").last.map(String.init))
    let dir = TemporaryDirectory("lifeboat-serve-busy")
    defer { dir.remove() }
    let second = try await CLIFixture.launch(
      ["serve", "--data", dir.sub("data"), "--port", port, "--admin-token-file", dir.sub("token")], environment: [:], dir: dir)
    #expect(second.code == ExitStatus.fatal)
    #expect(second.output.contains("cannot listen on 127.0.0.1:\(port): the address is already in use"), "\(second.output)")
    #expect(!second.output.contains("admin token"), "no token for a server that did not start")
    #expect(!FileManager.default.fileExists(atPath: dir.sub("token")))
  }
}
