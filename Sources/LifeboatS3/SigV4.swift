// AWS Signature Version 4 for S3 requests (header-based authentication).
// Tested against AWS's published S3 signing examples in LifeboatS3Tests.

import Crypto
public import Foundation

/// Access key, secret and optional session token. `description` never shows the secret.
public struct S3Credentials: Sendable, CustomStringConvertible {
  public var accessKeyID: String
  public var secretAccessKey: String
  public var sessionToken: String?

  public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyID = accessKeyID
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
  }

  public var description: String { "access key \(accessKeyID)" }
}

/// Signs requests for one service and region.
public struct SigV4Signer: Sendable {
  public var credentials: S3Credentials
  public var region: String
  public var service: String

  public init(credentials: S3Credentials, region: String, service: String = "s3") {
    self.credentials = credentials
    self.region = region
    self.service = service
  }

  public static let emptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  /// The pieces of one signature, kept for tests and diagnostics.
  public struct Signature: Sendable {
    public var canonicalRequest: String
    public var stringToSign: String
    public var signature: String
    public var signedHeaders: String
    public var authorization: String
  }

  /// Signs a request.
  /// - Parameters:
  ///   - path: the already URI-encoded absolute path (`/bucket/key`).
  ///   - query: decoded query parameters; they are encoded and sorted here.
  ///   - headers: every header to sign, including `host`; names in any case.
  ///   - payloadHash: hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
  ///   - date: the signing time; must match the `x-amz-date` header when one is given.
  public func sign(
    method: String, path: String, query: [(String, String)], headers: [(String, String)],
    payloadHash: String, date: Date
  ) -> Signature {
    let amzDate = Self.amzDate(date)
    let day = String(amzDate.prefix(8))
    var encoded: [(String, String)] = []
    for (k, v) in query { encoded.append((Self.encode(k), Self.encode(v))) }
    encoded.sort { (a: (String, String), b: (String, String)) -> Bool in
      a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
    }
    let canonicalQuery = encoded.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    var byName: [String: [String]] = [:]
    for (name, value) in headers {
      byName[name.lowercased(), default: []].append(Self.trimHeaderValue(value))
    }
    let names = byName.keys.sorted()
    let canonicalHeaders = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
    let signedHeaders = names.joined(separator: ";")
    let canonicalRequest = [
      method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash,
    ].joined(separator: "\n")
    let scope = "\(day)/\(region)/\(service)/aws4_request"
    let stringToSign = [
      "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
    ].joined(separator: "\n")
    var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
    for part in [day, region, service, "aws4_request"] {
      key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
    }
    let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    let authorization =
      "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope),"
      + "SignedHeaders=\(signedHeaders),Signature=\(signature)"
    return Signature(
      canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
      signedHeaders: signedHeaders, authorization: authorization)
  }

  /// `YYYYMMDDTHHMMSSZ` in UTC.
  public static func amzDate(_ date: Date) -> String {
    var t = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&t, &parts)
    return String(
      format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
  }

  /// RFC 3986 unreserved characters stay; everything else is %XX (upper case). With
  /// `keepSlash`, `/` stays too (for object keys in paths).
  public static func encode(_ s: String, keepSlash: Bool = false) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
        UInt8(ascii: "."), UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(b))
      case UInt8(ascii: "/") where keepSlash:
        out.append("/")
      default:
        out += String(format: "%%%02X", b)
      }
    }
    return out
  }

  static func trimHeaderValue(_ v: String) -> String {
    v.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
      .trimmingCharacters(in: .whitespaces)
  }

  static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in digest {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

  public static func md5Base64(_ bytes: [UInt8]) -> String {
    Data(Insecure.MD5.hash(data: bytes)).base64EncodedString()
  }
}
