// LifeboatBackends — the composition root for repository locations: the one place a URL
// becomes a backend. The CLI (`-r`), plans (SystemRunner, the agent) and the demo open
// repositories through it; nothing else knows which module implements which scheme.
//
// Locations: a local path or `file://PATH` (LocalBackend), `s3:https://HOST/BUCKET[/PREFIX]` or
// `s3://BUCKET[/PREFIX]` (S3Backend), `rest:https://HOST[:PORT]/TENANT/REPOSITORY` (RESTBackend,
// retried). A new kind of storage adds one case here and nothing elsewhere.

import Foundation
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

  /// The folder of a location on this host's file system; nil for S3 and servers.
  public static func localPath(of location: String) -> String? {
    guard kind(of: location) == .local else { return nil }
    return location.hasPrefix("file://") ? String(location.dropFirst(7)) : location
  }

  /// Opens the backend a location names (without touching it).
  public static func backend(for location: String, environment: [String: String]) throws -> any Backend {
    switch kind(of: location) {
    case .s3:
      return try S3Backend.open(location, environment: environment)
    case .server:
      return RetryingBackend(try RESTBackend.open(location, environment: environment))
    case .local:
      return LocalBackend(path: localPath(of: location) ?? location)
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

  /// Makes the storage ready for `init`: an S3 bucket is created when missing (with Object Lock
  /// when the repository will be immutable). Returns what was done, for the user, or nil.
  public static func prepareForInit(_ backend: any Backend, objectLock: Bool, environment: [String: String]) async throws
    -> String?
  {
    guard let s3 = backend as? S3Backend else { return nil }
    let created = try await s3.createBucketIfMissing(objectLock: objectLock, region: S3Environment.region(environment))
    return created ? "created bucket \(s3.s3.bucket)" + (objectLock ? " with Object Lock" : "") : nil
  }

  /// Which storage a location lives on, to tell whether two repositories could be lost
  /// together: a local path's file system (device number, on this host), an S3 endpoint and
  /// bucket, a Lifeboat server. Nil when it cannot be told (an unsupported location).
  public static func storageIdentity(of location: String, environment: [String: String]) -> String? {
    switch kind(of: location) {
    case .s3:
      guard let s3 = try? S3Backend.open(location, environment: environment) else { return nil }
      return "s3 \(s3.s3.host)/\(s3.s3.bucket)"
    case .server:
      let rest = location.dropFirst("rest:".count)
      guard let u = URL(string: String(rest)), let host = u.host else { return nil }
      return "server \(host):\(u.port ?? (u.scheme == "https" ? 443 : 80))"
    case .local:
      // The nearest folder that exists: a repository not created yet lives where its parent is.
      var path = localPath(of: location) ?? location
      var st = stat()
      while stat(path, &st) != 0 {
        let parent = (path as NSString).deletingLastPathComponent
        guard parent != path, !parent.isEmpty else { return nil }
        path = parent
      }
      return "local device \(st.st_dev) on \(ProcessInfo.processInfo.hostName)"
    case nil:
      return nil
    }
  }
}
