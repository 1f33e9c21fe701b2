import Foundation

/// The S3 server the tests use: a Ceph RADOS Gateway on 127.0.0.1 started by
/// `scripts/s3-server.sh start` (which `make test` runs). Its settings come from the
/// environment or from the env file the script writes ($LIFEBOAT_RGW_DIR/env, default
/// /tmp/lifeboat-rgw/env).
///
/// Without a server the S3 tests are skipped on a developer's machine and fail in CI
/// (`CI` set): a missing server must never pass silently there.
public struct S3TestServer: Sendable {
  public var endpoint: String
  public var accessKey: String
  public var secretKey: String
  /// A second user, for append-only (write-but-not-delete) tests.
  public var writerAccessKey: String
  public var writerSecretKey: String
  public var name: String

  public static let current: S3TestServer? = {
    var values = ProcessInfo.processInfo.environment
    if values["LIFEBOAT_TEST_S3_ENDPOINT"] == nil {
      let dir = values["LIFEBOAT_RGW_DIR"] ?? "/tmp/lifeboat-rgw"
      if let text = try? String(contentsOfFile: dir + "/env", encoding: .utf8) {
        for line in text.split(separator: "\n") {
          guard let eq = line.firstIndex(of: "=") else { continue }
          values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
      }
    }
    guard let endpoint = values["LIFEBOAT_TEST_S3_ENDPOINT"],
      let ak = values["LIFEBOAT_TEST_S3_ACCESS_KEY"], let sk = values["LIFEBOAT_TEST_S3_SECRET_KEY"]
    else { return nil }
    return S3TestServer(
      endpoint: endpoint, accessKey: ak, secretKey: sk,
      writerAccessKey: values["LIFEBOAT_TEST_S3_WRITER_ACCESS_KEY"] ?? "",
      writerSecretKey: values["LIFEBOAT_TEST_S3_WRITER_SECRET_KEY"] ?? "",
      name: values["LIFEBOAT_TEST_S3_SERVER"] ?? "s3")
  }()

  /// True when the S3 tests should run: a server is configured, or CI demands one.
  public static var shouldRun: Bool {
    current != nil || ProcessInfo.processInfo.environment["CI"] != nil
  }

  public struct Missing: Error, CustomStringConvertible {
    public var description: String {
      "no S3 test server: run `scripts/s3-server.sh start` (make test does) — in CI this is a failure"
    }
  }

  public static func require() throws -> S3TestServer {
    guard let s = current else { throw Missing() }
    return s
  }

  /// Environment for S3 clients (lifeboat itself, the AWS CLI) as the owner or the writer.
  public func environment(writer: Bool = false) -> [String: String] {
    [
      "AWS_ACCESS_KEY_ID": writer ? writerAccessKey : accessKey,
      "AWS_SECRET_ACCESS_KEY": writer ? writerSecretKey : secretKey,
      "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
    ]
  }

  /// A fresh bucket name, unique per call.
  public static func bucketName(_ tag: String) -> String {
    "lb-\(tag)-\(UInt32.random(in: 0...UInt32.max))"
  }

  /// Runs the AWS CLI against the server; returns exit status and combined output.
  @discardableResult
  public func aws(_ args: [String], writer: Bool = false) throws -> (status: Int32, output: String) {
    var env = environment(writer: writer)
    env["AWS_PAGER"] = ""
    return try Subprocess.run(["aws", "--endpoint-url", endpoint, "--output", "json"] + args, environment: env)
  }

  /// Creates a bucket with the AWS CLI (with Object Lock when asked).
  public func createBucket(_ name: String, objectLock: Bool = false) throws {
    var args = ["s3api", "create-bucket", "--bucket", name]
    if objectLock { args.append("--object-lock-enabled-for-bucket") }
    let r = try aws(args)
    guard r.status == 0 else { throw Failed(what: "create-bucket \(name)", output: r.output) }
  }

  public struct Failed: Error, CustomStringConvertible {
    public var what: String
    public var output: String
    public var description: String { "aws \(what) failed: \(output)" }

    public init(what: String, output: String) {
      self.what = what
      self.output = output
    }
  }
}
