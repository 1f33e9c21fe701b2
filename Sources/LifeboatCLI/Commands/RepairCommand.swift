import ArgumentParser
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

struct RepairCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Repair repository metadata.",
    subcommands: [RepairIndex.self])

  struct RepairIndex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "index",
      abstract: "Rebuild the index from the pack headers.",
      discussion: """
        Reads and authenticates the header of every pack and writes new index files for all of them, replacing the old ones. Use it when `check` reports damaged or missing index files, or packs that no index names. Holds the exclusive lock; safe to interrupt (the old index stays in force until the new one is complete).
        """)
    @OptionGroup var global: GlobalOptions

    func run() async throws {
      let repo = try await global.openRepository()
      let report = try await global.withLock(repo, exclusive: true, command: "repair index") { _ in
        try await IndexRepair(repository: repo).run()
      }
      let out = global.output
      for p in report.unreadablePacks { out.warn("pack \(p): header cannot be read; its blobs stay unreachable") }
      out.line("indexed \(report.blobs) blobs in \(report.packs) packs; replaced \(report.indexFilesReplaced) index files with \(report.indexFilesWritten)")
      try out.emit(report)
      if !report.unreadablePacks.isEmpty { throw PartialSuccess(code: ExitStatus.fatal) }
    }
  }
}
