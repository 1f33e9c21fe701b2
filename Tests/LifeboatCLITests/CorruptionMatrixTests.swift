import Foundation
import LifeboatCLI
import LifeboatCore
import LifeboatTesting
import Testing

/// The corruption matrix of docs/design.md §13 (issue #19): each object kind, damaged each way,
/// with what `check --read-data` and `restore` then do and say, and what is lost. The table in
/// the design document is checked against what the binary does; when they differ the test
/// fails and writes the table it observed to test-artifacts/corruption-matrix.md.
@Suite(.serialized) struct CorruptionMatrixTests {
  enum Damage: String, CaseIterable, Sendable {
    case flip = "one bit flipped", truncate = "truncated to half", delete = "deleted", garbage = "garbage written"
  }

  struct Case: Sendable {
    var object: String
    var damage: Damage
    /// The files to damage, from the repository's root.
    var files: @Sendable (String) throws -> [String]
  }

  static func objects(_ repo: String, _ dir: String) throws -> [String] {
    try FileManager.default.subpathsOfDirectory(atPath: repo + "/" + dir)
      .filter { $0.split(separator: "/").last.map { $0.count == 64 } == true }.sorted().map { repo + "/" + dir + "/" + $0 }
  }

  static func bySize(_ repo: String) throws -> [String] {
    try objects(repo, "data").sorted {
      ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0, $0)
        < ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0, $1)
    }
  }

  static let cases: [Case] = {
    var out: [Case] = []
    for d in [Damage.flip, .delete] { out.append(Case(object: "config", damage: d) { [$0 + "/config"] }) }
    for d in [Damage.flip, .delete] { out.append(Case(object: "key file (the only one)", damage: d) { try objects($0, "keys") }) }
    for d in [Damage.flip, .delete] { out.append(Case(object: "snapshot", damage: d) { try objects($0, "snapshots") }) }
    for d in Damage.allCases { out.append(Case(object: "index file", damage: d) { try objects($0, "index") }) }
    // Data and trees are in packs of their own; each tree pack is stored twice (a mirror).
    // The data pack is the largest; the tree pack and its mirror are the two smallest, of one size.
    for d in Damage.allCases { out.append(Case(object: "pack of data", damage: d) { try bySize($0).suffix(1) }) }
    for d in Damage.allCases { out.append(Case(object: "pack of trees (one copy)", damage: d) { try Array(bySize($0).prefix(1)) }) }
    out.append(Case(object: "pack of trees (both copies)", damage: .flip) { try Array(bySize($0).prefix(2)) })
    out.append(Case(object: "lock file", damage: .garbage) { _ in [] })
    return out
  }()

  /// The repository of one case: one snapshot of three small files, so each kind of object
  /// exists once and every outcome is the same on every run.
  static func damage(_ c: Case, _ f: CLIFixture, _ src: String) throws {
    let files = try c.files(f.repo)
    if c.object.hasPrefix("lock") {
      let garbage = Array("not a lock".utf8)
      try FixtureTree.write(f.repo + "/locks/" + String(repeating: "0", count: 64), garbage)
      return
    }
    guard !files.isEmpty else { throw CLIServerFailure(message: "\(c.object): nothing to damage") }
    for path in files {
      var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
      chmod(path, 0o600)
      switch c.damage {
      case .flip: bytes[bytes.count / 4] ^= 0x10
      case .truncate: bytes = Array(bytes.prefix(bytes.count / 2))
      case .delete: try FileManager.default.removeItem(atPath: path); continue
      case .garbage: bytes = Array("garbage".utf8)
      }
      try FileManager.default.removeItem(atPath: path)
      try FixtureTree.write(path, bytes)
    }
  }

  /// The first error or warning line, without IDs, paths and numbers that change per run.
  static func firstProblem(_ output: String, _ f: CLIFixture) -> String {
    let lines = output.split(separator: "\n").map(String.init)
    guard let at = lines.firstIndex(where: { $0.hasPrefix("error:") || $0.hasPrefix("warning:") }) else { return "—" }
    var line = lines[at]
    if at + 1 < lines.count, lines[at + 1].trimmingCharacters(in: .whitespaces).hasPrefix("hint:") {
      line += " — " + lines[at + 1].trimmingCharacters(in: .whitespaces)
    }
    var s = line.replacingOccurrences(of: f.dir.path, with: "…")
    s = s.replacingOccurrences(of: #"[0-9a-f]{8,64}"#, with: "ID", options: .regularExpression)
    s = s.replacingOccurrences(of: #"\([^)]*\)"#, with: "", options: .regularExpression)
    s = s.replacingOccurrences(of: #"file[0-9]"#, with: "fileN", options: .regularExpression)
    s = s.replacingOccurrences(of: #"[0-9]{3,}"#, with: "N", options: .regularExpression)
    s = s.replacingOccurrences(of: "|", with: "/").replacingOccurrences(of: "  ", with: " ")
    return s.count > 200 ? String(s.prefix(197)) + "…" : s
  }

  /// The cases spawn about sixty processes and wait for each. They run on a Dispatch thread:
  /// blocking the two threads of Swift's cooperative pool starved in-process servers of other
  /// tests (a dashboard test timed out).
  @Test func theCorruptionMatrixInTheDesignDocumentIsWhatHappens() async throws {
    let rows = try await offThePool { try Self.observe() }
    try Self.compare(rows)
  }

  static func observe() throws -> [String] {
    var rows: [String] = []
    for c in Self.cases {
      let f = try CLIFixture()
      defer { f.remove() }
      let src = f.dir.sub("src")
      try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
      var rng = SeededRandom(seed: 77)
      for i in 0..<3 { try FixtureTree.write(src + "/file\(i)", rng.bytes(20_000)) }
      guard try f.runAndWait(["init", "--kdf", "pbkdf2"]).code == 0, try f.runAndWait(["backup", src]).code == 0 else {
        throw CLIServerFailure(message: "\(c.object): init or backup failed")
      }
      try Self.damage(c, f, src)
      let check = try f.runAndWait(["check", "--read-data"])
      let target = f.dir.sub("restored")
      let restore = try f.runAndWait(["restore", "latest", "--target", target])
      let restored = (0..<3).filter { i in
        FileManager.default.contents(atPath: target + src + "/file\(i)") == FileManager.default.contents(atPath: src + "/file\(i)")
      }.count
      let lost = restored == 3 ? "nothing" : "\(3 - restored) of 3 files"
      let said = restore.code == 0 ? Self.firstProblem(check.output, f) : Self.firstProblem(restore.output, f)
      rows.append("| \(c.object) | \(c.damage.rawValue) | \(check.code) | \(restore.code) | \(lost) | \(said) |")
    }
    return rows
  }

  static func compare(_ rows: [String]) throws {
    let table = (["| object | damage | `check --read-data` exit | `restore` exit | lost | what the user is told |",
      "|---|---|---|---|---|---|"] + rows).joined(separator: "\n")
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let design = try String(contentsOf: root.appendingPathComponent("docs/design.md"), encoding: .utf8)
    let documented = design.components(separatedBy: "<!-- corruption-matrix:begin -->").dropFirst().first?
      .components(separatedBy: "<!-- corruption-matrix:end -->").first?.trimmingCharacters(in: .whitespacesAndNewlines)
    if documented != table {
      let out = root.appendingPathComponent("test-artifacts/corruption-matrix.md")
      try? FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
      try? table.write(to: out, atomically: true, encoding: .utf8)
      Issue.record("docs/design.md's corruption matrix differs from what happens; observed table in \(out.path):\n\(table)")
    }
  }
}
