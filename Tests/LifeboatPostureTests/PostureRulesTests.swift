import Foundation
import LifeboatCatalog
import LifeboatPlan
import LifeboatPosture
import LifeboatTesting
import Testing

/// The rules of the posture: one light per reason, the table in docs/posture.md, and the facts
/// an older catalog kept only as text.
@Suite struct PostureRulesTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The table in docs/posture.md is the `Reason` enum, written out: every rule, its area and
  /// its light. Regenerate with LIFEBOAT_UPDATE_GOLDEN=1 after changing a rule.
  @Test func theDocumentedTableIsTheCode() throws {
    var table = "| Area | Reason | Light | When | Recommended action (due in 7 days when red, 30 when amber) |\n|---|---|---|---|---|\n"
    for area in Area.allCases {
      for r in Reason.allCases where r.area == area {
        table += "| \(area.rawValue) | `\(r.rawValue)` | \(r.light.rawValue) | \(r.rule) | \(r.action.replacingOccurrences(of: "|", with: "\\|")) |\n"
      }
    }
    let path = Self.root.appendingPathComponent("docs/posture.md").path
    var doc = try String(contentsOfFile: path, encoding: .utf8)
    let begin = "<!-- posture-table:begin -->\n"
    let end = "<!-- posture-table:end -->"
    let a = try #require(doc.range(of: begin), "docs/posture.md has the table markers")
    let b = try #require(doc.range(of: end))
    if ProcessInfo.processInfo.environment["LIFEBOAT_UPDATE_GOLDEN"] == "1" {
      doc.replaceSubrange(a.upperBound..<b.lowerBound, with: table)
      try doc.write(toFile: path, atomically: true, encoding: .utf8)
    }
    #expect(String(doc[a.upperBound..<b.lowerBound]) == table, "docs/posture.md's table differs from `Reason`")
  }

  @Test func lightsAreOrderedAndEveryAreaHasAGreenRule() {
    #expect(Light.green < .amber && .amber < .red)
    #expect([Light.amber, .red, .green].max() == .red)
    for area in [Area.backups, .recovery, .copies, .integrity] {
      #expect(Reason.allCases.contains { $0.area == area && $0.light == .green }, "\(area) can be green")
      #expect(Reason.allCases.contains { $0.area == area && $0.light == .red }, "\(area) can be red")
    }
  }

  /// A drill or backup recorded by an older version keeps its verdict and signals only in
  /// `details`; the catalog's migration and an agent's report lift them into typed facts.
  @Test func factsKeptAsTextBecomeTypedFacts() throws {
    let json = #"""
      {"kind":"drill","system":"EHR","started":"2026-12-01T10:00:00.000Z","outcome":"success",
       "details":"{\"verdict\":\"passed-over-rto\",\"recoverySeconds\":5400}"}
      """#
    let drill = try JSONDecoder.drill.decode(JobRecord.self, from: Data(json.utf8))
    #expect(drill.verdict == .passedOverRTO && drill.recoverySeconds == 5400)
    let backup = try JSONDecoder.drill.decode(
      JobRecord.self,
      from: Data(#"{"kind":"backup","system":"EHR","started":"2026-12-01T10:00:00.000Z","outcome":"success","details":"{\"suspicious\":true}"}"#.utf8))
    #expect(backup.suspicious)
    let typed = try JSONDecoder.drill.decode(
      JobRecord.self,
      from: Data(#"{"kind":"drill","system":"EHR","started":"2026-12-01T10:00:00.000Z","outcome":"failed","verdict":"failed","details":"{\"verdict\":\"passed\"}"}"#.utf8))
    #expect(typed.verdict == .failed, "a typed verdict wins over text")

    // Through the catalog: what is finished comes back typed.
    let dir = TemporaryDirectory("lifeboat-posture")
    defer { dir.remove() }
    let catalog = try Catalog(path: dir.sub("catalog.db"))
    var j = drill
    j.id = try catalog.start(j)
    try catalog.finish(j)
    let back = try #require(try catalog.jobs(kind: "drill").first)
    #expect(back.verdict == .passedOverRTO && back.recoverySeconds == 5400)
  }
}

/// The RPO state the status command prints is the backups light, by the one rule.
@Suite struct RPOStateTests {
  @Test func rpoStatesFollowTheBackupsLight() {
    func state(_ age: TimeInterval?, failed: Bool = false) -> RPOState {
      Posture.rpoState(rpo: 3600, age: age, lastAttemptFailed: failed)
    }
    #expect(state(nil) == .breached)
    #expect(state(600) == .ok)
    #expect(state(600, failed: true) == .atRisk)
    #expect(state(2800) == .atRisk)
    #expect(state(3601) == .breached)
  }

  /// An immutable repository's locks falling short: keeping them failed (amber), data in use
  /// whose lock already ended (red) or ends within a quarter of the lock period (amber);
  /// nothing when the locks reach further.
  @Test func locksFallingShortAlertByHowShort() throws {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let failed = try #require(AlertCondition.locks(repository: "vault", days: 30, lastFailure: "AccessDenied", earliestUntil: nil, now: now))
    #expect(failed.severity == .amber && failed.key == "locks/vault" && failed.message.contains("AccessDenied"))
    let gone = try #require(AlertCondition.locks(repository: "vault", days: 30, lastFailure: nil, earliestUntil: now.addingTimeInterval(-60), now: now))
    #expect(gone.severity == .red && gone.message.contains("can be deleted"))
    let soon = try #require(AlertCondition.locks(repository: "vault", days: 30, lastFailure: nil, earliestUntil: now.addingTimeInterval(5 * 86400), now: now))
    #expect(soon.severity == .amber && soon.reason == "locks-falling-short")
    #expect(AlertCondition.locks(repository: "vault", days: 30, lastFailure: nil, earliestUntil: now.addingTimeInterval(8 * 86400), now: now) == nil)
    #expect(AlertCondition.locks(repository: "vault", days: 30, lastFailure: nil, earliestUntil: nil, now: now) == nil)
  }
}
