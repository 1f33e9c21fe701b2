// The append-only repository endpoint: `rest:https://host/TENANT/REPO`. Clients create objects
// and read them; nothing a client sends can delete or overwrite stored data. Uploads are
// hash-checked (the name is the SHA-256 of the bytes), an object that exists is never written
// again, and the only delete allowed is of lock files, which hold no data.

import Crypto
import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import Hummingbird
import LifeboatConsole
import LifeboatCore
import LifeboatRepository
import LifeboatStorage

extension LifeboatServer {
  func storedRepository(_ context: ServerContext) throws -> (tenant: String, name: String, backend: LocalBackend) {
    let tenant = try context.parameters.require("tenant")
    let name = try context.parameters.require("repository")
    guard try console.tenant(tenant) != nil, try console.repository(tenant: tenant, name: name) != nil else {
      throw failure(.notFound, "the server has no repository \(tenant)/\(name)", code: "no-repository")
    }
    return (tenant, name, console.storedBackend(tenant: tenant, name: name))
  }

  static func objectType(_ context: ServerContext) throws -> ObjectType {
    let raw = try context.parameters.require("type")
    guard let t = ObjectType(rawValue: raw), t != .config else {
      throw failure(.notFound, "no object type '\(raw)'; types: keys, data, index, snapshots, locks, marks")
    }
    return t
  }

  static func handle(_ context: ServerContext) throws -> Handle {
    let t = try objectType(context)
    let name = try context.parameters.require("name")
    guard t.isValidName(name) else {
      throw failure(
        .badRequest, t == .mark ? "mark names are <snapshot>-<kind>-<hash>" : "object names are 64 lower-case hex digits",
        code: "bad-name")
    }
    return Handle(t, name)
  }

  func storageFailure(_ e: StorageError) -> HTTPError {
    switch e.code {
    case .notFound: failure(.notFound, "\(e.handle.map { "\($0)" } ?? "object") does not exist", code: "not-found")
    case .noSpace: failure(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "the server's storage is full; nothing was stored", code: "no-space")
    default: failure(.internalServerError, "storage failed: \(e.detail)", code: "storage")
    }
  }

  func read(_ request: Request, _ context: ServerContext, _ h: Handle, head: Bool) async throws -> Response {
    let (_, _, backend) = try storedRepository(context)
    do {
      let info = try await backend.stat(h)
      if head {
        return Response(status: .ok, headers: [.contentLength: String(info.size), .contentType: "application/octet-stream"])
      }
      var offset = 0
      var length: Int? = nil
      var status: HTTPResponse.Status = .ok
      if let range = request.headers[.range] {
        guard let (a, b) = Self.parseRange(range, size: info.size) else {
          throw failure(.rangeNotSatisfiable, "cannot serve range \(range) of \(info.size) bytes")
        }
        offset = a
        length = b - a + 1
        status = .partialContent
      }
      let bytes = try await backend.load(h, offset: offset, length: length)
      var headers: HTTPFields = [.contentType: "application/octet-stream"]
      if status == .partialContent { headers[.contentRange] = "bytes \(offset)-\(offset + bytes.count - 1)/\(info.size)" }
      return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    } catch let e as StorageError {
      throw storageFailure(e)
    }
  }

  /// `bytes=A-B` or `bytes=A-`: the inclusive range, within the object.
  static func parseRange(_ s: String, size: Int) -> (Int, Int)? {
    guard s.hasPrefix("bytes=") else { return nil }
    let parts = s.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, let a = Int(parts[0]), a >= 0, a < size else { return nil }
    let b = parts[1].isEmpty ? size - 1 : Int(parts[1]) ?? -1
    guard b >= a else { return nil }
    return (a, min(b, size - 1))
  }

  func write(_ request: Request, _ context: ServerContext, _ h: Handle) async throws -> Response {
    let (tenant, name, backend) = try storedRepository(context)
    if maintenance.isBusy(tenant: tenant, repository: name) {
      throw failure(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), "server maintenance is running on this repository; retry in a minute", code: "maintenance")
    }
    if h.type == .key { try await mayAddKey(context, backend) }
    if h.type == .mark, let kind = MarkName(h.name)?.kind,
      kind != SnapshotMark.Kind.protect.rawValue && kind != SnapshotMark.Kind.suspicious.rawValue
    {
      throw failure(.forbidden,
        "this repository is append-only: a client may protect or flag snapshots, but not lift a protection ('\(kind)'); "
          + "the provider lifts one through four eyes (an approval of unprotect-snapshots); nothing was stored",
        code: "append-only")
    }
    let buffer = try await body(request, limit: h.type == .key ? Self.maxKeyFileSize : configuration.maxObjectSize)
    let bytes = Array(buffer.readableBytesView)
    guard !bytes.isEmpty else { throw failure(.badRequest, "an object needs a body; nothing was stored", code: "empty") }
    if h.type == .key, let problem = Repository.keyFileProblem(bytes) {
      throw failure(.unprocessableContent, "not a key file Lifeboat would try: \(problem); nothing was stored", code: "bad-key")
    }
    if h.type != .config {
      let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
      let named = h.contentHash ?? ""
      guard digest == named else {
        throw failure(.badRequest, "the body's SHA-256 is \(digest), not its name \(named): nothing was stored", code: "hash-mismatch")
      }
    }
    do {
      if try await backend.exists(h) {
        // Same name, same hash: the same bytes. Answer like a stored upload, write nothing.
        if h.type != .config { return Self.text("{\"stored\":false,\"reason\":\"already stored\"}\n", type: "application/json") }
        throw failure(.conflict, "the repository already has a config; it is never replaced", code: "append-only")
      }
      if h.type == .config {
        try Self.createExclusively(backend.root + "/config", bytes)
      } else {
        try await backend.save(h, data: bytes)
      }
    } catch let e as StorageError {
      throw storageFailure(e)
    }
    if h.type == .key {
      try console.catalog(tenant).audit(kind: "key-add", subject: name, details: ["key": String(h.name.prefix(16))],
        actor: context.principal?.actor ?? "unknown", time: console.clock.now())
    }
    return Self.text("{\"stored\":true}\n", type: "application/json", status: .created)
  }

  static let maxKeyFileSize = 16 << 10

  /// Who may add a key file (docs/server.md): an admin or operator of the tenant at any time; a
  /// backup token only to a repository that has no config and no key file yet (its `init`).
  /// A key file decides who can open the repository, and key files are tried before anything
  /// in them is authenticated, so an agent's token must not be able to plant one.
  func mayAddKey(_ context: ServerContext, _ backend: LocalBackend) async throws {
    guard context.principal?.role == .backup else { return }
    let hasConfig = (try? await backend.exists(.config)) == true
    let hasKeys = !((try? await backend.list(.key)) ?? []).isEmpty
    if hasConfig || hasKeys {
      throw failure(.forbidden,
        "backup tokens cannot add key files to a repository that already has one; an operator or admin of the tenant "
          + "adds keys (`lifeboat key add` with their token)", code: "key-add-forbidden")
    }
  }

  /// Writes a file that must not exist yet (O_EXCL), so two clients racing to create the
  /// config cannot replace each other's.
  static func createExclusively(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      if errno == EEXIST { throw failure(.conflict, "the repository already has a config; it is never replaced", code: "append-only") }
      throw StorageError(errno == ENOSPC ? .noSpace : .io, .config, "cannot create the config: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
      guard n > 0 else {
        unlink(path)
        throw StorageError(errno == ENOSPC ? .noSpace : .io, .config, "cannot write the config: \(String(cString: strerror(errno)))")
      }
      written += n
    }
    guard fsync(fd) == 0 else { throw StorageError(.io, .config, "cannot sync the config") }
  }

  func addRepositoryEndpoint(_ t: RouteTable) {
    t.add(.head, "/{tenant}/{repository}/config", .repositoryRead, "Repository endpoint: size of the config") { r, c in
      try await read(r, c, .config, head: true)
    }
    t.add(.get, "/{tenant}/{repository}/config", .repositoryRead, "Repository endpoint: read the config") { r, c in
      try await read(r, c, .config, head: false)
    }
    t.add(.post, "/{tenant}/{repository}/config", .repositoryWrite, "Repository endpoint: store the config once") { r, c in
      try await write(r, c, .config)
    }
    t.add(.get, "/{tenant}/{repository}/{type}/", .repositoryRead, "Repository endpoint: list objects of a type") { _, c in
      let (_, _, backend) = try storedRepository(c)
      let type = try Self.objectType(c)
      struct Item: Encodable { var name: String; var size: Int }
      do {
        return try Self.json(try await backend.list(type).map { Item(name: $0.name, size: $0.size) })
      } catch let e as StorageError {
        throw storageFailure(e)
      }
    }
    t.add(.head, "/{tenant}/{repository}/{type}/{name}", .repositoryRead, "Repository endpoint: size of an object") { r, c in
      try await read(r, c, try Self.handle(c), head: true)
    }
    t.add(.get, "/{tenant}/{repository}/{type}/{name}", .repositoryRead, "Repository endpoint: read an object (Range allowed)") {
      r, c in try await read(r, c, try Self.handle(c), head: false)
    }
    t.add(.post, "/{tenant}/{repository}/{type}/{name}", .repositoryWrite,
      "Repository endpoint: create an object; its name must be the SHA-256 of the body") { r, c in
      try await write(r, c, try Self.handle(c))
    }
    t.add(.delete, "/{tenant}/{repository}/{type}/{name}", .repositoryWrite,
      "Repository endpoint: only lock files may be deleted; data is removed by server maintenance") { _, c in
      let (_, _, backend) = try storedRepository(c)
      let h = try Self.handle(c)
      guard h.type == .lock else {
        throw failure(.forbidden,
          "this repository is append-only: clients cannot delete \(h.type.rawValue); retention runs on the server "
            + "(and deleting snapshots needs a second admin's approval)", code: "append-only")
      }
      do {
        try await backend.remove(h)
      } catch let e as StorageError {
        throw storageFailure(e)
      }
      return Response(status: .noContent)
    }
  }
}
