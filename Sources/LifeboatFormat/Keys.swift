public import Crypto
public import LifeboatCore
import Foundation
import Synchronization
import CLifeboatSystem
#if canImport(Glibc)
  import Glibc
#endif

/// The keys of one repository, each derived from the 64-byte master secret with HKDF-SHA256
/// and a distinct label, so that a key serves exactly one purpose (docs/design.md §Keys).
public struct RepositoryKeys: Sendable {
  /// HMAC-SHA256 key naming blobs: blob ID = HMAC(idKey, plaintext).
  public let idKey: SymmetricKey
  /// Root key for blob encryption (data and tree blobs).
  public let dataKey: SymmetricKey
  /// Root key for everything else: pack headers, index files, snapshots, the config.
  public let metadataKey: SymmetricKey
  /// Seed of the chunker's gear table, so chunk boundaries do not leak across repositories.
  public let chunkerSeed: [UInt8]
  public let masterSecret: [UInt8]
  /// `dataKey` ready to seal and open blobs (its key-derivation HMAC keyed once).
  public let blobKey: EnvelopeKey
  /// HMAC keyed with `idKey` once; each blob ID starts from a copy of it.
  private let idMAC: HMAC<SHA256>

  public static let masterSecretLength = 64

  public init(masterSecret: [UInt8]) throws {
    guard masterSecret.count == Self.masterSecretLength else {
      throw LifeboatError.corrupt("master secret has \(masterSecret.count) bytes, expected 64")
    }
    self.masterSecret = masterSecret
    let ikm = SymmetricKey(data: masterSecret)
    func derive(_ label: String, _ count: Int = 32) -> SymmetricKey {
      HKDF<SHA256>.deriveKey(
        inputKeyMaterial: ikm, salt: Array("lifeboat-repository-v1".utf8),
        info: Array(label.utf8), outputByteCount: count)
    }
    idKey = derive("blob-id")
    dataKey = derive("data")
    metadataKey = derive("metadata")
    chunkerSeed = derive("chunker").withUnsafeBytes { Array($0) }
    blobKey = EnvelopeKey(root: dataKey, purpose: .blob)
    idMAC = HMAC<SHA256>(key: idKey)
  }

  public static func generate() throws -> RepositoryKeys {
    var rng = SystemRandomNumberGenerator()
    return try RepositoryKeys(masterSecret: (0..<masterSecretLength).map { _ in rng.next() })
  }

  /// The keyed ID of a blob's plaintext.
  public func blobID(_ plaintext: UnsafeRawBufferPointer) -> ID {
    var hasher = blobHasher()
    hasher.update(plaintext)
    return hasher.finish()
  }

  public func blobID(_ plaintext: [UInt8]) -> ID {
    plaintext.withUnsafeBytes { blobID($0) }
  }

  /// The keyed ID computed piece by piece: `update` with each part of the plaintext in
  /// order, then `finish`.
  public struct BlobHasher {
    fileprivate var mac: HMAC<SHA256>

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { mac.update(data: bytes) }

    public func finish() -> ID { mac.finalize().withUnsafeBytes { ID(raw: $0) } }
  }

  /// Copying the keyed HMAC costs two small copies of SHA-256 state; keying a new one costs
  /// two compressions and half a dozen allocations, per blob.
  public func blobHasher() -> BlobHasher { BlobHasher(mac: idMAC) }
}

/// A root key bound to one purpose, with the one-time-key HMAC already keyed and fed the
/// purpose's label. Deriving a one-time key from it costs the salt's SHA-256 blocks, not a new
/// HMAC key schedule: this is what blobs use, tens of thousands per second.
public struct EnvelopeKey: Sendable {
  public let purpose: Envelope.Purpose
  /// HMAC-SHA256(root, ·) after absorbing `[1]₃₂ ‖ Label ‖ 0x00`.
  fileprivate let labelled: HMAC<SHA256>

  public init(root: SymmetricKey, purpose: Envelope.Purpose) {
    self.purpose = purpose
    var mac = HMAC<SHA256>(key: root)
    mac.update(data: [0, 0, 0, 1] + Array("lifeboat-object-v1/\(purpose.rawValue)".utf8) + [0])
    labelled = mac
  }
}

/// The authenticated-encryption envelope of every encrypted object and blob.
///
/// `version(1) ‖ salt(24) ‖ ciphertext ‖ tag(16)`. A fresh random 24-byte salt and the purpose
/// feed a KDF in counter mode (NIST SP 800-108r1, HMAC-SHA256 as the PRF, one block) to a
/// one-time 256-bit AES-GCM key; the nonce is fixed at zero because that key seals exactly one
/// message. No AES-GCM key ever encrypts more than one message, so the 2^32 random-nonce limit
/// of a single GCM key cannot be reached (the collision bound is on the 192-bit salt instead).
/// See docs/adr/0001-one-time-keys-per-object.md.
public enum Envelope {
  public static let version: UInt8 = 1
  public static let saltLength = 24
  public static let tagLength = 16
  public static let overhead = 1 + saltLength + tagLength

  /// What an object is for; bound into the key derivation so a ciphertext made for one purpose
  /// does not open as another.
  public enum Purpose: String, Sendable, CaseIterable {
    case blob, packHeader = "pack-header", index, snapshot, config, keyFile = "key-file", mark
    /// Files this machine keeps about a repository (never stored in it): the record of verified packs.
    case localCache = "local-cache"
  }

  /// `[L]₃₂` = 256 bits.
  private static let suffix: [UInt8] = [0, 0, 1, 0]
  // Twelve bytes is always a valid GCM nonce: this cannot fail.
  private static let zeroNonce = try! AES.GCM.Nonce(data: [UInt8](repeating: 0, count: 12))

  /// K = HMAC-SHA256(root, [1]₃₂ ‖ Label ‖ 0x00 ‖ salt ‖ [256]₃₂).
  private static func oneTimeKey(_ key: EnvelopeKey, salt: UnsafeRawBufferPointer) -> SymmetricKey {
    var mac = key.labelled
    mac.update(data: salt)
    mac.update(data: suffix)
    return mac.finalize().withUnsafeBytes { SymmetricKey(data: $0) }
  }

  public static func seal(
    _ plaintext: UnsafeRawBufferPointer, key root: SymmetricKey, purpose: Purpose
  ) -> [UInt8] {
    seal(plaintext, key: EnvelopeKey(root: root, purpose: purpose))
  }

  public static func seal(_ plaintext: UnsafeRawBufferPointer, key envelopeKey: EnvelopeKey) -> [UInt8] {
    let salt = SaltSource.shared.next(saltLength)
    let key = salt.withUnsafeBytes { oneTimeKey(envelopeKey, salt: $0) }
    // AES-GCM sealing with a valid key and nonce cannot fail.
    let box = try! AES.GCM.seal(plaintext, using: key, nonce: zeroNonce)
    var out = [UInt8]()
    out.reserveCapacity(plaintext.count + overhead)
    out.append(version)
    out.append(contentsOf: salt)
    out.append(contentsOf: box.ciphertext)
    out.append(contentsOf: box.tag)
    return out
  }

  public static func seal(_ plaintext: [UInt8], key: SymmetricKey, purpose: Purpose) -> [UInt8] {
    plaintext.withUnsafeBytes { seal($0, key: key, purpose: purpose) }
  }

  /// Opens an envelope; throws `corrupt` when it was altered, truncated or made with another key.
  public static func open(
    _ sealed: UnsafeRawBufferPointer, key root: SymmetricKey, purpose: Purpose
  ) throws -> [UInt8] {
    try withOpened(sealed, key: root, purpose: purpose) { Array($0) }
  }

  /// Authenticates and decrypts `sealed`, and hands the plaintext to `body` in swift-crypto's
  /// own buffer: no copy into an array when the caller only decompresses or hashes it.
  public static func withOpened<T>(
    _ sealed: UnsafeRawBufferPointer, key root: SymmetricKey, purpose: Purpose,
    _ body: (UnsafeRawBufferPointer) throws -> T
  ) throws -> T {
    try withOpened(sealed, key: EnvelopeKey(root: root, purpose: purpose), body)
  }

  public static func withOpened<T>(
    _ sealed: UnsafeRawBufferPointer, key envelopeKey: EnvelopeKey,
    _ body: (UnsafeRawBufferPointer) throws -> T
  ) throws -> T {
    guard sealed.count >= overhead else {
      throw LifeboatError.corrupt("encrypted object too short (\(sealed.count) bytes)")
    }
    guard sealed[0] == version else {
      throw LifeboatError.corrupt("unknown envelope version \(sealed[0])")
    }
    let salt = UnsafeRawBufferPointer(rebasing: sealed[1..<(1 + saltLength)])
    let key = oneTimeKey(envelopeKey, salt: salt)
    let ct = UnsafeRawBufferPointer(rebasing: sealed[(1 + saltLength)..<(sealed.count - tagLength)])
    let tag = UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - tagLength)...])
    let plain: Data
    do {
      let box = try AES.GCM.SealedBox(nonce: zeroNonce, ciphertext: ct, tag: tag)
      plain = try AES.GCM.open(box, using: key)
    } catch {
      throw LifeboatError.corrupt("authentication failed: the object was modified or damaged")
    }
    return try plain.withUnsafeBytes(body)
  }

  public static func open(_ sealed: [UInt8], key: SymmetricKey, purpose: Purpose) throws -> [UInt8] {
    try sealed.withUnsafeBytes { try open($0, key: key, purpose: purpose) }
  }
}

/// SHA-256 of bytes as an ID: the storage name of packs, index files, snapshots and keys.
/// Random salts from the kernel's CSPRNG (getrandom), fetched 4 KiB at a time: one system
/// call per ~170 objects instead of several per object. Thread-safe.
final class SaltSource: Sendable {
  static let shared = SaltSource()
  private let state = Mutex<(buffer: [UInt8], used: Int)>(([], 0))

  func next(_ n: Int) -> [UInt8] {
    state.withLock { s in
      if s.used + n > s.buffer.count {
        s.buffer = [UInt8](repeating: 0, count: 4096)
        s.buffer.withUnsafeMutableBytes { raw in
          var filled = 0
          while filled < raw.count {
            let got = getrandom(raw.baseAddress! + filled, raw.count - filled, 0)
            if got > 0 {
              filled += got
            } else if errno != EINTR {
              // Kernels without getrandom(2): the standard library's generator (same source).
              var rng = SystemRandomNumberGenerator()
              for i in filled..<raw.count { raw[i] = rng.next() }
              filled = raw.count
            }
          }
        }
        s.used = 0
      }
      defer { s.used += n }  // never hand out the same bytes twice
      return Array(s.buffer[s.used..<(s.used + n)])
    }
  }
}

/// Incremental SHA-256 for objects read in pieces.
public struct SHA256Stream {
  private var h = SHA256()

  public init() {}

  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    h.update(bufferPointer: bytes)
  }

  public mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  public func finalize() -> ID {
    h.finalize().withUnsafeBytes { ID(raw: $0) }
  }
}

public enum StorageHash {
  public static func id(_ bytes: UnsafeRawBufferPointer) -> ID {
    var h = SHA256()
    h.update(bufferPointer: bytes)
    return h.finalize().withUnsafeBytes { ID(raw: $0) }
  }

  public static func id(_ bytes: [UInt8]) -> ID {
    bytes.withUnsafeBytes { id($0) }
  }
}
