// LifeboatRemote — the client side of a Lifeboat server: the `rest:` repository backend and the
// reporter that sends an agent's runs to the provider's console. HTTP through AsyncHTTPClient.

import Foundation
import LifeboatCore
public import LifeboatStorage
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// A server's address and the token that speaks for this client.
public struct ServerEndpoint: Sendable {
  /// `https://host:port` without a trailing slash.
  public var base: String
  public var token: String

  public init(base: String, token: String) {
    var b = base
    while b.hasSuffix("/") { b.removeLast() }
    self.base = b
    self.token = token
  }

  /// POSTs a JSON body to a path of the server's API; returns the status and the error
  /// message the server gave (empty on success).
  public func postJSON(_ path: String, body: [UInt8]) async throws -> (status: Int, message: String) {
    let r = try await RemoteHTTP.send(
      .POST, url: base + path, token: token, headers: [("Content-Type", "application/json")], body: body)
    return (r.status, r.status < 300 ? "" : r.message)
  }

  /// The token from `LIFEBOAT_SERVER_TOKEN` or the file `LIFEBOAT_SERVER_TOKEN_FILE` names.
  public static func token(environment: [String: String]) throws -> String {
    if let t = environment["LIFEBOAT_SERVER_TOKEN"], !t.isEmpty { return t }
    if let f = environment["LIFEBOAT_SERVER_TOKEN_FILE"], !f.isEmpty {
      guard let data = FileManager.default.contents(atPath: f) else {
        throw LifeboatError(.usage, "cannot read the token file \(f) (LIFEBOAT_SERVER_TOKEN_FILE)")
      }
      return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    throw LifeboatError(
      .usage, "a rest: repository needs a server token",
      hint: "set LIFEBOAT_SERVER_TOKEN_FILE to a file holding the token (or LIFEBOAT_SERVER_TOKEN); "
        + "an admin creates one with POST /api/v1/tokens, role backup")
  }
}

/// The shared HTTP client for talking to Lifeboat servers.
enum RemoteHTTP {
  private static let lock = NSLock()
  nonisolated(unsafe) private static var client: HTTPClient?

  static func shared() -> HTTPClient {
    lock.lock()
    defer { lock.unlock() }
    if let client { return client }
    var tls = TLSConfiguration.makeClientConfiguration()
    if let ca = ProcessInfo.processInfo.environment["LIFEBOAT_SERVER_CA"], !ca.isEmpty { tls.trustRoots = .file(ca) }
    var configuration = HTTPClient.Configuration(
      tlsConfiguration: tls, redirectConfiguration: .disallow,
      timeout: .init(connect: .seconds(10), read: .seconds(120)),
      connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16))
    configuration.httpVersion = .http1Only
    let c = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    client = c
    return c
  }

  /// A ranged GET whose body goes straight into `buffer` when the server answers 206 (or 200
  /// from offset 0) with exactly its size; otherwise the response, for the caller to report.
  static func get(url: String, token: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer, handle: Handle)
    async throws -> Response?
  {
    var request = Self.request(.GET, url: url, token: token)
    request.headers.add(name: "Range", value: "bytes=\(offset)-\(offset + buffer.count - 1)")
    do {
      let response = try await shared().execute(request, timeout: .seconds(300))
      let status = Int(response.status.code)
      guard status == 206 || (status == 200 && offset == 0) else {
        var body = [UInt8]()
        for try await chunk in response.body where body.count < 64 << 10 { body.append(contentsOf: chunk.readableBytesView) }
        return Response(status: status, headers: response.headers, body: body)
      }
      var filled = 0
      for try await chunk in response.body {
        guard filled + chunk.readableBytes <= buffer.count else {
          throw StorageError(.io, handle, "the server sent more than the \(buffer.count) bytes asked for")
        }
        chunk.withUnsafeReadableBytes { src in
          UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + src.count]).copyMemory(from: src)
        }
        filled += chunk.readableBytes
      }
      guard filled == buffer.count else { throw StorageError(.io, handle, "short read: \(filled) of \(buffer.count) bytes") }
      return nil
    } catch let e as StorageError {
      throw e
    } catch {
      throw StorageError(.io, handle, "cannot reach the Lifeboat server at \(url): \(error)",
        hint: "check the URL and that `lifeboat serve` runs there")
    }
  }

  /// A request to the server with the token and the user agent every request carries.
  static func request(_ method: HTTPMethod, url: String, token: String) -> HTTPClientRequest {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    request.headers.add(name: "User-Agent", value: "lifeboat")
    return request
  }

  struct Response: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    var message: String {
      if let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
        let e = obj["error"] as? [String: Any], let m = e["message"] as? String
      {
        return m
      }
      return String(decoding: body.prefix(300), as: UTF8.self)
    }
  }

  static func send(
    _ method: HTTPMethod, url: String, token: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
    handle: Handle? = nil, timeout: Duration = .seconds(300)
  ) async throws -> Response {
    var request = Self.request(method, url: url, token: token)
    for (n, v) in headers { request.headers.add(name: n, value: v) }
    if let body {
      request.body = .bytes(body)
      request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
    }
    do {
      let seconds = timeout.components.seconds
      let response = try await shared().execute(request, timeout: .seconds(seconds))
      var out = [UInt8]()
      if let n = response.headers.first(name: "Content-Length").flatMap(Int.init), n > 0 { out.reserveCapacity(n) }
      for try await chunk in response.body { out.append(contentsOf: chunk.readableBytesView) }
      return Response(status: Int(response.status.code), headers: response.headers, body: out)
    } catch let e as StorageError {
      throw e
    } catch {
      let text = "\(error)"
      if text.contains("SSL") || text.contains("TLS") || text.contains("certificate") || text.contains("handshake") {
        throw StorageError(.credentials, handle, "TLS with \(url) failed: \(error)",
          hint: "for a server with a private certificate set LIFEBOAT_SERVER_CA to its CA file")
      }
      throw StorageError(.io, handle, "cannot reach the Lifeboat server at \(url): \(error)",
        hint: "check the URL and that `lifeboat serve` runs there")
    }
  }
}

/// A repository stored by a Lifeboat server: `rest:https://host[:port]/TENANT/REPO`.
///
/// The server enforces what the token may do; with a `backup` token this backend can create
/// objects and read them but every delete except of its own lock files is refused (403), and
/// retention runs on the server.
public struct RESTBackend: Backend {
  public let url: String
  let endpoint: ServerEndpoint
  let path: String
  public var location: String { "rest:" + url }
  public var isRemote: Bool { true }

  public static func isREST(_ location: String) -> Bool { location.hasPrefix("rest:") }

  /// Parses `rest:http(s)://host[:port]/tenant/repo`.
  public static func open(_ location: String, environment: [String: String]) throws -> RESTBackend {
    let rest = String(location.dropFirst("rest:".count))
    guard let u = URL(string: rest), let scheme = u.scheme, scheme == "http" || scheme == "https", let host = u.host else {
      throw LifeboatError(.usage, "cannot parse the repository URL \(location)", hint: "use rest:https://HOST[:PORT]/TENANT/REPOSITORY")
    }
    let parts = u.path.split(separator: "/").map(String.init)
    guard parts.count == 2 else {
      throw LifeboatError(.usage, "the repository URL \(location) must name a tenant and a repository",
        hint: "use rest:https://HOST[:PORT]/TENANT/REPOSITORY")
    }
    let base = "\(scheme)://\(host)\(u.port.map { ":\($0)" } ?? "")"
    return RESTBackend(url: rest, endpoint: ServerEndpoint(base: base, token: try ServerEndpoint.token(environment: environment)),
      path: "/" + parts.joined(separator: "/"))
  }

  init(url: String, endpoint: ServerEndpoint, path: String) {
    var u = url
    while u.hasSuffix("/") { u.removeLast() }
    self.url = u
    self.endpoint = endpoint
    self.path = path
  }

  func objectURL(_ h: Handle) -> String {
    h.type == .config ? "\(endpoint.base)\(path)/config" : "\(endpoint.base)\(path)/\(h.type.rawValue)/\(h.name)"
  }

  func failure(_ r: RemoteHTTP.Response, _ h: Handle?, _ what: String) -> StorageError {
    let message = r.message
    switch r.status {
    case 404 where r.headers.first(name: "X-Lifeboat-Error") == "no-repository":
      return StorageError(.noContainer, nil, "the server has no repository \(url): \(message)",
        hint: "an admin creates it with POST /api/v1/tenants/TENANT/repositories, then run `lifeboat init`")
    case 404: return StorageError(.notFound, h, message)
    case 401:
      return StorageError(.credentials, h, "the server refused the token: \(message)",
        hint: "check LIFEBOAT_SERVER_TOKEN_FILE; a revoked or expired token needs replacing")
    case 403:
      return StorageError(.permissionDenied, h, "refused by the server: \(message)",
        hint: r.headers.first(name: "X-Lifeboat-Error") == "append-only"
          ? "this repository is append-only for this token: deleting and overwriting happen on the server, under "
            + "the provider's retention and four-eyes approval"
          : "the token's role or tenant does not allow this")
    case 409: return StorageError(.invalid, h, "the server refused to \(what): \(message)")
    case 400, 413, 422: return StorageError(.invalid, h, "the server refused to \(what): \(message)")
    case 507: return StorageError(.noSpace, h, message)
    default: return StorageError(.io, h, "the server failed to \(what): HTTP \(r.status) \(message)")
    }
  }

  public func save(_ handle: Handle, data: [UInt8]) async throws {
    let r = try await RemoteHTTP.send(.POST, url: objectURL(handle), token: endpoint.token,
      headers: [("Content-Type", "application/octet-stream")], body: data, handle: handle)
    guard r.status == 200 || r.status == 201 else { throw failure(r, handle, "store \(handle)") }
  }

  public func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    var headers: [(String, String)] = []
    if offset > 0 || length != nil {
      headers.append(("Range", "bytes=\(offset)-\(length.map { String(offset + $0 - 1) } ?? "")"))
    }
    if length == 0 { return [] }
    let r = try await RemoteHTTP.send(.GET, url: objectURL(handle), token: endpoint.token, headers: headers, handle: handle)
    guard r.status == 200 || r.status == 206 else { throw failure(r, handle, "read \(handle)") }
    if let length, r.body.count != length {
      throw StorageError(.io, handle, "short read: \(r.body.count) of \(length) bytes")
    }
    return r.body
  }

  /// Reads a range straight into the caller's buffer (restore and check reuse one per worker).
  public func read(_ handle: Handle, offset: Int, into buffer: UnsafeMutableRawBufferPointer) async throws {
    guard buffer.count > 0 else { return }
    if let r = try await RemoteHTTP.get(url: objectURL(handle), token: endpoint.token, offset: offset, into: buffer, handle: handle) {
      throw failure(r, handle, "read \(handle)")
    }
  }

  public func stat(_ handle: Handle) async throws -> ObjectInfo {
    let r = try await RemoteHTTP.send(.HEAD, url: objectURL(handle), token: endpoint.token, handle: handle)
    guard r.status == 200 else { throw failure(r, handle, "look up \(handle)") }
    return ObjectInfo(name: handle.name, size: r.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0)
  }

  struct Listed: Decodable { var name: String; var size: Int }

  public func list(_ type: ObjectType) async throws -> [ObjectInfo] {
    let r = try await RemoteHTTP.send(.GET, url: "\(endpoint.base)\(path)/\(type.rawValue)/", token: endpoint.token)
    guard r.status == 200 else { throw failure(r, nil, "list \(type.rawValue)") }
    return try Self.decodeList(r.body, type: type)
  }

  /// A server's list of objects: JSON `[{name, size}]`. Names must be object names of the type
  /// (`ObjectType.isValidName`) and sizes not negative: a name from the server becomes part of the
  /// next request's URL.
  static func decodeList(_ body: [UInt8], type: ObjectType) throws -> [ObjectInfo] {
    let listed: [Listed]
    do {
      listed = try JSONDecoder().decode([Listed].self, from: Data(body))
    } catch {
      throw StorageError(.io, nil, "the server's list of \(type.rawValue) did not decode: \(error)")
    }
    for l in listed where l.size < 0 || !type.isValidName(l.name) {
      throw StorageError(.io, nil, "the server's list of \(type.rawValue) holds an invalid entry (\(l.name.prefix(80)), \(l.size) bytes)")
    }
    return listed.map { ObjectInfo(name: $0.name, size: $0.size) }
  }

  public func remove(_ handle: Handle) async throws {
    let r = try await RemoteHTTP.send(.DELETE, url: objectURL(handle), token: endpoint.token, handle: handle)
    guard r.status == 200 || r.status == 204 else { throw failure(r, handle, "delete \(handle)") }
  }
}
