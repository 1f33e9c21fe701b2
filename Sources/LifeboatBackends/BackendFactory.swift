// LifeboatBackends — the composition root for repository locations: the one place a URL
// becomes a backend. The CLI (`-r`), plans (SystemRunner, the agent) and the demo open
// repositories through it; nothing else knows which module implements which scheme.
//
// Locations: a local path or `file://PATH` (LocalBackend), `s3:https://HOST/BUCKET[/PREFIX]` or
// `s3://BUCKET[/PREFIX]` (S3Backend), `rest:https://HOST[:PORT]/TENANT/REPOSITORY` (RESTBackend,
// retried). A new kind of storage adds one case here and nothing elsewhere.

import LifeboatCore
import LifeboatRemote
import LifeboatS3
public import LifeboatStorage

public enum BackendFactory {
  /// The kinds of location, by scheme.
  public enum Kind: Sendable, Equatable {
    case local, s3, server
  }

  public static func kind(of location: String) -> Kind? {
    if S3Location.isS3(location) { return .s3 }
    if RESTBackend.isREST(location) { return .server }
    if location.contains("://") && !location.hasPrefix("file://") { return nil }
    return .local
  }

  /// Opens the backend a location names (without touching it).
  public static func backend(for location: String, environment: [String: String]) throws -> any Backend {
    switch kind(of: location) {
    case .s3:
      return try S3Backend.open(location, environment: environment)
    case .server:
      return RetryingBackend(try RESTBackend.open(location, environment: environment))
    case .local:
      return LocalBackend(path: location.hasPrefix("file://") ? String(location.dropFirst(7)) : location)
    case nil:
      throw LifeboatError(
        .usage, "unsupported repository location \(location)",
        hint: "use a local directory, s3:https://HOST/BUCKET[/PREFIX], s3://BUCKET[/PREFIX] or "
          + "rest:https://HOST[:PORT]/TENANT/REPOSITORY")
    }
  }

  /// Whether clients apply retention there: not on a Lifeboat server, whose append-only
  /// repositories are pruned by the server itself (docs/design.md §17).
  public static func clientRetention(at location: String) -> Bool { kind(of: location) != .server }
}
