import Crypto
import _CryptoExtras
public import Foundation
public import LifeboatCore

/// How a password becomes the key that unwraps the master secret.
public enum KeyDerivation: Sendable, Equatable, Codable {
  /// scrypt (memory-hard; the default). N = 2^logN.
  case scrypt(logN: Int, r: Int, p: Int)
  /// PBKDF2-HMAC-SHA256, the FIPS 140-approved choice for NIST SP 800-171 users.
  case pbkdf2(rounds: Int)

  /// N = 2^15, r = 8, p = 4: restic's parameters. 32 MiB of memory per guess (so opening
  /// stays within a small memory budget) and ~220 ms on the reference machine.
  public static let defaultScrypt = KeyDerivation.scrypt(logN: 15, r: 8, p: 4)
  /// OWASP 2023 guidance for PBKDF2-HMAC-SHA256; ~67 ms on the reference machine.
  public static let defaultPBKDF2 = KeyDerivation.pbkdf2(rounds: 600_000)

  public var name: String {
    switch self {
    case .scrypt: "scrypt"
    case .pbkdf2: "pbkdf2-sha256"
    }
  }

  /// The most a client will spend on one key file (docs/design.md §4): 8× the default's work
  /// and at most 256 MiB of memory. Key files are not authenticated until they open, so
  /// whoever can add one could otherwise make every open of the repository slow; one above
  /// the limit is reported and never tried.
  public static let maximumScryptWork = 1 << 23
  public static let maximumScryptMemory = 256 << 20
  public static let maximumPBKDF2Rounds = 4_800_000

  /// Why Lifeboat will not attempt this derivation, or nil when it is within the limits.
  public var limitProblem: String? {
    switch self {
    case .scrypt(let logN, let r, let p):
      guard (10...24).contains(logN), (1...64).contains(r), (1...64).contains(p) else {
        return "scrypt parameters logN=\(logN), r=\(r), p=\(p) are out of range"
      }
      let memory = 128 * r << logN
      let work = (r * p) << logN
      if memory > Self.maximumScryptMemory || work > Self.maximumScryptWork {
        return "its scrypt cost (N=2^\(logN), r=\(r), p=\(p): \(memory >> 20) MiB, \(work / (1 << 20))× the work of 2^20) "
          + "is above what Lifeboat attempts (\(Self.maximumScryptMemory >> 20) MiB, 8× the default's work)"
      }
      return nil
    case .pbkdf2(let rounds):
      guard rounds >= 1_000 else { return "PBKDF2 with \(rounds) rounds is below the minimum of 1,000" }
      if rounds > Self.maximumPBKDF2Rounds {
        return "PBKDF2 with \(rounds) rounds is above what Lifeboat attempts (\(Self.maximumPBKDF2Rounds))"
      }
      return nil
    }
  }

  /// About how long one derivation takes on the reference machine, in milliseconds: the order
  /// in which key files are tried (cheapest first).
  public var estimatedMilliseconds: Double {
    switch self {
    case .scrypt(let logN, let r, let p): Double((r * p) << min(logN, 40)) / 4_766
    case .pbkdf2(let rounds): Double(rounds) / 8_955
    }
  }

  func derive(password: [UInt8], salt: [UInt8]) throws -> SymmetricKey {
    if let problem = limitProblem { throw LifeboatError.corrupt("key file: \(problem)") }
    switch self {
    case .scrypt(let logN, let r, let p):
      return try KDF.Scrypt.deriveKey(
        from: password, salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: r,
        parallelism: p)
    case .pbkdf2(let rounds):
      return try KDF.Insecure.PBKDF2.deriveKey(
        from: password, salt: salt, using: .sha256, outputByteCount: 32,
        unsafeUncheckedRounds: rounds)
    }
  }
}

/// A key file (`keys/<sha256>`): the master secret wrapped under a password-derived key.
/// Several key files may exist; each opens the same repository with its own password.
///
/// JSON: `{"version":1,"kdf":"scrypt","logN":16,"r":8,"p":1,"salt":"<b64>","created":…,
/// "hostname":…,"username":…,"data":"<b64 envelope>"}`; `data` is an `Envelope` (purpose
/// `key-file`) whose plaintext is the 64-byte master secret.
public struct KeyFile: Codable, Sendable {
  /// A key file is a few hundred bytes; anything larger is not read.
  public static let maximumSize = 16 << 10

  public var version: Int
  public var kdf: String
  public var logN: Int?
  public var r: Int?
  public var p: Int?
  public var rounds: Int?
  public var salt: Data
  public var created: Date
  public var hostname: String
  public var username: String
  public var data: Data
  /// A copy of the repository's sealed `config` (docs/design.md §4), so that a damaged or lost
  /// config can be recovered from any key file: it is authenticated like the config itself.
  /// Absent in key files written before this field existed.
  public var config: Data?

  public var derivation: KeyDerivation? {
    switch kdf {
    case "scrypt":
      guard let logN, let r, let p else { return nil }
      return .scrypt(logN: logN, r: r, p: p)
    case "pbkdf2-sha256":
      guard let rounds else { return nil }
      return .pbkdf2(rounds: rounds)
    default: return nil
    }
  }

  public static func create(
    masterSecret: [UInt8], password: String, derivation: KeyDerivation, created: Date,
    hostname: String, username: String, sealedConfig: [UInt8]? = nil
  ) throws -> KeyFile {
    var rng = SystemRandomNumberGenerator()
    let salt = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let kek = try derivation.derive(password: Array(password.utf8), salt: salt)
    let sealed = Envelope.seal(masterSecret, key: kek, purpose: .keyFile)
    var f = KeyFile(
      version: 1, kdf: derivation.name, salt: Data(salt), created: created, hostname: hostname,
      username: username, data: Data(sealed))
    f.config = sealedConfig.map { Data($0) }
    switch derivation {
    case .scrypt(let logN, let r, let p):
      f.logN = logN
      f.r = r
      f.p = p
    case .pbkdf2(let rounds):
      f.rounds = rounds
    }
    return f
  }

  /// The master secret, or nil when the password does not open this key file.
  public func open(password: String) throws -> [UInt8]? {
    guard version == 1, let derivation else {
      throw LifeboatError.corrupt("key file: unknown version or key derivation \(kdf)")
    }
    guard salt.count == 32 else { throw LifeboatError.corrupt("key file: salt must be 32 bytes") }
    let kek = try derivation.derive(password: Array(password.utf8), salt: Array(salt))
    return try? Envelope.open(Array(data), key: kek, purpose: .keyFile)
  }

  public func encoded() throws -> [UInt8] {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .prettyPrinted]
    enc.dateEncodingStrategy = .iso8601
    return Array(try enc.encode(self))
  }

  public static func decode(_ bytes: [UInt8]) throws -> KeyFile {
    let dec = JSONDecoder()
    dec.dateDecodingStrategy = .iso8601
    do {
      return try dec.decode(KeyFile.self, from: Data(bytes))
    } catch {
      throw LifeboatError.corrupt("key file does not decode: \(error)")
    }
  }

  private init(
    version: Int, kdf: String, salt: Data, created: Date, hostname: String, username: String,
    data: Data
  ) {
    self.version = version
    self.kdf = kdf
    self.salt = salt
    self.created = created
    self.hostname = hostname
    self.username = username
    self.data = data
  }
}

/// The repository config (`config`), sealed under the metadata key (purpose `config`).
public struct RepositoryConfig: Codable, Sendable, Equatable {
  /// The repository format this Lifeboat writes (docs/design.md).
  public static let currentVersion = 1

  public var version: Int
  /// Random, stable identity of the repository (hex).
  public var id: String
  public var chunker: Chunker.Configuration
  /// Target pack size in bytes.
  public var packSize: Int
  /// zstd level for blobs; 0 stores everything raw.
  public var compressionLevel: Int
  /// The compression mode's name (docs/design.md §5); absent in repositories made before
  /// modes, whose `compressionLevel` alone decides, and a name this version does not know is
  /// read the same way. `compressionLevel` is always the mode's level, so an older Lifeboat
  /// writing to the repository compresses the same way, without the probe.
  public var compression: String?
  /// Object Lock: every object is written locked for this long (docs/design.md §13).
  /// Absent in repositories without immutability.
  public var immutability: Immutability?

  public struct Immutability: Codable, Sendable, Equatable {
    public var days: Int
    /// `compliance` or `governance`.
    public var mode: String

    public init(days: Int, mode: String) {
      self.days = days
      self.mode = mode
    }
  }

  /// A new configuration; `id` defaults to 64 random hex digits.
  public init(id: String? = nil, chunker: Chunker.Configuration = .init(), packSize: Int = 16 << 20,
    compressionLevel: Int = 3, compression: CompressionMode? = .auto, immutability: Immutability? = nil)
  {
    self.compression = compression?.rawValue
    self.immutability = immutability
    self.version = Self.currentVersion
    var rng = SystemRandomNumberGenerator()
    self.id = id ?? ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()).hex
    self.chunker = chunker
    self.packSize = packSize
    self.compressionLevel = compression?.level ?? compressionLevel
  }

  public func sealed(keys: RepositoryKeys) throws -> [UInt8] {
    Envelope.seal(Array(try JSONEncoder().encode(self)), key: keys.metadataKey, purpose: .config)
  }

  public static func open(_ bytes: [UInt8], keys: RepositoryKeys) throws -> RepositoryConfig {
    let plain = try Envelope.open(bytes, key: keys.metadataKey, purpose: .config)
    do {
      let c = try JSONDecoder().decode(RepositoryConfig.self, from: Data(plain))
      guard c.version == 1 else {
        throw LifeboatError(.fatal, "repository format version \(c.version) is not supported",
          hint: "upgrade lifeboat")
      }
      guard c.chunker.minSize >= 64, c.chunker.minSize <= c.chunker.normalSize,
        c.chunker.normalSize <= c.chunker.maxSize, c.chunker.maxSize <= 64 << 20,
        c.packSize >= 1 << 16, c.packSize <= 1 << 30, (0...22).contains(c.compressionLevel),
        c.id.count == 64, ID(hex: c.id) != nil,
        c.immutability.map({ (1...36_500).contains($0.days) && ["compliance", "governance"].contains($0.mode) }) ?? true
      else { throw LifeboatError.corrupt("config: parameters out of range") }
      return c
    } catch let e as LifeboatError {
      throw e
    } catch {
      throw LifeboatError.corrupt("config does not decode: \(error)")
    }
  }
}

/// JSON coding of snapshots, sealed under the metadata key (purpose `snapshot`).
public enum SnapshotFormat {
  public static func seal(_ snapshot: Snapshot, keys: RepositoryKeys) throws -> [UInt8] {
    let enc = JSONEncoder()
    enc.dateEncodingStrategy = .custom { date, encoder in
      var c = encoder.singleValueContainer()
      try c.encode(Rfc3339.format(date))
    }
    enc.outputFormatting = [.sortedKeys]
    return Envelope.seal(Array(try enc.encode(snapshot)), key: keys.metadataKey, purpose: .snapshot)
  }

  public static func open(_ bytes: [UInt8], keys: RepositoryKeys) throws -> Snapshot {
    let plain = try Envelope.open(bytes, key: keys.metadataKey, purpose: .snapshot)
    let dec = JSONDecoder()
    dec.dateDecodingStrategy = .custom { decoder in
      let c = try decoder.singleValueContainer()
      let s = try c.decode(String.self)
      guard let d = Rfc3339.parse(s) else {
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "bad time \(s)")
      }
      return d
    }
    do {
      return try dec.decode(Snapshot.self, from: Data(plain))
    } catch {
      throw LifeboatError.corrupt("snapshot does not decode: \(error)")
    }
  }
}

/// Marks are sealed like snapshots, under their own purpose: the same JSON conventions (sorted
/// keys, RFC 3339 times), so a mark's bytes are as stable as a snapshot's.
public enum MarkFormat {
  public static let currentVersion = 1

  public static func seal(_ mark: SnapshotMark, keys: RepositoryKeys) throws -> [UInt8] {
    let enc = JSONEncoder()
    enc.dateEncodingStrategy = .custom { date, encoder in
      var c = encoder.singleValueContainer()
      try c.encode(Rfc3339.format(date))
    }
    enc.outputFormatting = [.sortedKeys]
    return Envelope.seal(Array(try enc.encode(mark)), key: keys.metadataKey, purpose: .mark)
  }

  public static func open(_ bytes: [UInt8], keys: RepositoryKeys) throws -> SnapshotMark {
    let plain = try Envelope.open(bytes, key: keys.metadataKey, purpose: .mark)
    let dec = JSONDecoder()
    dec.dateDecodingStrategy = .custom { decoder in
      let c = try decoder.singleValueContainer()
      let s = try c.decode(String.self)
      guard let d = Rfc3339.parse(s) else {
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "bad time \(s)")
      }
      return d
    }
    do {
      return try dec.decode(SnapshotMark.self, from: Data(plain))
    } catch {
      throw LifeboatError.corrupt("mark does not decode: \(error)")
    }
  }
}

/// RFC 3339 times with nanosecond precision in UTC, e.g. `2026-11-29T01:02:03.123456789Z`.
public enum Rfc3339 {
  public static func format(_ date: Date) -> String {
    let t = date.timeIntervalSince1970
    var secs = Int64(t.rounded(.down))
    var nanos = Int64(((t - Double(secs)) * 1e9).rounded())
    if nanos >= 1_000_000_000 {
      secs += 1
      nanos -= 1_000_000_000
    }
    var tmv = tm()
    var tt = time_t(secs)
    gmtime_r(&tt, &tmv)
    func pad(_ v: Int32, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    let ns = String(nanos)
    return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T"
      + "\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2))."
      + String(repeating: "0", count: 9 - ns.count) + ns + "Z"
  }

  /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC only); nil for anything else.
  public static func parse(_ s: String) -> Date? {
    guard s.hasSuffix("Z") else { return nil }
    let body = s.dropLast()
    let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    guard let base = parts.first, base.count == 19 else { return nil }
    var fraction = 0.0
    if parts.count == 2 {
      let digits = parts[1]
      guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
        let v = Double("0." + digits)
      else { return nil }
      fraction = v
    }
    let f = base.split(separator: "-", omittingEmptySubsequences: false)
    guard f.count == 3, f[0].count == 4, f[1].count == 2 else { return nil }
    let dayTime = f[2].split(separator: "T", omittingEmptySubsequences: false)
    guard dayTime.count == 2, dayTime[0].count == 2 else { return nil }
    let hms = dayTime[1].split(separator: ":", omittingEmptySubsequences: false)
    guard hms.count == 3, hms.allSatisfy({ $0.count == 2 }) else { return nil }
    let fields = [f[0], f[1], dayTime[0], hms[0], hms[1], hms[2]].map { Int32($0) }
    guard fields.allSatisfy({ $0 != nil }) else { return nil }
    let v = fields.map { $0! }
    guard (1...12).contains(v[1]), (1...31).contains(v[2]), (0...23).contains(v[3]),
      (0...59).contains(v[4]), (0...60).contains(v[5])
    else { return nil }
    var tmv = tm()
    tmv.tm_year = v[0] - 1900
    tmv.tm_mon = v[1] - 1
    tmv.tm_mday = v[2]
    tmv.tm_hour = v[3]
    tmv.tm_min = v[4]
    tmv.tm_sec = v[5]
    let secs = timegm(&tmv)
    return Date(timeIntervalSince1970: Double(secs) + fraction)
  }
}
