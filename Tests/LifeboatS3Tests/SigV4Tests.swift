import Foundation
import LifeboatS3
import Testing

/// AWS's published Signature Version 4 examples for S3
/// (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
@Suite struct SigV4Tests {
  let signer = SigV4Signer(
    credentials: S3Credentials(
      accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    region: "us-east-1")
  let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
  let host = "examplebucket.s3.amazonaws.com"

  @Test func getObjectWithRange() {
    let s = signer.sign(
      method: "GET", path: "/test.txt", query: [],
      headers: [
        ("Host", host), ("Range", "bytes=0-9"),
        ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
      ], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    #expect(s.stringToSign.hasSuffix("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
    #expect(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    #expect(
      s.authorization
        == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
  }

  @Test func putObjectWithBody() {
    let body = Array("Welcome to Amazon S3.".utf8)
    let hash = SigV4Signer.sha256Hex(body)
    #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    let s = signer.sign(
      method: "PUT", path: "/" + SigV4Signer.encode("test$file.text", keepSlash: true), query: [],
      headers: [
        ("Host", host), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("x-amz-content-sha256", hash), ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
      ], payloadHash: hash, date: date)
    #expect(s.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n\n"))
    #expect(s.stringToSign.hasSuffix("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"))
    #expect(s.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
  }

  @Test func getBucketLifecycleQueryWithoutValue() {
    let s = signer.sign(
      method: "GET", path: "/", query: [("lifecycle", "")],
      headers: [
        ("Host", host), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
        ("x-amz-date", "20130524T000000Z"),
      ], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    #expect(s.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
  }

  @Test func listObjectsSortsQueryParameters() {
    let s = signer.sign(
      method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
      headers: [
        ("Host", host), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
        ("x-amz-date", "20130524T000000Z"),
      ], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    #expect(s.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
  }

  @Test func aWrongSecretChangesTheSignature() {
    var other = signer
    other.credentials.secretAccessKey += "x"
    let args: (String, String) = ("GET", "/test.txt")
    let a = signer.sign(method: args.0, path: args.1, query: [], headers: [("host", host)], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    let b = other.sign(method: args.0, path: args.1, query: [], headers: [("host", host)], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
    #expect(a.signature != b.signature)
    #expect(!b.authorization.contains(other.credentials.secretAccessKey))
  }

  @Test func uriEncoding() {
    #expect(SigV4Signer.encode("a b/c~d_e.f-g") == "a%20b%2Fc~d_e.f-g")
    #expect(SigV4Signer.encode("data/ab/cd", keepSlash: true) == "data/ab/cd")
    #expect(SigV4Signer.encode("é") == "%C3%A9")
  }

  @Test func amzDate() {
    #expect(SigV4Signer.amzDate(date) == "20130524T000000Z")
    #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
  }
}

@Suite struct S3LocationTests {
  @Test func endpointURLs() throws {
    let l = try S3Location.parse("s3:http://127.0.0.1:7480/lifeboat/school/finance", environment: [:])
    #expect(l.scheme == "http" && l.host == "127.0.0.1" && l.port == 7480)
    #expect(l.bucket == "lifeboat" && l.prefix == "school/finance" && !l.virtualHosted)
    #expect(l.path(key: "school/finance/config") == "/lifeboat/school/finance/config")
    #expect(l.hostHeader == "127.0.0.1:7480")
    #expect(l.description == "s3:http://127.0.0.1:7480/lifeboat/school/finance")
    let root = try S3Location.parse("s3:https://s3.example.net/bkt", environment: [:])
    #expect(root.prefix == "" && root.port == nil && root.hostHeader == "s3.example.net")
  }

  @Test func awsURLsUseTheRegion() throws {
    let l = try S3Location.parse("s3://my-backups/clinic", environment: ["AWS_REGION": "eu-central-1"])
    #expect(l.host == "my-backups.s3.eu-central-1.amazonaws.com" && l.virtualHosted)
    #expect(l.path(key: "clinic/config") == "/clinic/config")
    let dotted = try S3Location.parse("s3://my.backups", environment: [:])
    #expect(dotted.host == "s3.us-east-1.amazonaws.com" && !dotted.virtualHosted)
    let custom = try S3Location.parse(
      "s3://bkt/p", environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:4566"])
    #expect(custom.host == "127.0.0.1" && custom.port == 4566 && !custom.virtualHosted)
  }

  @Test func badURLsSayWhatToWrite() {
    for bad in ["s3:", "s3:ftp://x/y", "s3:https://host", "s3:https://host/a", "s3://"] {
      #expect(throws: (any Error).self, "\(bad)") { try S3Location.parse(bad, environment: [:]) }
    }
  }

  @Test func credentialsFromEnvironmentAndProfiles() throws {
    let env = try S3Environment.credentials([
      "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "T",
    ])
    #expect(env.accessKeyID == "AK" && env.secretAccessKey == "SK" && env.sessionToken == "T")
    #expect(!env.description.contains("SK"))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lb-cred-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("credentials").path
    try """
      [default]
      aws_access_key_id = DEF
      aws_secret_access_key = DEFSECRET
      # a comment
      [offsite]
      aws_access_key_id=OFF
      aws_secret_access_key=OFFSECRET
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let off = try S3Environment.credentials(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "offsite"])
    #expect(off.accessKeyID == "OFF" && off.secretAccessKey == "OFFSECRET")
    let def = try S3Environment.credentials(["AWS_SHARED_CREDENTIALS_FILE": file])
    #expect(def.accessKeyID == "DEF")
    #expect(throws: (any Error).self) {
      try S3Environment.credentials(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "nope"])
    }
    #expect(throws: (any Error).self) { try S3Environment.credentials(["AWS_ACCESS_KEY_ID": "x"]) }
  }
}
