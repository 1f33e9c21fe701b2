import Foundation
import LifeboatCore
import LifeboatEngine
import LifeboatOps
import LifeboatPlan
import LifeboatRepository
import LifeboatSMB
import LifeboatTesting
import Testing

/// SMB sources against a real Samba server (a private smbd per test, `SambaTestServer`):
/// a share with Windows access lists and attributes is backed up through a plan, unchanged
/// files are skipped the next time, the share is restored to a second share (access lists,
/// attributes and times compared with smbclient, which reads them independently) and to a
/// local folder; a share that goes away during the backup, and a wrong password, fail the
/// job and store nothing. Not gated: a missing Samba is a failure.
@Suite struct SMBSourceTests {
  static let password = "smb-test-secret"

  /// A share with folders, a Unicode name, an empty file, a 3 MiB file, an inheritable
  /// access entry on a folder, a deny entry on a file and a hidden file.
  static func seed(_ server: SambaTestServer, share: String) throws -> [String: [UInt8]] {
    var rng = SeededRandom(seed: 2201)
    let files: [(String, [UInt8])] = [
      ("Policies/handbook.txt", Array("Staff handbook, 2026 edition.\n".utf8)),
      ("Policies/Salaries 2026.xlsx", rng.bytes(300_000)),
      ("Ünïcode ß.txt", Array("grüße".utf8)),
      ("empty.txt", []),
      ("Deep/a/b/c.txt", Array("deep".utf8)),
      ("big.bin", rng.bytes(3 << 20)),
    ]
    let root = server.folder(share)
    for (path, bytes) in files {
      try FileManager.default.createDirectory(
        atPath: (root + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try FixtureTree.write(root + "/" + path, bytes)
    }
    _ = try Subprocess.run(["chown", "-R", SambaTestServer.user, root])
    return Dictionary(uniqueKeysWithValues: files)
  }

  static func protect(_ server: SambaTestServer, share: String) throws {
    let c = try SMBConnection(location: SMBLocation(url: server.url(share)), username: SambaTestServer.user, password: password)
    // Users may read what is under Policies (inherited by new files); Guests may not touch
    // the salaries. Owners and the rest stay as Samba made them.
    let folder = try #require(try c.attribute(Array("Policies".utf8), "system.nt_sec_desc.*"))
    try c.setAttribute(Array("Policies".utf8), "system.nt_sec_desc.*", folder + ",ACL:S-1-5-32-545:0/3/0x001200a9")
    let now = try c.attribute(Array("Policies".utf8), "system.nt_sec_desc.*") ?? ""
    #expect(now.contains("ACL:S-1-5-32-545:0/3/0x001200a9") && now.count > folder.count, "\(folder) became \(now)")
    let file = try #require(try c.attribute(Array("Policies/Salaries 2026.xlsx".utf8), "system.nt_sec_desc.*"))
    try c.setAttribute(Array("Policies/Salaries 2026.xlsx".utf8), "system.nt_sec_desc.*", file + ",ACL:S-1-5-32-546:1/0/0x001f01ff")
    let hidden = try server.smbclient(share, "setmode \"Policies/handbook.txt\" +h")
    #expect(hidden.status == 0, "\(hidden.output)")
  }

  /// What smbclient reports for every entry of a share: name, attributes, size, time, owner,
  /// group and the access entries as a set (libsmbclient writes them in Windows' canonical
  /// order, deny first, and may raise the list's revision number; neither changes who may do
  /// what). The share's own folder and the free-space line are left out.
  static func listing(_ server: SambaTestServer, _ share: String) throws -> [String] {
    let r = try server.smbclient(share, "showacls; recurse; ls")
    #expect(r.status == 0, "\(r.output)")
    var blocks: [[String]] = []
    for line in r.output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
      if line.hasPrefix("FILENAME:") {
        blocks.append([line])
      } else if !blocks.isEmpty && !line.contains("blocks of size") && !line.hasPrefix("\\") && !line.contains("Num ACEs") {
        blocks[blocks.count - 1].append(line.trimmingCharacters(in: .whitespaces))
      }
    }
    return blocks.filter { $0[0] != "FILENAME:." && $0[0] != "FILENAME:.." }.map { block -> String in
      // Each ACE is the lines from "ACE" to its "SID:"; the rest stays in order.
      var head: [String] = []
      var aces: [String] = []
      var ace: [String]?
      for line in block {
        if line == "ACE" { ace = [] } else if ace != nil {
          ace!.append(line)
          if line.hasPrefix("SID:") {
            aces.append(ace!.joined(separator: " "))
            ace = nil
          }
        } else {
          head.append(line)
        }
      }
      // A folder's time is the time of its restore (libsmbclient sets times only on files).
      if head.contains("MODE:D") || head.contains(where: { $0.hasPrefix("MODE:") && $0.contains("D") }) {
        head.removeAll { $0.hasPrefix("MTIME:") }
      }
      return (head + aces.sorted()).joined(separator: "\n")
    }.sorted()
  }

  static func plan(_ f: OpsFixture, _ server: SambaTestServer, share: String = "staff") throws -> Plan {
    try f.writePlan(
      """
        - name: Staff Share
          sources:
            - smb: { url: "\(server.url(share))", username: \(SambaTestServer.user), password: "env:SMB_PASS", exclude: ["*.tmp"] }
      """, repositories: ["onsite"])
  }

  @Test func aShareIsBackedUpWithItsACLsAndRestoredToASecondShareAsItWas() async throws {
    let server = try await SambaTestServer.start(shares: ["staff", "restored"])
    defer { server.remove() }
    let files = try Self.seed(server, share: "staff")
    try FixtureTree.write(server.folder("staff") + "/scratch.tmp", Array("excluded".utf8))
    try Self.protect(server, share: "staff")
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let plan = try Self.plan(f, server)
    var context = try f.context(plan)
    context.environment["SMB_PASS"] = Self.password
    let first = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(first.outcome == .success, "\(first.errors) \(first.jobs.map(\.errors))")

    let repo = try await f.open("onsite")
    try await repo.loadIndex()
    var snaps = try await repo.listSnapshots().snapshots
    let snap = try #require(snaps.last)
    #expect(snap.snapshot.paths == ["/smb/\(server.host)/staff"])
    #expect(snap.snapshot.summary?.totalFilesProcessed == files.count, "the excluded file is not stored; \(snap.snapshot.summary?.errors ?? [])")

    // The access lists and attributes are in the snapshot, and ls --long says them in words.
    var nodes: [String: Node] = [:]
    try await TreeWalker(repository: repo).walk(root: snap.snapshot.tree, visit: { p, n in
      nodes[PathBytes.display(p)] = n
      return true
    }, onError: { p, e in Issue.record("\(PathBytes.display(p)): \(e)") })
    let salaries = try #require(nodes["/smb/\(server.host)/staff/Policies/Salaries 2026.xlsx"])
    let descriptor = String(decoding: try #require(salaries.xattrs.first { $0.name == ExtendedAttribute.smbSecurityDescriptor }).value, as: UTF8.self)
    #expect(descriptor.contains("ACL:S-1-5-32-546:1/0/0x001f01ff"), "\(descriptor)")
    let words = try #require(SMBMetadata.describe(salaries))
    #expect(words.contains("deny BUILTIN\\Guests 0x001f01ff"), "\(words)")
    let handbookNode = try #require(nodes["/smb/\(server.host)/staff/Policies/handbook.txt"])
    let handbook = try #require(SMBMetadata.describe(handbookNode))
    #expect(handbook.contains("attributes hidden"), "\(handbook)")
    let policiesNode = try #require(nodes["/smb/\(server.host)/staff/Policies"])
    let policies = try #require(SMBMetadata.describe(policiesNode))
    #expect(policies.contains("allow BUILTIN\\Users 0x001200a9"), "\(policies)")
    #expect(nodes["/smb/\(server.host)/staff/scratch.tmp"] == nil)

    // Nothing changed: the next backup reads no file again.
    let second = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(second.outcome == .success, "\(second.errors)")
    snaps = try await repo.listSnapshots().snapshots
    let summary = try #require(snaps.last?.snapshot.summary)
    #expect(summary.filesUnmodified == files.count && summary.filesNew == 0 && summary.filesChanged == 0, "\(summary)")
    #expect(summary.dataAdded == 0)

    // Restored to a second share: smbclient sees the same entries, attributes, sizes, times
    // and access lists.
    let target = try SMBConnection(location: SMBLocation(url: server.url("restored", "")), username: SambaTestServer.user, password: Self.password)
    var tree = snap.snapshot.tree
    for name in ["smb", server.host, "staff"] {
      tree = try #require(try await repo.loadTree(tree).node(named: Array(name.utf8))?.subtree)
    }
    let restored = try await ShareRestorer(repository: repo, connection: target).restore(tree: tree)
    #expect(restored.errors.isEmpty, "\(restored.errors)")
    #expect(restored.files == files.count && restored.failedFiles == 0)
    let before = try Self.listing(server, "staff").filter { !$0.hasPrefix("FILENAME:scratch.tmp") }
    let after = try Self.listing(server, "restored")
    #expect(before.count == files.count + 4, "files and folders: \(before.count)")
    let differences = zip(before, after).filter { $0 != $1 }.map { pair in
      zip(pair.0.split(separator: "\n"), pair.1.split(separator: "\n")).filter { $0 != $1 }.map { "\($0) ≠ \($1)" }
    }
    #expect(before == after, "\(differences)")
    for (path, bytes) in files {
      #expect(FileManager.default.contents(atPath: server.folder("restored") + "/" + path).map { Array($0) } == bytes, "\(path)")
    }

    // And to a local folder: the files as they were; the Windows metadata is not set there.
    let local = f.dir.sub("local")
    let result = try await Restorer(repository: repo, options: RestoreOptions(target: local)).run(snapshot: snap.snapshot)
    #expect(result.errors.isEmpty, "\(result.errors)")
    for (path, bytes) in files {
      #expect(FileManager.default.contents(atPath: local + "/smb/\(server.host)/staff/" + path).map { Array($0) } == bytes, "\(path)")
    }
  }

  @Test func aShareThatGoesAwayDuringTheBackupFailsItAndStoresNothing() async throws {
    let server = try await SambaTestServer.start(shares: ["staff"])
    defer { server.remove() }
    var rng = SeededRandom(seed: 2202)
    for i in 0..<4 { try FixtureTree.write(server.folder("staff") + "/video-\(i).bin", rng.bytes(48 << 20)) }
    _ = try Subprocess.run(["chown", "-R", SambaTestServer.user, server.folder("staff")])
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let repo = try await f.open("onsite")
    try await repo.loadIndex()
    let connection = try SMBConnection(location: SMBLocation(url: server.url("staff")), username: SambaTestServer.user, password: Self.password)
    var options = BackupOptions(paths: [], hostname: "test")
    options.remotes = [SMBTree(connection: connection)]
    let archiver = Archiver(repository: repo, saver: BlobSaver(repository: repo), options: options)
    let backup = Task { try await archiver.run() }
    // The server goes away once the first bytes have been read. The watcher is patient: on a
    // busy machine the backup's task may start many seconds after it.
    let reading = try await offThePool { () -> Bool in
      for _ in 0..<300_000 {
        if archiver.progress.counters.bytesDone > 0 {
          server.stop()
          return true
        }
        usleep(1_000)
      }
      return false
    }
    #expect(reading, "the backup started reading the share")
    let failure = await #expect(throws: LifeboatError.self) { try await backup.value }
    #expect("\(failure.map { "\($0)" } ?? "")".contains("went away during the backup"), "\(String(describing: failure))")
    #expect(try await repo.listSnapshots().snapshots.isEmpty, "no snapshot was saved")
  }

  @Test func aWrongPasswordOrShareFailsTheJobAndNamesTheCause() async throws {
    let server = try await SambaTestServer.start(shares: ["staff"])
    defer { server.remove() }
    _ = try Self.seed(server, share: "staff")
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let plan = try Self.plan(f, server)
    var context = try f.context(plan)
    context.environment["SMB_PASS"] = "not the password"
    let refused = await SystemRunner(context: context, system: plan.systems[0]).run()
    #expect(refused.outcome == .failed)
    #expect(refused.errors.first?.contains("access denied") == true, "\(refused.errors)")

    let missing = try Self.plan(f, server, share: "nonesuch")
    context = try f.context(missing)
    context.environment["SMB_PASS"] = Self.password
    let none = await SystemRunner(context: context, system: missing.systems[0]).run()
    #expect(none.outcome == .failed)
    #expect(none.errors.first?.contains(server.url("nonesuch")) == true, "\(none.errors)")
    #expect(try await f.open("onsite").listSnapshots().snapshots.isEmpty)
  }
}
