import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatFormat

/// `lifeboat` — the root command.
struct LifeboatCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lifeboat",
    abstract: "Backups you can restore, and proof that you can.",
    discussion: """
      Lifeboat keeps deduplicated, compressed and encrypted snapshots in a repository.

      Start with:
        export LIFEBOAT_REPOSITORY=/srv/lifeboat
        export LIFEBOAT_PASSWORD_FILE=/etc/lifeboat/password
        lifeboat init
        lifeboat backup /home /etc
        lifeboat snapshots
        lifeboat restore latest --target /tmp/restore --verify
        lifeboat check --read-data

      With a protection plan (docs/examples/plan.yaml):
        lifeboat plan check --plan plan.yaml
        lifeboat plan init --plan plan.yaml
        lifeboat run --all --plan plan.yaml
        lifeboat status --plan plan.yaml

      What this machine remembers about repositories — which key opened each, when each pack
      was last verified, and the index of large repositories (100,000 blobs or more) as a file
      read in place — is kept in $LIFEBOAT_CACHE_DIR, else ~/.cache/lifeboat. All of it is
      sealed with the repository's key and rebuilt when missing or stale; LIFEBOAT_CACHE_DIR=off
      keeps none.

      Exit codes: 0 ok · 1 error · 3 backup done but some sources unreadable · 10 no repository · 11 lock failed · 12 wrong password · 130 interrupted.
      """,
    version: LifeboatVersion.string,
    // `version` sits outside the groups, beside `help`.
    subcommands: [VersionCommand.self],
    groupedSubcommands: [
      CommandGroup(
        name: "Repository",
        subcommands: [
          InitCommand.self, BackupCommand.self, SnapshotsCommand.self, LsCommand.self,
          RestoreCommand.self, DiffCommand.self, FindCommand.self, TagCommand.self, CatCommand.self,
          CheckCommand.self, ForgetCommand.self, ProtectCommand.self, UnprotectCommand.self,
          PruneCommand.self, StatsCommand.self, UnlockCommand.self, CopyCommand.self, KeyCommand.self,
          RepairCommand.self, MaintenanceCommand.self,
        ]),
      CommandGroup(
        name: "Plans and proof",
        subcommands: [
          PlanCommand.self, RunCommand.self, StatusCommand.self, AlertsCommand.self, DrillCommand.self, RunbookCommand.self,
          ReportCommand.self, AssessCommand.self, AuditCommand.self, AgentCommand.self, DemoCommand.self,
        ]),
      CommandGroup(name: "Server", subcommands: [ServeCommand.self, PushCommand.self]),
    ])
}

/// `lifeboat version`: what is running, for bug reports and evidence.
struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print the version, the platform and the repository format it writes.")

  @Flag(help: "Print machine-readable JSON.") var json = false

  struct Result: Encodable {
    var version: String
    var platform: String
    var repository_format: Int
  }

  func run() throws {
    var u = utsname()
    uname(&u)
    let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let r = Result(version: LifeboatVersion.number, platform: "linux/\(machine)", repository_format: RepositoryConfig.currentVersion)
    let out = Output(json: json, quiet: false)
    out.line("\(LifeboatVersion.string) on \(r.platform), repository format \(r.repository_format)")
    try out.emit(r)
  }
}

/// Mistyped command names: "unknown command 'bakup'. Did you mean 'backup'?" — for the root, for
/// groups such as `plan` and `key`, and for `help NAME`.
enum CommandSpelling {
  /// The message for the first word of `arguments` that names no command where one is expected,
  /// or nil when the words are fine (or are arguments of a command, not command names).
  static func unknownCommand(in arguments: [String]) -> String? {
    var command: any ParsableCommand.Type = LifeboatCommand.self
    var path = ["lifeboat"]
    var words = arguments[...]
    if words.first == "help" { words = words.dropFirst() }
    for word in words {
      if word.hasPrefix("-") { return nil }
      let subcommands = command.configuration.subcommands
      guard !subcommands.isEmpty, command.configuration.defaultSubcommand == nil else { return nil }
      if let next = subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) {
        command = next
        path.append(word)
        continue
      }
      let names = subcommands.map { $0._commandName } + (path.count == 1 ? ["help"] : [])
      let suggestion = Spelling.closest(word, in: names).map { " Did you mean '\($0)'?" } ?? ""
      let here = path.joined(separator: " ")
      return "\(here): unknown command '\(word)'.\(suggestion) See '\(here) --help' for the commands."
    }
    return nil
  }
}

/// The command tree, for tools and tests: every command's path, `lifeboat`, `lifeboat plan`,
/// `lifeboat plan init`, … (`help` aside).
public enum LifeboatCommands {
  public static var paths: [[String]] {
    func walk(_ command: any ParsableCommand.Type, _ path: [String]) -> [[String]] {
      [path] + command.configuration.subcommands.flatMap { walk($0, path + [$0._commandName]) }
    }
    return walk(LifeboatCommand.self, ["lifeboat"])
  }
}
