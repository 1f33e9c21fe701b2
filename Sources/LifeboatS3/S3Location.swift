// Where an S3 repository is and who we are to it: the repository URL, the endpoint, the
// region and the credentials, resolved the way the AWS tools resolve them.

import Foundation
import LifeboatCore

/// A parsed `s3:` repository location.
///
/// - `s3:https://host[:port]/bucket[/prefix]` (also `http://`): any S3-compatible server,
///   path-style addressing (`https://host/bucket/key`).
/// - `s3://bucket[/prefix]`: AWS (or `AWS_ENDPOINT_URL` when set); the endpoint is
///   `https://s3.REGION.amazonaws.com`, path-style unless the bucket name is DNS-safe, in
///   which case virtual-hosted style (`https://bucket.s3.REGION.amazonaws.com/key`) is used.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
  public var scheme: String
  public var host: String
  public var port: Int?
  public var bucket: String
  /// Key prefix without leading or trailing slash; empty for the bucket's root.
  public var prefix: String
  /// Virtual-hosted style: the bucket is part of the host name.
  public var virtualHosted: Bool

  public init(
    scheme: String, host: String, port: Int?, bucket: String, prefix: String,
    virtualHosted: Bool
  ) {
    self.scheme = scheme
    self.host = host
    self.port = port
    self.bucket = bucket
    self.prefix = prefix
    self.virtualHosted = virtualHosted
  }

  public static func isS3(_ location: String) -> Bool { location.hasPrefix("s3:") }

  /// Parses a repository URL. `environment` supplies `AWS_ENDPOINT_URL` and the region for
  /// the `s3://` form.
  public static func parse(_ text: String, environment: [String: String]) throws -> S3Location {
    func bad(_ why: String) -> LifeboatError {
      LifeboatError(
        .usage, "invalid S3 repository location \(text): \(why)",
        hint: "write s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3://BUCKET[/PREFIX] (AWS)")
    }
    guard text.hasPrefix("s3:") else { throw bad("it does not start with s3:") }
    let rest = String(text.dropFirst(3))
    if rest.hasPrefix("//") {
      let path = rest.dropFirst(2)
      let (bucket, prefix) = try split(path, bad)
      let region = S3Environment.region(environment)
      if let endpoint = environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"],
        !endpoint.isEmpty
      {
        guard let url = URL(string: endpoint), let scheme = url.scheme, let host = url.host else {
          throw bad("AWS_ENDPOINT_URL \(endpoint) is not a URL")
        }
        return S3Location(
          scheme: scheme, host: host, port: url.port, bucket: bucket, prefix: prefix,
          virtualHosted: false)
      }
      let dnsSafe =
        !bucket.contains(".") && bucket == bucket.lowercased()
        && bucket.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
      return S3Location(
        scheme: "https", host: dnsSafe ? "\(bucket).s3.\(region).amazonaws.com" : "s3.\(region).amazonaws.com",
        port: nil, bucket: bucket, prefix: prefix, virtualHosted: dnsSafe)
    }
    guard rest.hasPrefix("http://") || rest.hasPrefix("https://") else {
      throw bad("expected http:// or https:// after s3:")
    }
    guard let url = URL(string: rest), let scheme = url.scheme, let host = url.host, !host.isEmpty
    else { throw bad("the endpoint is not a URL") }
    let (bucket, prefix) = try split(url.path.drop(while: { $0 == "/" }), bad)
    return S3Location(
      scheme: scheme, host: host, port: url.port, bucket: bucket, prefix: prefix,
      virtualHosted: false)
  }

  private static func split(
    _ path: Substring, _ bad: (String) -> LifeboatError
  ) throws -> (String, String) {
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    guard let first = parts.first else { throw bad("no bucket name") }
    let bucket = String(first)
    guard bucket.count >= 3, bucket.count <= 63,
      bucket.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) })
    else { throw bad("\(bucket) is not a valid bucket name") }
    return (bucket, parts.dropFirst().joined(separator: "/"))
  }

  /// `host[:port]` as sent in the Host header.
  public var hostHeader: String {
    if let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) {
      return "\(host):\(port)"
    }
    return host
  }

  /// The encoded request path for an object key, or for the bucket when `key` is nil.
  public func path(key: String?) -> String {
    var p = virtualHosted ? "" : "/" + SigV4Signer.encode(bucket)
    if let key { p += "/" + SigV4Signer.encode(key, keepSlash: true) }
    return p.isEmpty ? "/" : p
  }

  public func url(path: String, query: String) -> String {
    "\(scheme)://\(hostHeader)\(path)\(query.isEmpty ? "" : "?" + query)"
  }

  public var description: String {
    "s3:\(scheme)://\(hostHeader)/\(bucket)\(prefix.isEmpty ? "" : "/" + prefix)"
  }
}

/// Credentials and region from the environment and the AWS shared files.
public enum S3Environment {
  public static func region(_ env: [String: String]) -> String {
    if let r = env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"], !r.isEmpty { return r }
    let profile = env["AWS_PROFILE"] ?? "default"
    let configFile = env["AWS_CONFIG_FILE"] ?? (env["HOME"] ?? NSHomeDirectory()) + "/.aws/config"
    let section = profile == "default" ? "default" : "profile \(profile)"
    if let text = try? String(contentsOfFile: configFile, encoding: .utf8),
      let r = ini(text)[section]?["region"], !r.isEmpty
    {
      return r
    }
    return "us-east-1"
  }

  /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`[/`AWS_SESSION_TOKEN`], else the profile
  /// (`AWS_PROFILE`, default `default`) in `AWS_SHARED_CREDENTIALS_FILE` or
  /// `~/.aws/credentials`.
  public static func credentials(_ env: [String: String]) throws -> S3Credentials {
    if let id = env["AWS_ACCESS_KEY_ID"], !id.isEmpty {
      guard let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
        throw LifeboatError(
          .usage, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
          hint: "set both, or use a profile in ~/.aws/credentials")
      }
      let token = env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
      return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }
    let profile = env["AWS_PROFILE"] ?? "default"
    let file =
      env["AWS_SHARED_CREDENTIALS_FILE"] ?? (env["HOME"] ?? NSHomeDirectory()) + "/.aws/credentials"
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw LifeboatError(
        .usage, "no S3 credentials: AWS_ACCESS_KEY_ID is not set and \(file) cannot be read",
        hint: "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write a [\(profile)] "
          + "section to \(file)")
    }
    guard let section = ini(text)[profile], let id = section["aws_access_key_id"],
      let secret = section["aws_secret_access_key"]
    else {
      throw LifeboatError(
        .usage, "no S3 credentials for profile \(profile) in \(file)",
        hint: "add aws_access_key_id and aws_secret_access_key to its [\(profile)] section")
    }
    return S3Credentials(
      accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"])
  }

  /// A minimal INI reader: `[section]` headers and `key = value` lines; `#`/`;` comments.
  static func ini(_ text: String) -> [String: [String: String]] {
    var out: [String: [String: String]] = [:]
    var current: String?
    for raw in text.split(whereSeparator: \.isNewline) {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("["), line.hasSuffix("]") {
        current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        continue
      }
      guard let current, let eq = line.firstIndex(of: "=") else { continue }
      let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
      let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      out[current, default: [:]][key] = value
    }
    return out
  }
}
