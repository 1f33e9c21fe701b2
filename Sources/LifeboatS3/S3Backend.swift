// The S3 backend: repository objects as keys in a bucket, with Object Lock.
//
// Key layout under the prefix, the same as the local backend's directories:
//   config, keys/NAME, data/XX/NAME (XX = first two hex digits), index/NAME,
//   snapshots/NAME, locks/NAME

import Foundation
import LifeboatCore
public import LifeboatStorage
import NIOHTTP1

public final class S3Backend: ObjectLockingBackend {
  public let s3: S3Location
  let client: S3Client
  public var options: S3Options { client.options }

  public init(
    location: S3Location, credentials: S3Credentials, region: String, options: S3Options = S3Options()
  ) {
    self.s3 = location
    self.client = S3Client(
      location: location, credentials: credentials, region: region, options: options)
  }

  /// A backend for `s3:` URL `text`, with credentials and region from `environment`.
  public static func open(
    _ text: String, environment: [String: String], options: S3Options = S3Options()
  ) throws -> S3Backend {
    let location = try S3Location.parse(text, environment: environment)
    var options = options
    if let acl = environment["LIFEBOAT_S3_ACL"], !acl.isEmpty { options.cannedACL = acl }
    return S3Backend(
      location: location, credentials: try S3Environment.credentials(environment),
      region: S3Environment.region(environment), options: options)
  }

  public var location: String { s3.description }
  public var isRemote: Bool { true }

  // MARK: - Keys

  func directory(_ type: ObjectType) -> String {
    (s3.prefix.isEmpty ? "" : s3.prefix + "/") + type.rawValue + "/"
  }

  func key(_ h: Handle) -> String {
    let root = s3.prefix.isEmpty ? "" : s3.prefix + "/"
    switch h.type {
    case .config: return root + "config"
    case .pack: return root + "data/" + h.name.prefix(2) + "/" + h.name
    default: return root + h.type.rawValue + "/" + h.name
    }
  }

  /// The handle a key names, or nil for keys that are not repository objects.
  func handle(forKey key: String) -> Handle? {
    let root = s3.prefix.isEmpty ? "" : s3.prefix + "/"
    guard key.hasPrefix(root) else { return nil }
    let rest = key.dropFirst(root.count)
    if rest == "config" { return .config }
    let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count >= 2, let type = ObjectType(rawValue: String(parts[0])), type != .config,
      let name = parts.last, type.isValidName(name)
    else { return nil }
    if type == .pack {
      guard parts.count == 3, parts[1] == name.prefix(2) else { return nil }
    } else if parts.count != 2 {
      return nil
    }
    return Handle(type, String(name))
  }


  /// Content-addressed objects are named by the SHA-256 of their bytes: the name doubles as
  /// the signed payload hash, so the server rejects a body that does not match its name.
  func payloadHash(_ h: Handle, _ data: [UInt8]) -> String {
    h.contentHash ?? SigV4Signer.sha256Hex(data)
  }

  // MARK: - Backend

  public func save(_ handle: Handle, data: [UInt8]) async throws {
    try await put(handle, data: data, retention: nil)
  }

  public func save(_ handle: Handle, data: [UInt8], retention: ObjectRetention) async throws {
    try await put(handle, data: data, retention: retention)
  }

  private var aclHeaders: [(String, String)] {
    options.cannedACL.map { [("x-amz-acl", $0)] } ?? []
  }

  private func lockHeaders(_ r: ObjectRetention?, body: [UInt8]) -> [(String, String)] {
    guard let r else { return aclHeaders }
    return aclHeaders + [
      ("x-amz-object-lock-mode", r.mode.wireName),
      ("x-amz-object-lock-retain-until-date", S3HTTP.isoDate(r.until)),
      ("content-md5", SigV4Signer.md5Base64(body)),
    ]
  }

  private func put(_ handle: Handle, data: [UInt8], retention: ObjectRetention?) async throws {
    if data.count > options.multipartThreshold {
      try await multipartUpload(handle, data: data, retention: retention)
      return
    }
    _ = try await client.send(
      .PUT, key: key(handle), headers: lockHeaders(retention, body: data), body: data,
      payloadHash: payloadHash(handle, data), handle: handle)
  }

  private func multipartUpload(_ handle: Handle, data: [UInt8], retention: ObjectRetention?)
    async throws
  {
    let key = key(handle)
    let created = try await client.send(
      .POST, key: key, query: [("uploads", "")],
      headers: aclHeaders + (retention.map {
        [("x-amz-object-lock-mode", $0.mode.wireName),
         ("x-amz-object-lock-retain-until-date", S3HTTP.isoDate($0.until))]
      } ?? []), handle: handle)
    guard let uploadID = XMLElement.parse(created.body)?["UploadId"], !uploadID.isEmpty else {
      throw StorageError(.invalid, handle, "the server started a multipart upload without an id")
    }
    do {
      let partSize = max(options.partSize, 5 << 20)
      let count = (data.count + partSize - 1) / partSize
      var etags = [String](repeating: "", count: count)
      try await withThrowingTaskGroup(of: (Int, String).self) { group in
        var next = 0
        func start() {
          let n = next
          next += 1
          let part = Array(data[n * partSize..<min(data.count, (n + 1) * partSize)])
          group.addTask {
            let r = try await self.client.send(
              .PUT, key: key, query: [("partNumber", String(n + 1)), ("uploadId", uploadID)],
              headers: [("content-md5", SigV4Signer.md5Base64(part))], body: part, handle: handle)
            return (n, r.headers.first(name: "ETag") ?? "")
          }
        }
        for _ in 0..<min(4, count) { start() }
        while let (n, etag) = try await group.next() {
          etags[n] = etag
          if next < count { start() }
        }
      }
      let body =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        + etags.enumerated().map {
          "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLText.escape($0.element))</ETag></Part>"
        }.joined() + "</CompleteMultipartUpload>"
      _ = try await client.send(
        .POST, key: key, query: [("uploadId", uploadID)], body: Array(body.utf8), handle: handle)
    } catch {
      _ = try? await client.send(
        .DELETE, key: key, query: [("uploadId", uploadID)], handle: handle)
      throw error
    }
    // All servers tried ignore lock headers on CreateMultipartUpload: verify, and set the
    // lock on the new version when it is missing or short.
    if let retention {
      let current = try await self.retention(of: handle)
      if current == nil || current!.until < retention.until.addingTimeInterval(-1) {
        try await extendRetention(of: handle, to: retention)
      }
    }
  }

  public func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    if length == 0 {
      _ = try await stat(handle)
      return []
    }
    var headers: [(String, String)] = []
    if offset > 0 || length != nil {
      headers.append(("range", "bytes=\(offset)-\(length.map { String(offset + $0 - 1) } ?? "")"))
    }
    let r = try await client.send(.GET, key: key(handle), headers: headers, handle: handle)
    if let length, r.body.count != length {
      throw StorageError(
        .invalid, handle, "short read: wanted \(length) bytes at \(offset), got \(r.body.count)")
    }
    if r.status == 200, offset > 0 {
      // A server that ignored the range sent the whole object.
      guard offset <= r.body.count else {
        throw StorageError(.invalid, handle, "offset \(offset) is beyond the object's end")
      }
      return Array(r.body[offset...])
    }
    return r.body
  }

  /// Reads a range straight into the caller's buffer (restore and check reuse one per worker).
  /// A server that ignores the range and answers 200 with the whole object is handled: the
  /// bytes before and after the range are skipped.
  public func read(_ handle: Handle, offset: Int, into buffer: UnsafeMutableRawBufferPointer) async throws {
    guard buffer.count > 0 else { return }
    try await client.get(key: key(handle), offset: offset, into: buffer, handle: handle)
  }

  public func stat(_ handle: Handle) async throws -> ObjectInfo {
    let r = try await client.send(.HEAD, key: key(handle), handle: handle)
    guard let size = r.headers.first(name: "Content-Length").flatMap(Int.init) else {
      throw StorageError(.invalid, handle, "HEAD answered without a Content-Length")
    }
    return ObjectInfo(name: handle.name, size: size)
  }

  public func list(_ type: ObjectType) async throws -> [ObjectInfo] {
    if type == .config {
      return (try? await stat(.config)).map { [ObjectInfo(name: "", size: $0.size)] } ?? []
    }
    var out: [ObjectInfo] = []
    var token: String?
    repeat {
      var query = [("list-type", "2"), ("prefix", directory(type)), ("max-keys", "1000")]
      if let token { query.append(("continuation-token", token)) }
      let r = try await client.send(.GET, key: nil, query: query)
      guard let root = XMLElement.parse(r.body), root.name == "ListBucketResult" else {
        throw StorageError(.invalid, nil, "the server's object listing is not S3 XML")
      }
      for c in root.all("Contents") {
        guard let k = c["Key"], let h = handle(forKey: k), h.type == type else { continue }
        out.append(ObjectInfo(name: h.name, size: c["Size"].flatMap(Int.init) ?? 0))
      }
      token = root["IsTruncated"] == "true" ? root["NextContinuationToken"] : nil
    } while token != nil
    return out
  }

  /// Removes the current version. On a versioned bucket this leaves a delete marker and the
  /// version stays until its lock runs out.
  public func remove(_ handle: Handle) async throws {
    _ = try await stat(handle)  // S3 answers 204 for missing keys; the contract wants notFound.
    do {
      _ = try await client.send(.DELETE, key: key(handle), handle: handle)
    } catch var e as StorageError where e.code == .permissionDenied {
      e.detail += " — these credentials may write but not delete"
      e.hint =
        "this client is append-only (by bucket policy or Object Lock); run forget and prune "
        + "with the credentials of the account that administers the bucket"
      throw e
    }
  }

  // MARK: - Bucket

  /// Creates the bucket when it does not exist (with Object Lock, and so versioning, when
  /// asked); returns whether it did. An existing bucket is left as it is.
  public func createBucketIfMissing(objectLock: Bool, region: String) async throws -> Bool {
    do {
      _ = try await client.send(.HEAD, key: nil)
      return false
    } catch let e as StorageError where e.code == .notFound || e.code == .noContainer {
      var headers: [(String, String)] = []
      if objectLock { headers.append(("x-amz-bucket-object-lock-enabled", "true")) }
      var body: [UInt8]?
      if region != "us-east-1" {
        body = Array(
          ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<LocationConstraint>\(XMLText.escape(region))</LocationConstraint></CreateBucketConfiguration>").utf8)
      }
      _ = try await client.send(.PUT, key: nil, headers: headers, body: body)
      return true
    }
  }

  // MARK: - Object Lock

  public func objectLockStatus() async throws -> ObjectLockStatus {
    let versioning = try await client.send(.GET, key: nil, query: [("versioning", "")])
    let versioned = XMLElement.parse(versioning.body)?["Status"] == "Enabled"
    let lock: S3Response
    do {
      lock = try await client.send(.GET, key: nil, query: [("object-lock", "")])
    } catch let e as StorageError where e.code == .notFound || e.code == .invalid {
      return ObjectLockStatus(enabled: false, versioning: versioned)
    }
    guard let root = XMLElement.parse(lock.body) else {
      return ObjectLockStatus(enabled: false, versioning: versioned)
    }
    var defaultRule: String?
    if let d = root.child("Rule")?.child("DefaultRetention") {
      defaultRule = "\(d["Mode"] ?? "?") \(d["Days"].map { "\($0) days" } ?? d["Years"].map { "\($0) years" } ?? "")"
    }
    return ObjectLockStatus(
      enabled: root["ObjectLockEnabled"] == "Enabled", versioning: versioned,
      defaultRetention: defaultRule)
  }

  public func retention(of handle: Handle) async throws -> ObjectRetention? {
    try await retention(key: key(handle), versionID: nil, handle: handle)
  }

  func retention(key: String, versionID: String?, handle: Handle?) async throws
    -> ObjectRetention?
  {
    var query = [("retention", "")]
    if let versionID { query.append(("versionId", versionID)) }
    let r: S3Response
    do {
      r = try await client.send(.GET, key: key, query: query, handle: handle)
    } catch let e as StorageError where e.code == .notFound || e.code == .invalid {
      // NoSuchObjectLockConfiguration (404) or InvalidRequest (400): no lock on the object.
      // A missing object is a different 404: tell them apart with HEAD.
      if e.detail.contains("NoSuchKey") { throw e }
      if handle != nil, versionID == nil { _ = try await stat(handle!) }
      return nil
    }
    guard let root = XMLElement.parse(r.body), let mode = root["Mode"],
      let until = root["RetainUntilDate"].flatMap(S3HTTP.parseISODate),
      let m = LockMode(rawValue: mode.lowercased())
    else { return nil }
    return ObjectRetention(mode: m, until: until)
  }

  public func extendRetention(of handle: Handle, to retention: ObjectRetention) async throws {
    let body =
      "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>\(retention.mode.wireName)</Mode>"
      + "<RetainUntilDate>\(S3HTTP.isoDate(retention.until))</RetainUntilDate></Retention>"
    let bytes = Array(body.utf8)
    _ = try await client.send(
      .PUT, key: key(handle), query: [("retention", "")],
      headers: [("content-md5", SigV4Signer.md5Base64(bytes))], body: bytes, handle: handle)
  }

  public func retainedVersions() async throws -> [RetainedVersion] {
    var out: [RetainedVersion] = []
    var keyMarker: String?
    var versionMarker: String?
    repeat {
      var query = [("versions", ""), ("prefix", s3.prefix.isEmpty ? "" : s3.prefix + "/")]
      if let keyMarker { query.append(("key-marker", keyMarker)) }
      if let versionMarker { query.append(("version-id-marker", versionMarker)) }
      let r = try await client.send(.GET, key: nil, query: query)
      guard let root = XMLElement.parse(r.body), root.name == "ListVersionsResult" else {
        throw StorageError(.invalid, nil, "the server's version listing is not S3 XML")
      }
      for v in root.children where v.name == "Version" || v.name == "DeleteMarker" {
        guard let k = v["Key"], let id = v["VersionId"], v["IsLatest"] != "true" || v.name == "DeleteMarker",
          handle(forKey: k) != nil
        else { continue }
        var retention: ObjectRetention?
        if v.name == "Version" {
          retention = try await self.retention(key: k, versionID: id, handle: nil)
        }
        out.append(
          RetainedVersion(
            key: k, versionID: id, size: v["Size"].flatMap(Int.init) ?? 0, retention: retention,
            isDeleteMarker: v.name == "DeleteMarker"))
      }
      if root["IsTruncated"] == "true" {
        keyMarker = root["NextKeyMarker"]
        versionMarker = root["NextVersionIdMarker"]
      } else {
        keyMarker = nil
      }
    } while keyMarker != nil
    return out
  }

  public func purge(_ version: RetainedVersion) async throws {
    _ = try await client.send(.DELETE, key: version.key, query: [("versionId", version.versionID)])
  }
}
