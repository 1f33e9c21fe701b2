import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatEngine
import LifeboatOps
import LifeboatPlan
import LifeboatPosture
import LifeboatRepository
import LifeboatTesting
import Testing

@Suite struct SignalTests {
  @Test func thresholdsArePureFunctionsOfTheCounts() {
    var s = BackupSignals(snapshotTime: Date())
    s.baseFiles = 100
    s.modified = 30
    s.changedShare = 0.3
    s.newDataBytes = 10 << 20
    s.newDataRatio = 0.35
    s.evaluate()
    #expect(!s.suspicious, "many edits of compressible data are ordinary work")
    s.newDataRatio = 0.99
    s.evaluate()
    #expect(s.suspicious && s.reasons.contains { $0.contains("does not compress") })
    s.baselineShare = 0.1
    s.evaluate()
    #expect(!s.suspicious, "a system that usually changes 10% needs 50% before it is flagged")
    var note = BackupSignals(snapshotTime: Date())
    note.ransomNotes = ["/srv/HOW_TO_DECRYPT.txt"]
    note.evaluate()
    #expect(note.suspicious)
    #expect(BackupSignals.isRansomNote("README_FOR_DECRYPT.html") && !BackupSignals.isRansomNote("README.md"))
  }

  /// A compressible tree of text files, like documents and records.
  static func writeTextTree(_ root: String, files: Int, seed: UInt64, prefix: String = "doc") throws {
    var rng = SeededRandom(seed: seed)
    let words = ["student", "grade", "attendance", "invoice", "budget", "meeting", "policy", "record", "district", "lesson"]
    for i in 0..<files {
      let dir = root + "/dept\(i % 5)"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      var text = ""
      for _ in 0..<(200 + Int(rng.next() % 800)) { text += words[Int(rng.next() % UInt64(words.count))] + " " }
      try FixtureTree.write(dir + "/\(prefix)\(i).txt", Array(text.utf8))
    }
  }

  static func textFiles(_ root: String) -> [String] {
    (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".txt") }.sorted()
      .map { root + "/" + $0 }
  }

  @Test func anAttackIsFlaggedOrdinaryWorkIsNotAndTheCleanPointSurvivesRetention() async throws {
    let f = try await OpsFixture(repositories: ["onsite"])
    defer { f.remove() }
    let src = f.dir.sub("share")
    try Self.writeTextTree(src, files: 120, seed: 1)
    let plan = try f.writePlan(
      """
        - name: File share
          rto: 1h
          sources: [{ path: \(src) }]
          retention: { last: 1 }
          hooks:
            on_alert: "echo \\"$LIFEBOAT_REASONS\\" > \(f.dir.sub("alert"))"
      """, repositories: ["onsite"])
    let context = try f.context(plan)
    let system = plan.systems[0]
    func backup() async throws -> BackupSignals {
      let r = await SystemRunner(context: context, system: system).run()
      #expect(r.outcome == .success, "\(r.errors)")
      let job = try #require(try context.catalog.jobs(system: system.name, kind: "backup").first)
      return try JSONDecoder.drill.decode(BackupSignals.self, from: Data(try #require(job.details).utf8))
    }
    #expect(try await backup().suspicious == false, "first backup")

    // Ordinary edits: a few files changed, a few added, one removed.
    var rng = SeededRandom(seed: 2)
    let files = Self.textFiles(src)
    for p in files.prefix(6) {
      try FixtureTree.write(p, Array((try String(contentsOfFile: p, encoding: .utf8) + " minutes approved").utf8))
    }
    try FileManager.default.removeItem(atPath: files[10])
    try Self.writeTextTree(src + "/new", files: 3, seed: 3)
    let edits = try await backup()
    #expect(!edits.suspicious, "\(edits.reasons)")
    #expect(edits.modified == 6 && edits.removed == 1 && edits.added == 3)

    // A large legitimate new dataset that compresses normally.
    try Self.writeTextTree(src + "/archive-2025", files: 300, seed: 4, prefix: "report")
    let bulk = try await backup()
    #expect(!bulk.suspicious, "\(bulk.reasons)")
    #expect(bulk.added == 300 && bulk.newDataRatio < 0.6)
    let cleanTime = try #require(try await f.open("onsite").listSnapshots().snapshots.map(\.snapshot.time).max())

    // The attack: 30% of the files encrypted (random bytes) and renamed, no ransom note.
    let all = Self.textFiles(src)
    let victims = all.filter { _ in rng.next() % 10 < 3 }
    for p in victims {
      let size = (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 1000
      try FixtureTree.write(p + ".locked", rng.bytes(size + 16))
      try FileManager.default.removeItem(atPath: p)
    }
    let attack = try await backup()
    #expect(attack.suspicious, "\(attack)")
    #expect(attack.reasons.contains { $0.contains("does not compress") }, "\(attack.reasons)")
    #expect(attack.renamed >= victims.count * 9 / 10)
    #expect(attack.newExtension == "locked")
    #expect((try? String(contentsOfFile: f.dir.sub("alert"), encoding: .utf8))?.contains("changed or vanished") == true)
    #expect(try context.catalog.auditEvents().contains { $0.kind == "suspicious" && $0.subject == system.name })

    // Retention keeps the last clean snapshot despite keep-last 1; restore --clean picks it.
    let left = try await f.open("onsite").listSnapshots().snapshots
    #expect(left.count == 2, "the newest, and the clean point before the suspicious one")
    #expect(left.contains { $0.snapshot.time == cleanTime })
    // The repository itself records it: the attack's snapshot is marked suspicious and the
    // clean point protected, so `forget` without a plan and every copy keep it too.
    let marks = try await f.open("onsite").loadMarks()
    let cleanID = try #require(left.first { $0.snapshot.time == cleanTime }?.id)
    let attackID = try #require(left.first { $0.snapshot.time != cleanTime }?.id)
    #expect(marks.protection(of: cleanID, now: Date.distantPast)?.reason.contains("the clean point before suspicious snapshot") == true)
    #expect(marks.suspicion(of: attackID)?.reason.contains("does not compress") == true)
    let mine = left.sorted { $0.snapshot.time < $1.snapshot.time }
    let choice = try CleanPoint.choose(mine, system: system.name, marks: marks)
    #expect(choice.id == cleanID)
    #expect(choice.snapshot.time == cleanTime, "\(choice.reason)")
    #expect(choice.reason.contains("first flagged suspicious"))

    // A drill of the clean point restores the unencrypted files.
    var drill = DrillRunner(context: context, system: system)
    drill.clean = true
    let report = await drill.run()
    #expect(report.verdict == .passed, "\(report.reasons)")
    #expect(report.selection.contains("first flagged suspicious"))
    #expect(report.files == all.count)

    // A repository whose marks are missing (flagged by a version before marks): the next run
    // marks the flagged snapshot and its clean point from the catalog before retention.
    let marksDir = f.dir.sub("onsite/marks")
    for name in try FileManager.default.contentsOfDirectory(atPath: marksDir) { try FileManager.default.removeItem(atPath: marksDir + "/" + name) }
    #expect(try await f.open("onsite").loadMarks().marks.isEmpty)
    let quiet = try await backup()
    #expect(!quiet.suspicious)
    let after = try await f.open("onsite")
    let remarked = try await after.loadMarks()
    #expect(remarked.protection(of: cleanID, now: Date.distantPast) != nil, "the clean point is protected again")
    #expect(try await after.listSnapshots().snapshots.contains { $0.id == cleanID }, "and retention kept it")
  }
}
