/// An error a user can act on: what happened, in which object, and what to do next.
///
/// `kind` is stable: it maps to exit codes (restic's convention) and to short codes for
/// metrics and the JSON output.
public struct LifeboatError: Error, Sendable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    /// No repository at the given location (exit 10).
    case repositoryNotFound = "repository-not-found"
    /// No key file opens with the given password (exit 12).
    case wrongPassword = "wrong-password"
    /// A conflicting lock is held (exit 11).
    case lockFailed = "lock-failed"
    /// Data failed authentication or did not decode.
    case corrupt
    /// A named object, snapshot or path does not exist.
    case notFound = "not-found"
    /// The storage refused or failed an operation.
    case storage
    /// No space left on the device holding the repository or the restore target.
    case noSpace = "no-space"
    /// The command line or a value given to it is wrong.
    case usage
    /// The run was interrupted (exit 130).
    case interrupted
    /// Something else failed.
    case fatal
  }

  public var kind: Kind
  public var message: String
  public var hint: String?

  public init(_ kind: Kind, _ message: String, hint: String? = nil) {
    self.kind = kind
    self.message = message
    self.hint = hint
  }

  public var description: String {
    if let hint { return "\(message)\n  hint: \(hint)" }
    return message
  }

  public static func corrupt(_ what: String) -> LifeboatError {
    LifeboatError(
      .corrupt, what,
      hint: "run `lifeboat check --read-data` to list the damage and the snapshots it affects")
  }
}
