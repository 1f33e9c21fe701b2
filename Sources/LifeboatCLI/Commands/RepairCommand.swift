import ArgumentParser
import LifeboatCore
import LifeboatEngine
import LifeboatRepository

struct RepairCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Repair repository metadata.",
    subcommands: [RepairIndex.self, RepairConfig.self])

  struct RepairConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config",
      abstract: "Write a damaged or missing config back from the copy kept in the key files.",
      discussion: """
        Every key file written by this version keeps an authenticated copy of the repository's config. When `config` is damaged or missing, Lifeboat opens the repository with that copy (and says so); this command writes it back as `config`. Holds the exclusive lock. On an append-only server the config cannot be replaced: the provider restores it.
        """)
    @OptionGroup var global: GlobalOptions

    func run() async throws {
      let repo = try await global.openRepository()
      let repaired = try await global.withLock(repo, exclusive: true, command: "repair config") { _ in
        try await repo.repairConfig()
      }
      global.output.line(repaired ? "wrote the config back from key file \(repo.keyID.prefix(8))" : "the config is intact: nothing to do")
      global.audit("repair-config", subject: "config", details: ["repaired": String(repaired), "key": String(repo.keyID.prefix(16))])
    }
  }

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
