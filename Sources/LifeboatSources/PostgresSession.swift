// A psql process kept open across the backup: it holds the transaction whose snapshot
// pg_dump reuses (`pg_export_snapshot`, `pg_dump --snapshot`), so the row counts Lifeboat
// records and the dump it stores see exactly the same data.

import Foundation
import Synchronization

final class PsqlSession: @unchecked Sendable {
  private let process = Process()
  private let input: FileHandle
  private let output: FileHandle
  private let errors = Collected()
  private var buffer = Data()
  private let lock = Mutex(())
  static let marker = "__LIFEBOAT_END__"

  /// Starts psql with the connection in `environment` (PGHOST, PGPORT, PGUSER, PGDATABASE,
  /// PGPASSFILE). Fails with what psql said when the server cannot be reached or refuses.
  init(psql: String, environment: [String: String]) throws {
    ignoreBrokenPipes()
    process.executableURL = URL(fileURLWithPath: psql)
    process.arguments = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let inPipe = Pipe()
    let outPipe = Pipe()
    let errPipe = Pipe()
    process.standardInput = inPipe
    process.standardOutput = outPipe
    process.standardError = errPipe
    let errors = self.errors
    errPipe.fileHandleForReading.readabilityHandler = { errors.append($0.availableData) }
    input = inPipe.fileHandleForWriting
    output = outPipe.fileHandleForReading
    do { try process.run() } catch {
      throw SourceError("cannot start psql (\(psql)): \(error)", hint: "install postgresql-client")
    }
  }

  /// Runs SQL and returns the lines it printed (unaligned, tuples only).
  func query(_ sql: String) throws -> [String] {
    try lock.withLock { _ in
      do {
        try input.write(contentsOf: Data((sql + "\n\\echo \(Self.marker)\n").utf8))
      } catch {
        throw failure()
      }
      var lines: [String] = []
      while true {
        if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
          let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
          buffer.removeSubrange(buffer.startIndex...nl)
          if line == Self.marker { return lines }
          lines.append(line)
          continue
        }
        let more = output.availableData
        if more.isEmpty { throw failure() }
        buffer.append(more)
      }
    }
  }

  /// psql ended: what it said.
  private func failure() -> SourceError {
    process.waitUntilExit()
    let said = errors.text.trimmingCharacters(in: .whitespacesAndNewlines)
    return SourceError(said.isEmpty ? "psql ended (exit status \(process.terminationStatus))" : String(said.suffix(400)))
  }

  /// Ends the transaction and psql.
  func close() {
    lock.withLock { _ in
      try? input.write(contentsOf: Data("COMMIT;\n\\q\n".utf8))
      try? input.close()
    }
    process.waitUntilExit()
  }
}

/// A child that exits before reading what Lifeboat writes must give an error, not kill the
/// process with SIGPIPE.
func ignoreBrokenPipes() {
  signal(SIGPIPE, SIG_IGN)
}
