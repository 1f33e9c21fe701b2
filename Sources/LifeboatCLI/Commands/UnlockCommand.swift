import ArgumentParser
import LifeboatCore
import LifeboatRepository

struct UnlockCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unlock",
    abstract: "Remove stale locks.",
    discussion: """
      A lock is stale when it was not refreshed for 30 minutes, or when it belongs to a process of this host that no longer runs. --remove-all also removes live locks: only use it when you are sure no other lifeboat process uses the repository.
      """)

  @OptionGroup var global: GlobalOptions

  @Flag(help: "Remove all locks, even live ones.")
  var removeAll = false

  struct Result: Encodable { var removed: [String] }

  func run() async throws {
    let repo = try await global.openRepository()
    let removed = try await repo.removeLocks(all: removeAll)
    global.output.line("removed \(removed.count) locks")
    try global.output.emit(Result(removed: removed))
  }
}
