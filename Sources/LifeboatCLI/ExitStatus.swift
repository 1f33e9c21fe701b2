// LifeboatCLI — the `lifeboat` commands. Commands parse and validate, hand off to the engine
// and render through `Output` (text or JSON). Exit codes are decided here and nowhere else.

import ArgumentParser
import LifeboatCore

/// Documented exit codes (restic's convention), in one place.
public enum ExitStatus {
  public static let ok: Int32 = 0
  public static let fatal: Int32 = 1
  /// Backup finished, but some sources could not be read.
  public static let partial: Int32 = 3
  public static let noRepository: Int32 = 10
  public static let lockFailed: Int32 = 11
  public static let wrongPassword: Int32 = 12
  public static let interrupted: Int32 = 130

  static func code(for error: any Error) -> Int32 {
    if let e = error as? LifeboatError {
      switch e.kind {
      case .repositoryNotFound: return noRepository
      case .wrongPassword: return wrongPassword
      case .lockFailed: return lockFailed
      case .interrupted: return interrupted
      default: return fatal
      }
    }
    if error is CancellationError { return interrupted }
    if let p = error as? PartialSuccess { return p.code }
    return fatal
  }
}

/// Thrown by a command that did its job but must exit non-zero (its output was printed).
struct PartialSuccess: Error {
  var code: Int32
}
