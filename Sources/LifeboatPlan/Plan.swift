// The protection plan: what an organization protects, how often, how long, where, and what a
// recovery must achieve. Loaded from YAML by PlanLoader; every effective value of a system
// records where it came from (the plan's line, the tier default, or the built-in default).

public import Foundation
public import LifeboatPolicy
public import struct LifeboatCore.Snapshot
public import enum LifeboatCore.CompressionMode

/// Where a value came from, for `plan show` and for messages.
public enum Provenance: Sendable, Equatable, Codable, CustomStringConvertible {
  /// Written in the plan, at this line.
  case plan(line: Int)
  /// The tier's default (built in, or overridden in the plan's `tiers:` at this line).
  case tier(String, line: Int?)
  /// Lifeboat's default for every system.
  case builtIn

  public var description: String {
    switch self {
    case .plan(let line): "plan line \(line)"
    case .tier(let t, let line?): "tier \(t) (plan line \(line))"
    case .tier(let t, nil): "tier \(t) default"
    case .builtIn: "built-in default"
    }
  }
}

/// A value with its origin.
public struct Sourced<Value: Sendable & Equatable>: Sendable, Equatable {
  public var value: Value
  public var source: Provenance

  public init(_ value: Value, _ source: Provenance) {
    self.value = value
    self.source = source
  }
}

public enum Tier: String, Sendable, Codable, CaseIterable {
  case critical, important, archival
}

/// A reference to a secret: never the secret itself.
public enum SecretReference: Sendable, Equatable, CustomStringConvertible {
  case environment(String)
  case file(String)

  public init?(_ text: String) {
    if text.hasPrefix("env:"), text.count > 4 {
      self = .environment(String(text.dropFirst(4)))
    } else if text.hasPrefix("file:"), text.count > 5 {
      self = .file(String(text.dropFirst(5)))
    } else {
      return nil
    }
  }

  public var description: String {
    switch self {
    case .environment(let n): "env:\(n)"
    case .file(let p): "file:\(p)"
    }
  }

  /// Reads the secret; the error names the reference, never a value.
  public func resolve(environment: [String: String]) throws -> String {
    switch self {
    case .environment(let name):
      guard let v = environment[name], !v.isEmpty else {
        throw PlanError("the secret \(self) is not set", hint: "export \(name) for the service")
      }
      return v
    case .file(let path):
      guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first, !line.isEmpty
      else {
        throw PlanError("the secret \(self) cannot be read", hint: "check the file exists, is readable and not empty")
      }
      return String(line)
    }
  }
}

public struct PlanError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var hint: String?

  public init(_ message: String, hint: String? = nil) {
    self.message = message
    self.hint = hint
  }

  public var description: String { hint.map { "\(message)\n  hint: \($0)" } ?? message }
}

public struct RepositoryTarget: Sendable, Equatable {
  public var name: String
  /// A local path, `s3:https://…` or `s3://…`.
  public var url: String
  public var password: SecretReference
  /// The plan's statement that this repository is immutable (verified against the repository
  /// itself when it is opened).
  public var immutableDays: Int?
  /// Away from the production site: stated, or implied by an object-storage URL.
  public var offsite: Bool
  /// For a repository on a Lifeboat server (`rest:`): the token it signs in with — its own
  /// `token:`, else the plan's `server.token`. Nil elsewhere.
  public var token: SecretReference? = nil
  /// `verify_age:`: after runs, the agent reads what `check --read-data-max-age` says is due,
  /// so every pack of this repository is verified at least once per this age. nil: not scheduled.
  public var verifyAge: TimeInterval? = nil
  public var line: Int
}

public struct Source: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case path(String, excludes: [String])
    /// A command whose standard output is stored as a file named `as`.
    case command(String, as: String, timeout: TimeInterval?)
    /// A database dumped with its engine's tool, its tables counted (`databases/` in the
    /// snapshot), proven by drills without a script.
    case database(DatabaseSource)
    /// A folder on an SMB share, stored at `/smb/SERVER/SHARE/…` with its Windows ACLs.
    case smb(ShareSource)
  }

  public var kind: Kind
  public var line: Int
}

public struct Hooks: Sendable, Equatable {
  public var before: String?
  public var after: String?
  public var onFailure: String?
  /// Runs when a backup looks like an attack (`LIFEBOAT_ALERT`, `LIFEBOAT_REASONS`).
  public var onAlert: String?

  public init(before: String? = nil, after: String? = nil, onFailure: String? = nil, onAlert: String? = nil) {
    self.before = before
    self.after = after
    self.onFailure = onFailure
    self.onAlert = onAlert
  }
}

/// An application check a drill runs against the restored data. `{restored}` in a command or
/// URL is replaced by the sandbox directory the snapshot was restored into.
public enum DrillCheck: Sendable, Equatable, CustomStringConvertible {
  /// A shell command; exit status 0 passes.
  case script(String, timeout: TimeInterval?)
  /// An HTTP GET; the expected status (default 200) passes.
  case http(String, expect: Int, timeout: TimeInterval?)

  public var description: String {
    switch self {
    case .script(let c, _): c
    case .http(let u, let e, _): "GET \(u) → \(e)"
    }
  }
}

public struct DrillSettings: Sendable, Equatable {
  public var every: TimeInterval
  public var checks: [DrillCheck]
  /// The repository a drill restores from (by default the last copy: the offsite one).
  public var repository: String?

  public init(every: TimeInterval, checks: [DrillCheck] = [], repository: String? = nil) {
    self.every = every
    self.checks = checks
    self.repository = repository
  }
}

/// One protected system with every effective value and its origin.
public struct ProtectedSystem: Sendable, Equatable {
  public var name: String
  public var line: Int
  public var owner: String?
  public var contacts: [String]
  public var tier: Sourced<Tier>
  public var rpo: Sourced<TimeInterval>
  public var rto: Sourced<TimeInterval>
  public var schedule: Sourced<Schedule>
  public var retention: Sourced<RetentionPolicy>
  public var copies: Sourced<[String]>
  public var drill: Sourced<DrillSettings>
  public var downtimeCostPerHour: Sourced<Double>
  public var sources: [Source]
  public var hooks: Hooks
  public var dependsOn: [String]
  /// Where a recovery restores this system (`restore_to:`); default /srv/recovery/<system>.
  public var restoreTo: String? = nil
  /// How its backups compress (`compression:`, the tier's, else nil: each repository's mode).
  public var compression: Sourced<CompressionMode?> = Sourced(nil, .builtIn)

  /// The recovery target: the plan's `restore_to`, else a folder of its own under /srv/recovery.
  public var recoveryTarget: String { restoreTo ?? "/srv/recovery/\(snapshotSystem)" }

  /// The name snapshots of this system carry in their `system` field (its name, lower case,
  /// with dashes), so retention, parents, drills and the clean point find the system's snapshots
  /// even when one machine backs up several systems. Their `hostname` is the real host's.
  public var snapshotSystem: String { Self.slug(name) }

  /// A system's name as snapshots, folders and file names carry it: lower case, dashes for
  /// everything but letters and digits ("Student Information System" → student-information-system).
  public static func slug(_ name: String) -> String {
    name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.reduce(into: "") { $0.append($1) }
  }

  /// Whether a snapshot is this system's (`Snapshot.planSystem`: its `system` field, or for a
  /// plan's backup from before that field, its host name). An ad-hoc backup of a host that
  /// happens to share the system's name is not.
  public func owns(_ snapshot: Snapshot) -> Bool { snapshot.planSystem == snapshotSystem }
}

/// The likelihoods and durations the assessment's expected losses rest on. Each is an
/// assumption the organization can state in the plan (`assessment:`), with where it came
/// from shown in the report; the defaults are Lifeboat's, stated as assumptions, not facts.
public struct RiskAssumptions: Sendable, Equatable {
  public struct Factor: Sendable, Equatable {
    /// The plan key (`incidents_per_year`).
    public var key: String
    public var value: Double
    public var source: Provenance
    /// What it means, in a sentence for the report.
    public var meaning: String
  }

  /// Every factor, in the report's order, each from its defaults below or the plan.
  public private(set) var all: [Factor]

  /// Lifeboat's defaults: key, value, what it means. Stated as assumptions, not facts.
  static let defaults: [(key: String, value: Double, meaning: String)] = [
    ("incidents_per_year", 0.3, "events a year that need a system restored (a failed server, a deleted database, an attack)"),
    ("ransomware_per_year", 0.2, "ransomware attacks a year that reach backups nothing protects"),
    ("site_loss_per_year", 0.02, "losses of a whole site a year (fire, flood, theft) with the storage in it"),
    ("copy_loss_per_year", 0.05, "losses of a single backup copy a year (a failed disk, a closed account)"),
    ("untested_restore_failure", 0.3, "share of never-tested restores that fail the first time they are needed"),
    ("rebuild_hours", 168, "hours to rebuild a system when no usable backup is left"),
  ]

  public static var keys: [String] { defaults.map(\.key) }

  public init() {
    all = Self.defaults.map { Factor(key: $0.key, value: $0.value, source: .builtIn, meaning: $0.meaning) }
  }

  /// The factor of one of `defaults`' keys (always present: `all` is built from them).
  private func factor(_ key: String) -> Factor { all.first { $0.key == key }! }

  /// Events a year that need a restore of a system (a failed disk or server, a deleted or
  /// corrupted database, an attack).
  public var incidentsPerYear: Factor { factor("incidents_per_year") }
  /// Ransomware attacks a year that reach the backups when nothing stops them.
  public var ransomwarePerYear: Factor { factor("ransomware_per_year") }
  /// Losses of a whole site a year (fire, flood, theft), taking its storage with it.
  public var siteLossPerYear: Factor { factor("site_loss_per_year") }
  /// Losses of a single copy a year (a failed backup disk, an account closed, a bucket deleted).
  public var copyLossPerYear: Factor { factor("copy_loss_per_year") }
  /// The share of restores never tried before that fail the first time they are needed.
  public var untestedRestoreFailure: Factor { factor("untested_restore_failure") }
  /// Hours to rebuild a system when no usable backup is left.
  public var rebuildHours: Factor { factor("rebuild_hours") }

  /// The plan states a factor at `line`.
  public mutating func set(_ key: String, _ value: Double, line: Int) {
    guard let i = all.firstIndex(where: { $0.key == key }) else { return }
    all[i].value = value
    all[i].source = .plan(line: line)
  }
}

/// The provider's Lifeboat server the agent reports its runs to.
public struct ServerLink: Sendable, Equatable {
  public var url: String
  public var tenant: String
  public var token: SecretReference

  public init(url: String, tenant: String, token: SecretReference) {
    self.url = url
    self.tenant = tenant
    self.token = token
  }
}

public struct Plan: Sendable {
  public var file: String
  public var organization: String
  public var frameworks: [String]
  public var downtimeCostPerHour: Double
  /// The catalog's SQLite file (absolute).
  public var catalog: String
  public var repositories: [String: RepositoryTarget]
  public var systems: [ProtectedSystem]
  /// Where runs are reported (`server:`), if anywhere.
  public var server: ServerLink? = nil
  /// The assessment's likelihoods and durations (`assessment:`), defaults where not stated.
  public var risk = RiskAssumptions()
  /// Where what a recovery needs is kept when the servers are gone (`recovery_kit:`): the
  /// runbook's "before you start". Keys: plan, passwords, binary, runbook.
  public var recoveryKit: [String: String] = [:]
  /// Who is told when something is wrong (`alerts:`, `smtp:`, `alert_policy:`).
  public var alerts = AlertSettings()

  public func system(named name: String) -> ProtectedSystem? {
    systems.first { $0.name.caseInsensitiveCompare(name) == .orderedSame || $0.snapshotSystem == name }
  }
}

/// Built-in tier defaults: critical data is protected more often, kept longer in fine
/// grain, and drilled more often than archives.
public struct TierDefaults: Sendable, Equatable {
  public var rpo: TimeInterval
  public var rto: TimeInterval
  public var schedule: Schedule
  public var retention: RetentionPolicy
  public var drillEvery: TimeInterval
  /// How the tier's backups compress; nil (the built-in) leaves it to each repository's mode.
  public var compression: CompressionMode? = nil

  public static func builtIn(_ tier: Tier) -> TierDefaults {
    switch tier {
    case .critical:
      TierDefaults(
        rpo: 3600, rto: 4 * 3600, schedule: .every(3600),
        retention: RetentionPolicy(keepHourly: 24, keepDaily: 14, keepWeekly: 8, keepMonthly: 12, keepYearly: 3),
        drillEvery: 30 * 86400)
    case .important:
      TierDefaults(
        rpo: 86400, rto: 24 * 3600, schedule: .daily(hour: 1, minute: 0),
        retention: RetentionPolicy(keepDaily: 14, keepWeekly: 8, keepMonthly: 12),
        drillEvery: 90 * 86400)
    case .archival:
      TierDefaults(
        rpo: 7 * 86400, rto: 72 * 3600, schedule: .weekly(weekday: 7, hour: 2, minute: 0),
        retention: RetentionPolicy(keepWeekly: 8, keepMonthly: 24, keepYearly: 10),
        drillEvery: 365 * 86400)
    }
  }
}
