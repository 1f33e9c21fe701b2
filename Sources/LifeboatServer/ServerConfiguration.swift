// LifeboatServer — `lifeboat serve`: the provider's console. A Hummingbird 2 application with
// the JSON API under /api/v1, the server-rendered dashboard, Prometheus metrics, and the
// append-only repository endpoint that clients back up into with `rest:` URLs.
//
// This file: the server's configuration file (YAML). Every key is optional.

public import Foundation
public import LifeboatPlan
public import LifeboatPolicy
import Yams

/// Retention the server applies itself, under the provider's own password for the repository.
public struct ServerRetention: Sendable {
  public var tenant: String
  public var repository: String
  public var password: SecretReference
  public var policy: RetentionPolicy

  public init(tenant: String, repository: String, password: SecretReference, policy: RetentionPolicy) {
    self.tenant = tenant
    self.repository = repository
    self.password = password
    self.policy = policy
  }
}

public struct ServerConfiguration: Sendable {
  public var host = "127.0.0.1"
  public var port = 8443
  public var dataDirectory = "/var/lib/lifeboat-server"
  /// PEM files; with both set the server speaks HTTPS only.
  public var certificate: String?
  public var privateKey: String?
  /// The largest object a client may upload (packs are far smaller).
  public var maxObjectSize = 512 << 20
  /// The largest JSON body (plans, run reports).
  public var maxRequestSize = 8 << 20
  /// How long deleted repository data stays recoverable.
  public var quarantineDays = 14
  /// How often server-side retention, prune and the quarantine purge run (0: only on request).
  public var maintenanceEvery: TimeInterval = 24 * 3600
  public var retention: [ServerRetention] = []
  /// A connection that has sent no complete request part for this long is closed: a client
  /// that trickles a request's headers (slow loris) or holds a connection idle gives it up.
  public var idleTimeout: TimeInterval = 30
  /// Connections served at once; further ones wait in the listen backlog until one closes.
  public var maxConnections = 1024

  public init() {}

  public var usesTLS: Bool { certificate != nil && privateKey != nil }

  /// Reads a configuration file; unknown keys and bad values are errors with their line.
  public static func load(file: String) throws -> ServerConfiguration {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw PlanError("cannot read the server configuration \(file)", hint: "check the path given to --config")
    }
    return try parse(String(decoding: data, as: UTF8.self), file: file)
  }

  public static func parse(_ text: String, file: String) throws -> ServerConfiguration {
    var c = ServerConfiguration()
    let root: Node
    do {
      guard let n = try Yams.compose(yaml: text) else { return c }
      root = n
    } catch {
      throw PlanError("\(file): not valid YAML: \(error)")
    }
    func fail(_ node: Node, _ message: String, hint: String? = nil) -> PlanError {
      PlanError("\(file):\(node.mark?.line ?? 0): \(message)", hint: hint)
    }
    guard let map = root.mapping else { throw fail(root, "the configuration must be a mapping of keys") }
    let known = ["listen", "data", "tls", "max_object_size", "max_request_size", "quarantine_days", "maintenance_every", "retention", "idle_timeout", "max_connections"]
    for (k, v) in map {
      guard let key = k.string else { continue }
      switch key {
      case "listen":
        let s = v.string ?? ""
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = Int(parts[1]), (0...65535).contains(p) else {
          throw fail(v, "listen must be HOST:PORT, like 127.0.0.1:8443")
        }
        c.host = parts[0].isEmpty ? "0.0.0.0" : String(parts[0])
        c.port = p
      case "data":
        guard let s = v.string, !s.isEmpty else { throw fail(v, "data must name a directory") }
        c.dataDirectory = s
      case "tls":
        guard let m = v.mapping, let cert = m["certificate"]?.string, let key = m["key"]?.string else {
          throw fail(v, "tls needs certificate: and key: (PEM files)")
        }
        c.certificate = cert
        c.privateKey = key
      case "max_object_size", "max_request_size":
        guard let n = v.int, n > 0 else { throw fail(v, "\(key) must be a number of bytes") }
        if key == "max_object_size" { c.maxObjectSize = n } else { c.maxRequestSize = n }
      case "quarantine_days":
        guard let n = v.int, n >= 1 else { throw fail(v, "quarantine_days must be at least 1") }
        c.quarantineDays = n
      case "maintenance_every":
        guard let s = v.string, let d = Duration.parse(s) else {
          throw fail(v, "maintenance_every must be a duration like 24h or 0 (never by itself)")
        }
        c.maintenanceEvery = d
      case "idle_timeout":
        guard let str = v.string, let d = Duration.parse(str), d >= 1, d <= 3600 else {
          throw fail(v, "idle_timeout must be a duration from 1s to 1h, like 30s")
        }
        c.idleTimeout = d
      case "max_connections":
        guard let n = v.int, (16...100_000).contains(n) else { throw fail(v, "max_connections must be from 16 to 100000") }
        c.maxConnections = n
      case "retention":
        guard let seq = v.sequence else { throw fail(v, "retention is a list of { tenant, repository, password, keep }") }
        for item in seq {
          guard let m = item.mapping, let t = m["tenant"]?.string, let r = m["repository"]?.string,
            let pw = m["password"]?.string, let keep = m["keep"]?.mapping
          else {
            throw fail(item, "each retention entry needs tenant, repository, password and keep")
          }
          guard let secret = SecretReference(pw) else {
            throw fail(item, "password must be env:NAME or file:/path, never the password itself")
          }
          var policy = RetentionPolicy()
          for (kk, kv) in keep {
            guard let kname = kk.string, let n = kv.int, n >= 0 else { throw fail(kv, "keep values are counts") }
            switch kname {
            case "last": policy.keepLast = n
            case "hourly": policy.keepHourly = n
            case "daily": policy.keepDaily = n
            case "weekly": policy.keepWeekly = n
            case "monthly": policy.keepMonthly = n
            case "yearly": policy.keepYearly = n
            default: throw fail(kk, "unknown keep rule '\(kname)'", hint: "use last, hourly, daily, weekly, monthly, yearly")
            }
          }
          c.retention.append(ServerRetention(tenant: t, repository: r, password: secret, policy: policy))
        }
      default:
        throw fail(k, "unknown key '\(key)'", hint: "known keys: \(known.joined(separator: ", "))")
      }
    }
    return c
  }
}

extension Duration {
  /// `90s`, `15m`, `24h`, `7d`, or `0`: seconds as a TimeInterval.
  static func parse(_ s: String) -> TimeInterval? {
    if s == "0" { return 0 }
    guard let unit = s.last, let n = Double(s.dropLast()), n >= 0 else { return nil }
    switch unit {
    case "s": return n
    case "m": return n * 60
    case "h": return n * 3600
    case "d": return n * 86400
    default: return nil
    }
  }
}
