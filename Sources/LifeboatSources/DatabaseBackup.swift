// Before a backup: reach every database source, count its tables and line up the dumps as
// files the backup reads (`ProducedFile`). After it: end the sessions that held snapshots
// open and remove the credentials and copies.

public import Foundation
public import LifeboatPlan

/// A file the backup stores that no source path names: a dump command's output, or a local
/// copy. `filename` is relative to the snapshot's root (`databases/postgres-db1-sis.dump`).
public struct ProducedFile: Sendable, Equatable {
  public var filename: String
  /// A `/bin/sh -c` command whose standard output is the file; nil for `localFile`.
  public var command: String?
  public var localFile: String?
  /// The command's extra environment: connection settings and PGPASSFILE, never a password.
  public var environment: [String: String]
  public var timeout: TimeInterval?
}

/// What `DatabaseBackup.prepare` collects while it goes.
struct PreparedDatabases {
  var files: [ProducedFile] = []
  var sessions: [PsqlSession] = []
  var count: Int { files.count }

  mutating func add(command: String, as name: String, environment: [String: String], timeout: TimeInterval?) {
    files.append(ProducedFile(
      filename: DatabaseManifest.folder + "/" + name, command: command, localFile: nil, environment: environment, timeout: timeout))
  }

  mutating func add(file: String, as name: String) {
    files.append(ProducedFile(filename: DatabaseManifest.folder + "/" + name, command: nil, localFile: file, environment: [:], timeout: nil))
  }

  mutating func add(manifest: DatabaseManifest, secrets: SecretFiles) throws {
    let name = manifest.dump.split(separator: ".").dropLast().joined(separator: ".") + DatabaseManifest.suffix
    let path = secrets.path("\(count)-" + name)
    do { try manifest.encoded().write(to: URL(fileURLWithPath: path)) } catch {
      throw SourceError("cannot write the counts of \(manifest.database): \(error)")
    }
    add(file: path, as: name)
  }
}

/// The database sources of one backup, prepared: their files, and what must end after.
public final class DatabaseBackup: Sendable {
  public let files: [ProducedFile]
  /// The tables and rows counted, per database, for the job record.
  public let manifests: [DatabaseManifest]
  private let sessions: [PsqlSession]
  private let secrets: SecretFiles?

  init(files: [ProducedFile], manifests: [DatabaseManifest], sessions: [PsqlSession], secrets: SecretFiles?) {
    self.files = files
    self.manifests = manifests
    self.sessions = sessions
    self.secrets = secrets
  }

  /// Connects to every database source, counts its tables (PostgreSQL: in the snapshot the
  /// dump will use) and lines up the dumps. Nothing is stored yet. Throws, naming the source
  /// and what the engine said, when one cannot be reached or read; then nothing is left open.
  public static func prepare(_ sources: [DatabaseSource], environment: [String: String], now: Date) throws -> DatabaseBackup {
    guard !sources.isEmpty else { return DatabaseBackup(files: [], manifests: [], sessions: [], secrets: nil) }
    let secrets = try SecretFiles()
    var prepared = PreparedDatabases()
    do {
      for source in sources {
        switch source.engine {
        case .postgres: try Postgres.prepare(source, environment: environment, secrets: secrets, now: now, into: &prepared)
        case .mariadb: try MariaDB.prepare(source, environment: environment, secrets: secrets, now: now, into: &prepared)
        case .sqlite: try SQLiteSource.prepare(source, secrets: secrets, now: now, into: &prepared)
        }
      }
    } catch let e as PlanError {
      prepared.sessions.forEach { $0.close() }
      secrets.remove()
      throw SourceError(e.message, hint: e.hint)
    } catch {
      prepared.sessions.forEach { $0.close() }
      secrets.remove()
      throw error
    }
    let manifests = prepared.files.compactMap { f -> DatabaseManifest? in
      guard f.filename.hasSuffix(DatabaseManifest.suffix), let path = f.localFile,
        let data = FileManager.default.contents(atPath: path)
      else { return nil }
      return try? DatabaseManifest.decode(data)
    }
    return DatabaseBackup(files: prepared.files, manifests: manifests, sessions: prepared.sessions, secrets: secrets)
  }

  /// Ends the snapshots' transactions and removes credentials and copies. Call once, after
  /// the backup (whether it succeeded or not).
  public func finish() {
    sessions.forEach { $0.close() }
    secrets?.remove()
  }
}
