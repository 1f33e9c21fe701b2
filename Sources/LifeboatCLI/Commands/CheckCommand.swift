import ArgumentParser
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

struct CheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Verify the repository's structure and, optionally, its data.",
    discussion: """
      Without options, checks that every index file opens, every indexed pack exists, and every snapshot's trees and blobs are present. --read-data also reads every pack and authenticates every blob (the only way to find bit rot); --read-data-subset 10% reads a random tenth, so a full pass over a large repository can be spread over several runs.

      Damage is reported per pack, with the snapshots and files it affects. Exit code 1 when anything is damaged.
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "Read and authenticate all data.")
  var readData = false

  @Option(help: "Read a random subset of packs, e.g. 10% .")
  var readDataSubset: String?

  func validate() throws {
    if readData && readDataSubset != nil {
      throw ValidationError("use either --read-data or --read-data-subset")
    }
    if let s = readDataSubset {
      guard let v = Double(s.hasSuffix("%") ? String(s.dropLast()) : s), v > 0, v <= 100 else {
        throw ValidationError("--read-data-subset takes a percentage between 0 and 100, e.g. 10%")
      }
    }
  }

  func run() async throws {
    let repo = try await global.openRepository()
    let out = global.output
    var options = CheckOptions()
    if readData { options.readData = .all }
    if let s = readDataSubset {
      options.readData = .subset(percent: Double(s.hasSuffix("%") ? String(s.dropLast()) : s)!)
    }
    let report = try await global.withLock(repo, exclusive: false, command: "check") { _ in
      try await repo.loadIndex()
      let checker = Checker(repository: repo, options: options)
      return try await out.withProgress(checker.progress) { try await checker.run() }
    }
    for n in report.notes { out.line("note: \(n.object): \(n.detail)") }
    for e in report.errors { out.line("error: \(e.object): \(e.detail)") }
    if !report.affected.isEmpty {
      out.line("affected by the damage:")
      for a in report.affected { out.line("  snapshot \(a.snapshot.prefix(8)): \(a.path)") }
    }
    out.line(
      "checked \(report.snapshots) snapshots, \(report.trees) trees, \(report.blobs) blobs, "
        + "\(report.packs) packs" + (report.packsRead > 0 ? " (\(report.packsRead) read in full)" : ""))
    out.line(report.isClean ? "no errors were found" : "\(report.errors.count) errors were found")
    try out.emit(report)
    if !report.isClean { throw PartialSuccess(code: ExitStatus.fatal) }
  }
}
