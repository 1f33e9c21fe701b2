import Foundation
import LifeboatTesting
import Testing

/// A share through the real binary: a plan with an `smb:` source runs, `ls --long` shows each
/// file's Windows attributes and access list, and `restore --target smb://…` puts the share's
/// files on another share; without an account the restore says what it needs.
@Suite struct SMBCommandTests {
  @Test func aShareIsBackedUpListedAndRestoredToAShareByTheCommands() async throws {
    let server = try await SambaTestServer.start(shares: ["staff", "restored"])
    defer { server.remove() }
    let dir = TemporaryDirectory("lifeboat-smb-cli")
    defer { dir.remove() }
    var rng = SeededRandom(seed: 2203)
    let files = ["Minutes/2026-11.docx": rng.bytes(80_000), "budget.xlsx": rng.bytes(20_000), "readme.txt": Array("hello".utf8)]
    for (path, bytes) in files {
      try FileManager.default.createDirectory(
        atPath: (server.folder("staff") + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try FixtureTree.write(server.folder("staff") + "/" + path, bytes)
    }
    _ = try Subprocess.run(["chown", "-R", SambaTestServer.user, server.folder("staff")])
    #expect(try server.smbclient("staff", "setmode readme.txt +r").status == 0)
    let repo = dir.sub("repo")
    let plan = dir.sub("plan.yaml")
    try FixtureTree.write(
      plan,
      Array(
        """
        organization: SMB CLI Test
        repositories:
          local: { url: \(repo), password: "env:LB_PW" }
        systems:
          - name: Staff Share
            sources:
              - smb: { url: "\(server.url("staff"))", username: \(SambaTestServer.user), password: "env:SMB_PASS" }
        """.utf8))
    let env = ["LB_PW": "smb-cli-password", "LIFEBOAT_PASSWORD": "smb-cli-password", "LIFEBOAT_PLAN": plan, "SMB_PASS": server.password]
    #expect(try await CLIFixture.launch(["init", "-r", repo], environment: env, dir: dir).code == 0)
    let run = try await CLIFixture.launch(["run", "--all"], environment: env, dir: dir)
    #expect(run.code == 0, "\(run.output)")

    let ls = try await CLIFixture.launch(["ls", "latest", "--long", "-r", repo], environment: env, dir: dir)
    #expect(ls.code == 0, "\(ls.output)")
    let lines = ls.output.split(separator: "\n").map(String.init)
    let readme = try #require(lines.firstIndex { $0.hasSuffix("/smb/\(server.host)/staff/readme.txt") }, "\(ls.output)")
    #expect(lines[readme + 1].hasPrefix("    windows: attributes read-only") && lines[readme + 1].contains("owner "), "\(lines[readme + 1])")

    // No account: the restore says what it needs and writes nothing.
    let target = server.url("restored", "from-backup")
    let refused = try await CLIFixture.launch(["restore", "latest", "--target", target, "-r", repo], environment: env, dir: dir)
    #expect(refused.code == 1 && refused.output.contains("--smb-user"), "\(refused.output)")
    var withPassword = env
    withPassword["LIFEBOAT_SMB_PASSWORD"] = server.password
    let restored = try await CLIFixture.launch(
      ["restore", "latest", "--target", target, "--smb-user", SambaTestServer.user, "-r", repo], environment: withPassword, dir: dir)
    #expect(restored.code == 0 && restored.output.contains("3 files"), "\(restored.output)")
    for (path, bytes) in files {
      #expect(FileManager.default.contents(atPath: server.folder("restored") + "/from-backup/" + path).map { Array($0) } == bytes, "\(path)")
    }
    let shown = try server.smbclient("restored", "ls from-backup/readme.txt")
    #expect(shown.output.contains("readme.txt") && shown.output.contains(" R "), "the read-only attribute came back: \(shown.output)")
  }
}
