import Foundation
import LifeboatTesting
import Testing

/// After a simulated attack the signals flag, the clean point survives every way of
/// forgetting (issue #20): `lifeboat forget --keep-last 1 --prune` with no plan, the same in the
/// plan's offsite copy, and after a `lifeboat copy` into a third repository — each says why.
/// (Plan retention: SignalTests; server retention: ServerMarksTests.)
@Suite struct AttackRetentionTests {
  static let words = ["minutes", "budget", "approved", "school", "board", "district", "meeting", "student", "report",
    "quarter", "library", "transport", "lunch", "policy", "teacher", "grant", "facility", "review"]

  static func writeText(_ root: String, files: Int, rng: inout SeededRandom) throws {
    for folder in 0..<6 { try FileManager.default.createDirectory(atPath: "\(root)/folder-\(folder)", withIntermediateDirectories: true) }
    for i in 0..<files {
      let text = (0..<400).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
      try FixtureTree.write("\(root)/folder-\(i % 6)/doc-\(i).txt", Array(text.utf8))
    }
  }

  @Test func theCleanPointSurvivesForgetWithoutAPlanAndInEveryCopy() async throws {
    let dir = TemporaryDirectory("lifeboat-attack")
    defer { dir.remove() }
    let src = dir.sub("share")
    var rng = SeededRandom(seed: 20)
    try Self.writeText(src, files: 120, rng: &rng)
    let plan = dir.sub("plan.yaml")
    try FixtureTree.write(
      plan,
      Array(
        """
        organization: Attack Drill
        repositories:
          onsite: { url: \(dir.sub("onsite")), password: "env:LB_PW" }
          offsite: { url: \(dir.sub("offsite")), password: "env:LB_PW", offsite: true }
        systems:
          - name: Share
            schedule: every 1h
            sources: [{ path: \(src) }]
            copies: [onsite, offsite]
            retention: { last: 10 }
        """.utf8))
    let env = ["LB_PW": "attack-password", "LIFEBOAT_PASSWORD": "attack-password", "LIFEBOAT_PLAN": plan]
    func lifeboat(_ args: [String], plan: Bool = true) async throws -> (code: Int32, output: String) {
      var e = env
      if !plan { e["LIFEBOAT_PLAN"] = "" }
      let r = try await CLIFixture.launch(args, environment: e, dir: dir)
      return (r.code, r.output)
    }
    for r in ["onsite", "offsite", "vault"] { #expect(try await lifeboat(["init", "-r", dir.sub(r)], plan: false).code == 0) }

    // Three ordinary runs, then the attack: a third of the files encrypted and renamed.
    for round in 0..<3 {
      if round > 0 { try FixtureTree.write("\(src)/folder-0/doc-\(round).txt", Array("minutes approved \(round)".utf8)) }
      let run = try await lifeboat(["run", "--all"])
      #expect(run.code == 0, "\(run.output)")
    }
    let files = try FileManager.default.subpathsOfDirectory(atPath: src).filter { $0.hasSuffix(".txt") }.sorted()
    for f in files where rng.next() % 3 == 0 {
      try FixtureTree.write("\(src)/\(f).locked", rng.bytes(3000))
      try FileManager.default.removeItem(atPath: "\(src)/\(f)")
    }
    let attacked = try await lifeboat(["run", "--all"])
    #expect(attacked.code == 0 && attacked.output.contains("snapshot"), "\(attacked.output)")

    // The repository itself now says which snapshot is suspicious and which is protected.
    let listed = try await lifeboat(["snapshots", "-r", dir.sub("onsite"), "--json"], plan: false)
    let snapshots = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]], "\(listed.output)")
    #expect(snapshots.count == 4)
    let suspicious = snapshots.filter { $0["suspicious"] is [String: Any] }.compactMap { $0["id"] as? String }
    let protected = snapshots.filter { $0["protected"] is [String: Any] }.compactMap { $0["id"] as? String }
    #expect(suspicious.count == 1 && suspicious.first == snapshots.last?["id"] as? String, "the attack's snapshot: \(listed.output)")
    #expect(protected.count == 1 && protected.first == snapshots[2]["id"] as? String, "the clean point: \(listed.output)")
    let clean = try #require(protected.first)
    let text = try await lifeboat(["snapshots", "-r", dir.sub("onsite")], plan: false).output
    #expect(text.contains("protected: the clean point before suspicious snapshot") && text.contains("SUSPICIOUS:"), "\(text)")

    // forget with no plan: the newest stays by the rule, the clean point by its mark.
    let forget = try await lifeboat(["forget", "-r", dir.sub("onsite"), "--keep-last", "1", "--prune"], plan: false)
    #expect(forget.code == 0, "\(forget.output)")
    #expect(forget.output.contains("\(clean.prefix(8))") && forget.output.contains("protected (the clean point before suspicious snapshot"),
      "\(forget.output)")
    #expect(try await Self.ids(lifeboat, dir.sub("onsite")) == [clean, suspicious[0]])

    // The plan's offsite copy received the snapshots and their marks in the same run.
    let offsite = try await lifeboat(["forget", "-r", dir.sub("offsite"), "--keep-last", "1"], plan: false)
    #expect(offsite.code == 0 && offsite.output.contains("protected (the clean point"), "\(offsite.output)")
    #expect(try await Self.ids(lifeboat, dir.sub("offsite")).count == 2)

    // A copy made by hand carries them too.
    let copy = try await lifeboat(["copy", "-r", dir.sub("vault"), "--from-repo", dir.sub("onsite"), "--from-password-file", Self.passwordFile(dir)], plan: false)
    #expect(copy.code == 0 && copy.output.contains("mark(s)"), "\(copy.output)")
    let vault = try await lifeboat(["forget", "-r", dir.sub("vault"), "--keep-last", "1", "--dry-run"], plan: false)
    #expect(vault.output.contains("protected (the clean point") && vault.output.contains("1 would be removed") == false, "\(vault.output)")

    // Lifting the protection needs `unprotect`; the clean point is then still kept while the
    // suspicious snapshot exists (it is derived from the suspicion), and says so.
    let vaultIDs = try await Self.ids(lifeboat, dir.sub("vault"))
    let lifted = try await lifeboat(["unprotect", vaultIDs[0], "-r", dir.sub("vault")], plan: false)
    #expect(lifted.code == 0, "\(lifted.output)")
    let again = try await lifeboat(["unprotect", vaultIDs[0], "-r", dir.sub("vault")], plan: false)
    #expect(again.code == 1 && again.output.contains("is not protected"), "\(again.output)")
    let after = try await lifeboat(["forget", "-r", dir.sub("vault"), "--keep-last", "1", "--dry-run"], plan: false)
    #expect(after.output.contains("the clean point before suspicious snapshot") && !after.output.contains("protected ("), "\(after.output)")

    // Bad input: an unknown snapshot, an end date in the past; nothing is written.
    let unknown = try await lifeboat(["protect", "ffffffff", "--reason", "x", "-r", dir.sub("vault")], plan: false)
    #expect(unknown.code == 1 && unknown.output.contains("no snapshot ffffffff"), "\(unknown.output)")
    let past = try await lifeboat(["protect", "latest", "--reason", "x", "--until", "2001-01-01", "-r", dir.sub("vault")], plan: false)
    #expect(past.code == 1 && past.output.contains("in the past"), "\(past.output)")
    let marks = try FileManager.default.contentsOfDirectory(atPath: dir.sub("vault/marks")).filter { !$0.hasPrefix(".") }
    #expect(marks.count == 3, "suspicious, protect (copied) and the release: \(marks)")
  }

  static func ids(_ lifeboat: ([String], Bool) async throws -> (code: Int32, output: String), _ repo: String) async throws -> [String] {
    let out = try await lifeboat(["snapshots", "-r", repo, "--json"], false).output
    let list = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]], "\(out)")
    return list.compactMap { $0["id"] as? String }
  }

  static func passwordFile(_ dir: TemporaryDirectory) throws -> String {
    let p = dir.sub("from-password")
    try FixtureTree.write(p, Array("attack-password".utf8))
    return p
  }
}
