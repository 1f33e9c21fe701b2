// The evidence Lifeboat keeps about recovery, as stored in the catalog's `details`: a drill's
// report, and what a backup's ransomware signals measured. Kept here, below the code that
// produces them (LifeboatOps) and the code that renders them (LifeboatReport, the server), so
// both read one definition.

public import Foundation
public import LifeboatCatalog

/// The evidence of one drill.
public struct DrillReport: Sendable, Codable {
  public typealias Verdict = DrillVerdict

  public struct CheckResult: Sendable, Codable {
    public var check: String
    public var passed: Bool
    public var seconds: Double
    public var detail: String

    public init(check: String, passed: Bool, seconds: Double, detail: String) {
      self.check = check
      self.passed = passed
      self.seconds = seconds
      self.detail = detail
    }
  }

  public var system: String
  public var repository: String
  public var snapshot: String?
  public var snapshotTime: Date?
  public var actor: String
  public var host: String
  public var started: Date
  public var ended: Date
  public var sandbox: String
  public var files = 0
  public var bytes: UInt64 = 0
  public var verifiedFiles = 0
  public var verifiedNodes = 0
  /// Seconds per phase: `open`, `restore`, `verify`, `databases` (restored into a throwaway
  /// server and counted), `checks`, `cleanup`.
  public var phases: [String: Double] = [:]
  /// Restore + verify + checks: the time until the system is proven working.
  public var recoverySeconds: Double = 0
  public var rtoSeconds: Double
  /// Restore throughput and the time a restore of the system's newest full snapshot would take.
  public var bytesPerSecond: Double = 0
  public var projectedSeconds: Double?
  public var checks: [CheckResult] = []
  public var verdict: Verdict = .failed
  public var reasons: [String] = []
  /// Why this snapshot (e.g. the clean restore point).
  public var selection: String = ""
  /// Catalog writes that failed (a full disk, an I/O error): the drill ran, but this part of
  /// its evidence is not in the catalog. Nil when everything was recorded.
  public var notRecorded: [String]?

  public init(
    system: String, repository: String, actor: String, host: String, started: Date, ended: Date, sandbox: String,
    rtoSeconds: Double
  ) {
    self.system = system
    self.repository = repository
    self.actor = actor
    self.host = host
    self.started = started
    self.ended = ended
    self.sandbox = sandbox
    self.rtoSeconds = rtoSeconds
  }
}

/// What one backup changed, and whether that looks like an attack.
public struct BackupSignals: Sendable, Codable, Equatable {
  public var snapshotTime: Date
  /// Regular files in the previous snapshot.
  public var baseFiles = 0
  public var added = 0
  public var modified = 0
  public var removed = 0
  /// Removed files that reappear under another name in the same folder (`a.docx` →
  /// `a.docx.locked`, `a.docx` → `a.enc`).
  public var renamed = 0
  /// (modified + removed) / baseFiles.
  public var changedShare = 0.0
  /// The same share's median over the system's recent backups.
  public var baselineShare = 0.0
  /// Stored bytes / raw bytes of the new data (zstd per chunk; ~1.0 for encrypted data,
  /// well below for documents and databases).
  public var newDataRatio = 0.0
  public var newDataBytes: UInt64 = 0
  /// The most common extension among added files, when it was not in the previous snapshot.
  public var newExtension: String?
  public var newExtensionFiles = 0
  public var ransomNotes: [String] = []
  public var suspicious = false
  public var reasons: [String] = []

  public init(snapshotTime: Date) { self.snapshotTime = snapshotTime }

  /// Thresholds (documented in docs/drills.md).
  public static let minChangedShare = 0.2
  public static let baselineFactor = 5.0
  public static let incompressibleRatio = 0.9
  public static let minNewDataBytes: UInt64 = 256 << 10
  public static let minExtensionBurst = 10

  static let notePatterns = [
    "decrypt", "ransom", "how_to_recover", "how-to-recover", "recover_files", "recover-files",
    "restore_files", "restore-files", "your_files", "readme_for", "!readme", "_readme.txt",
  ]

  public static func isRansomNote(_ name: String) -> Bool {
    let n = name.lowercased()
    return notePatterns.contains { n.contains($0) }
  }

  /// Decides `suspicious` from the counts: a pure function, tested on its own.
  public mutating func evaluate() {
    reasons = []
    let threshold = max(Self.minChangedShare, Self.baselineFactor * baselineShare)
    let massChange = baseFiles >= 10 && changedShare >= threshold
    let incompressible = newDataBytes >= Self.minNewDataBytes && newDataRatio >= Self.incompressibleRatio
    let renames = (modified + removed) > 0 && Double(renamed) >= 0.5 * Double(removed) && renamed >= 5
    let burst = newExtension != nil && newExtensionFiles >= Self.minExtensionBurst
    if !ransomNotes.isEmpty {
      reasons.append("ransom-note file names appeared: \(ransomNotes.prefix(3).joined(separator: ", "))")
    }
    if massChange && (incompressible || renames || burst) {
      reasons.append(
        String(
          format: "%.0f%% of the files changed or vanished (usual: %.1f%%, threshold %.0f%%)", changedShare * 100,
          baselineShare * 100, threshold * 100))
      if incompressible {
        reasons.append(String(format: "the new data does not compress (stored/raw %.2f): it looks encrypted", newDataRatio))
      }
      if renames { reasons.append("\(renamed) files were renamed in place") }
      if burst { reasons.append("\(newExtensionFiles) files gained the new extension .\(newExtension!)") }
    }
    suspicious = !reasons.isEmpty
  }
}

