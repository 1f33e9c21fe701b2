// One signed HTTP exchange with an S3 server, retried on transient failures, with every
// failure turned into a StorageError that says what happened and what to do.

import AsyncHTTPClient
import LifeboatCore
public import Foundation
public import LifeboatStorage
import NIOCore
import NIOHTTP1
import NIOSSL

/// Tuning for the S3 backend. The defaults suit AWS and a LAN server alike.
public struct S3Options: Sendable {
  /// Requests in flight at once (uploads and downloads together).
  public var connections: Int = 16
  /// Objects larger than this are uploaded in parts.
  public var multipartThreshold: Int = 64 << 20
  /// Size of each part (S3's minimum is 5 MiB, except for the last part).
  public var partSize: Int = 16 << 20
  public var retry = RetryPolicy()
  /// One request may take this long (a 16 MiB part on a 2 Mbit/s uplink needs ~70 s).
  public var requestTimeout: Duration = .seconds(300)
  /// How long to keep trying to connect (the HTTP client retries refused connections within
  /// this time) before one attempt counts as failed.
  public var connectTimeout: Duration = .seconds(10)
  /// A canned ACL sent with every new object (`LIFEBOAT_S3_ACL`), e.g.
  /// `bucket-owner-full-control` when a client writes into a bucket another account owns.
  public var cannedACL: String?
  /// Seconds added to this machine's clock when signing, for a clock known to be off.
  public var clockOffset: TimeInterval = 0

  public init() {}
}

struct S3Response: Sendable {
  var status: Int
  var headers: HTTPHeaders
  var body: [UInt8]
}

/// Errors S3 describes with an XML `<Error>` body.
struct S3ErrorBody: Sendable {
  var code: String
  var message: String

  init?(_ body: [UInt8]) {
    guard let root = XMLElement.parse(body), root.name == "Error" else { return nil }
    code = root["Code"] ?? ""
    message = root["Message"] ?? ""
  }
}

final class S3Client: Sendable {
  let location: S3Location
  let signer: SigV4Signer
  let options: S3Options
  let http: HTTPClient
  /// The time requests are signed with (plus `options.clockOffset`).
  let clock: any WallClock

  init(
    location: S3Location, credentials: S3Credentials, region: String, options: S3Options,
    clock: any WallClock = SystemClock()
  ) {
    self.location = location
    self.signer = SigV4Signer(credentials: credentials, region: region)
    self.options = options
    self.clock = clock
    self.http = S3HTTP.client(connections: options.connections, connectTimeout: options.connectTimeout)
  }

  /// A request signed now (SigV4): the date, payload hash and session token headers, `extra`,
  /// and the Authorization header. Each attempt of a retried request is signed anew.
  func signedRequest(
    _ method: HTTPMethod, path: String, query: [(String, String)], url: String, headers extra: [(String, String)],
    payloadHash hash: String
  ) -> HTTPClientRequest {
    let now = clock.now().addingTimeInterval(options.clockOffset)
    var headers: [(String, String)] = [
      ("host", location.hostHeader), ("x-amz-date", SigV4Signer.amzDate(now)), ("x-amz-content-sha256", hash),
    ]
    if let token = signer.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
    headers += extra
    let signature = signer.sign(
      method: method.rawValue, path: path, query: query, headers: headers, payloadHash: hash, date: now)
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers where name != "host" { request.headers.add(name: name, value: value) }
    request.headers.add(name: "Authorization", value: signature.authorization)
    return request
  }

  /// A GET whose body goes straight into `buffer` (which it must fill exactly), retried like
  /// `send`: restore and check read most of their bytes this way, without an intermediate
  /// array per request.
  func get(key: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer, handle: Handle) async throws {
    let extra = [("range", "bytes=\(offset)-\(offset + buffer.count - 1)")]
    let path = location.path(key: key)
    let url = location.url(path: path, query: "")
    let hash = SigV4Signer.emptyPayloadHash
    // The buffer outlives every attempt; only one attempt writes at a time.
    nonisolated(unsafe) let target = buffer
    try await options.retry.run { _ in
      let request = signedRequest(.GET, path: path, query: [], url: url, headers: extra, payloadHash: hash)
      let response: HTTPClientResponse
      var filled = 0
      var errorBody: [UInt8] = []
      do {
        response = try await http.execute(request, timeout: S3HTTP.timeAmount(options.requestTimeout))
        let ok = response.status.code == 206 || response.status.code == 200
        // A server that ignored the range sends the whole object: skip to the range.
        var skip = response.status.code == 200 ? offset : 0
        for try await var chunk in response.body {
          if skip > 0 {
            let n = min(skip, chunk.readableBytes)
            chunk.moveReaderIndex(forwardBy: n)
            skip -= n
            if chunk.readableBytes == 0 { continue }
          }
          if ok && response.status.code == 200 && filled + chunk.readableBytes > target.count {
            chunk = chunk.getSlice(at: chunk.readerIndex, length: target.count - filled) ?? chunk
          }
          if ok {
            guard filled + chunk.readableBytes <= target.count else {
              throw StorageError(.invalid, handle, "the server sent more than the \(target.count) bytes asked for")
            }
            chunk.withUnsafeReadableBytes { src in
              UnsafeMutableRawBufferPointer(rebasing: target[filled..<filled + src.count]).copyMemory(from: src)
            }
            filled += chunk.readableBytes
          } else if errorBody.count < 64 << 10 {
            errorBody.append(contentsOf: chunk.readableBytesView)
          }
        }
      } catch let e as StorageError {
        throw e
      } catch {
        throw Self.transportError(error, handle: handle, location: location)
      }
      let status = Int(response.status.code)
      guard status == 206 || status == 200 else {
        let result = S3Response(status: status, headers: response.headers, body: errorBody)
        throw classify(status: status, error: S3ErrorBody(errorBody), response: result, handle: handle)
      }
      guard filled == target.count else {
        throw StorageError(.invalid, handle, "short read: wanted \(target.count) bytes, got \(filled)")
      }
    }
  }

  /// Sends one request, retrying transient failures (network, 5xx, throttling).
  /// `payloadHash` is the hex SHA-256 of `body` when the caller knows it already.
  func send(
    _ method: HTTPMethod, key: String?, query: [(String, String)] = [],
    headers extra: [(String, String)] = [], body: [UInt8]? = nil, payloadHash: String? = nil,
    handle: Handle? = nil, accept: Set<Int> = [200, 204, 206]
  ) async throws -> S3Response {
    let hash = payloadHash ?? body.map(SigV4Signer.sha256Hex) ?? SigV4Signer.emptyPayloadHash
    let path = location.path(key: key)
    let queryString = query.map { "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }
      .joined(separator: "&")
    let url = location.url(path: path, query: queryString)
    return try await options.retry.run { _ in
      var request = signedRequest(method, path: path, query: query, url: url, headers: extra, payloadHash: hash)
      if let body {
        request.body = .bytes(body)
        request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
      }
      let response: HTTPClientResponse
      let bytes: [UInt8]
      do {
        response = try await http.execute(request, timeout: S3HTTP.timeAmount(options.requestTimeout))
        // One copy, straight into an array of the announced size.
        var out = [UInt8]()
        if let n = response.headers.first(name: "Content-Length").flatMap(Int.init), n > 0 {
          out.reserveCapacity(n)
        }
        for try await chunk in response.body { out.append(contentsOf: chunk.readableBytesView) }
        bytes = out
      } catch {
        throw Self.transportError(error, handle: handle, location: location)
      }
      let status = Int(response.status.code)
      let result = S3Response(status: status, headers: response.headers, body: bytes)
      if accept.contains(status) {
        // CompleteMultipartUpload can fail with 200 and an <Error> body.
        if method == .POST, let e = S3ErrorBody(bytes) {
          throw classify(status: 500, error: e, response: result, handle: handle)
        }
        return result
      }
      throw classify(status: status, error: S3ErrorBody(bytes), response: result, handle: handle)
    }
  }

  /// Maps an HTTP failure to a StorageError; `io` marks the ones worth retrying.
  func classify(status: Int, error: S3ErrorBody?, response: S3Response, handle: Handle?)
    -> StorageError
  {
    let code = error?.code ?? ""
    let message = error?.message.isEmpty == false ? error!.message : "HTTP \(status)"
    let what = code.isEmpty ? message : "\(code): \(message)"
    let bucket = "bucket \(location.bucket) at \(location.scheme)://\(location.hostHeader)"
    switch (status, code) {
    case (_, "NoSuchBucket"):
      return StorageError(
        .noContainer, nil, "\(bucket) does not exist",
        hint: "create the bucket first (with Object Lock enabled if you want immutable "
          + "copies; see README), or fix the repository URL")
    case (_, "InvalidAccessKeyId"):
      return StorageError(
        .credentials, handle, "the access key \(signer.credentials.accessKeyID) is not known to \(bucket)",
        hint: "check AWS_ACCESS_KEY_ID / the profile in ~/.aws/credentials")
    case (_, "SignatureDoesNotMatch"):
      return StorageError(
        .credentials, handle, "the request signature does not match (wrong secret key?)",
        hint: "check AWS_SECRET_ACCESS_KEY / the profile in ~/.aws/credentials")
    case (_, "RequestTimeTooSkewed"):
      var skew = ""
      if let server = response.headers.first(name: "Date").flatMap(S3HTTP.parseHTTPDate) {
        skew = String(format: " (this machine is %+.0f s off)", clock.now().timeIntervalSince(server))
      }
      return StorageError(
        .credentials, handle, "the clock of this machine differs too much from the server's\(skew)",
        hint: "synchronize the clock (timedatectl set-ntp true); S3 accepts 15 minutes of skew")
    case (_, "ExpiredToken"), (_, "InvalidToken"):
      return StorageError(
        .credentials, handle, "the session token is expired or invalid",
        hint: "refresh AWS_SESSION_TOKEN")
    case (_, "AccessDenied") where status == 403:
      return StorageError(.permissionDenied, handle, "\(bucket) denied the request (\(what))")
    case (404, _):
      return StorageError(.notFound, handle, "not found (\(what))")
    case (416, _):
      return StorageError(.invalid, handle, "requested range is outside the object (\(what))")
    case (429, _), (500...599, _), (_, "SlowDown"), (_, "RequestTimeout"), (_, "InternalError"):
      return StorageError(.io, handle, "\(bucket) answered \(status) (\(what)); retried")
    default:
      return StorageError(.invalid, handle, "\(bucket) answered \(status) (\(what))")
    }
  }

  static func transportError(_ error: any Error, handle: Handle?, location: S3Location)
    -> StorageError
  {
    let endpoint = "\(location.scheme)://\(location.hostHeader)"
    if error is NIOSSLError || error is BoringSSLError
      || String(describing: error).contains("handshake") || String(describing: type(of: error)).contains("SSL")
    {
      return StorageError(
        .invalid, handle, "TLS with \(endpoint) failed: \(error)",
        hint: "check the server's certificate; for a private CA set AWS_CA_BUNDLE to its PEM "
          + "file; use s3:http://… only on a trusted network")
    }
    if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout {
      return StorageError(.io, handle, "\(endpoint) did not answer in time; retried")
    }
    return StorageError(
      .io, handle, "cannot reach \(endpoint): \(error)",
      hint: "check the endpoint's address and that the server runs")
  }
}

/// The process-wide HTTP client (connection reuse across backends) and HTTP helpers.
enum S3HTTP {
  private static let lock = NSLock()
  nonisolated(unsafe) private static var clients: [String: HTTPClient] = [:]

  /// One client per setting, never shut down: it lives as long as the process.
  static func client(connections: Int, connectTimeout: Duration) -> HTTPClient {
    lock.lock()
    defer { lock.unlock() }
    let key = "\(connections)/\(connectTimeout)"
    if let c = clients[key] { return c }
    var tls = TLSConfiguration.makeClientConfiguration()
    if let bundle = ProcessInfo.processInfo.environment["AWS_CA_BUNDLE"], !bundle.isEmpty {
      tls.trustRoots = .file(bundle)
    }
    var configuration = HTTPClient.Configuration(
      tlsConfiguration: tls, redirectConfiguration: .disallow,
      timeout: .init(connect: timeAmount(connectTimeout), read: .seconds(120)),
      connectionPool: .init(
        idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections))
    configuration.httpVersion = .http1Only
    let c = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    clients[key] = c
    return c
  }

  static func timeAmount(_ d: Duration) -> TimeAmount {
    .nanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
  }

  static func parseHTTPDate(_ s: String) -> Date? {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    return f.date(from: s)
  }

  static func isoDate(_ d: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: d)
  }

  static func parseISODate(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let d = f.date(from: s) { return d }
    f.formatOptions = [.withInternetDateTime]
    return f.date(from: s)
  }
}
