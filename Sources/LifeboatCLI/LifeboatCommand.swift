import ArgumentParser

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

      Exit codes: 0 ok · 1 error · 3 backup done but some sources unreadable · 10 no repository · 11 lock failed · 12 wrong password · 130 interrupted.
      """,
    version: "0.1.0",
    subcommands: [
      InitCommand.self, BackupCommand.self, SnapshotsCommand.self, LsCommand.self,
      RestoreCommand.self, DiffCommand.self, FindCommand.self, CheckCommand.self,
      ForgetCommand.self, ProtectCommand.self, UnprotectCommand.self, PruneCommand.self, StatsCommand.self, UnlockCommand.self,
      CopyCommand.self, KeyCommand.self, RepairCommand.self, MaintenanceCommand.self,
      PlanCommand.self, RunCommand.self, StatusCommand.self, AuditCommand.self, AgentCommand.self,
      DrillCommand.self, RunbookCommand.self, ReportCommand.self, AssessCommand.self, DemoCommand.self,
      ServeCommand.self, PushCommand.self,
    ])
}
