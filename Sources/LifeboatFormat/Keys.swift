public import Crypto
public import LifeboatCore
import Foundation
import Synchronization
import CSystem
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
  }

  public static func generate() throws -> RepositoryKeys {
    var rng = SystemRandomNumberGenerator()
    return try RepositoryKeys(masterSecret: (0..<masterSecretLength).map { _ in rng.next() })
  }

  /// The keyed ID of a blob's plaintext.
  public func blobID(_ plaintext: UnsafeRawBufferPointer) -> ID {
    var mac = HMAC<SHA256>(key: idKey)
    mac.update(data: plaintext)
    return mac.finalize().withUnsafeBytes { ID(raw: $0) }
  }

  public func blobID(_ plaintext: [UInt8]) -> ID {
    plaintext.withUnsafeBytes { blobID($0) }
  }
}

/// The authenticated-encryption envelope of every encrypted object and blob.
///
/// `version(1) ‖ salt(24) ‖ ciphertext ‖ tag(16)`. A fresh random 24-byte salt feeds
/// HKDF-SHA256(root key, salt, purpose) to a one-time 256-bit AES key and 96-bit nonce, so no
/// AES-GCM key ever encrypts more than one message and the 2^32 random-nonce limit of a single
/// GCM key cannot be reached (the collision bound is on the 192-bit salt instead).
public enum Envelope {
  public static let version: UInt8 = 1
  public static let saltLength = 24
  public static let tagLength = 16
  public static let overhead = 1 + saltLength + tagLength

  /// What an object is for; bound into the key derivation so a ciphertext made for one purpose
  /// does not open as another.
  public enum Purpose: String, Sendable {
    case blob, packHeader = "pack-header", index, snapshot, config, keyFile = "key-file"
  }

  /// HKDF info strings, built once per purpose.
  private static let infos: [Purpose: [UInt8]] = Dictionary(
    uniqueKeysWithValues: [Purpose.blob, .packHeader, .index, .snapshot, .config, .keyFile].map {
      ($0, Array("lifeboat-object-v1/\($0.rawValue)".utf8))
    })

  private static func oneTimeKey(root: SymmetricKey, salt: UnsafeRawBufferPointer, purpose: Purpose)
    -> (SymmetricKey, AES.GCM.Nonce)
  {
    let okm = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: root, salt: salt, info: infos[purpose]!, outputByteCount: 44)
    return okm.withUnsafeBytes { raw in
      let key = SymmetricKey(data: UnsafeRawBufferPointer(rebasing: raw[0..<32]))
      // 12 bytes is always a valid GCM nonce length.
      let nonce = try! AES.GCM.Nonce(data: UnsafeRawBufferPointer(rebasing: raw[32..<44]))
      return (key, nonce)
    }
  }

  public static func seal(
    _ plaintext: UnsafeRawBufferPointer, key root: SymmetricKey, purpose: Purpose
  ) -> [UInt8] {
    let salt = SaltSource.shared.next(saltLength)
    let (key, nonce) = salt.withUnsafeBytes { oneTimeKey(root: root, salt: $0, purpose: purpose) }
    // AES-GCM sealing with a valid key and nonce cannot fail.
    let box = try! AES.GCM.seal(plaintext, using: key, nonce: nonce)
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
    guard sealed.count >= overhead else {
      throw LifeboatError.corrupt("encrypted object too short (\(sealed.count) bytes)")
    }
    guard sealed[0] == version else {
      throw LifeboatError.corrupt("unknown envelope version \(sealed[0])")
    }
    let salt = UnsafeRawBufferPointer(rebasing: sealed[1..<(1 + saltLength)])
    let (key, nonce) = oneTimeKey(root: root, salt: salt, purpose: purpose)
    let ct = UnsafeRawBufferPointer(rebasing: sealed[(1 + saltLength)..<(sealed.count - tagLength)])
    let tag = UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - tagLength)...])
    do {
      let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: ct, tag: tag)
      let plain = try AES.GCM.open(box, using: key)
      return Array(plain)
    } catch {
      throw LifeboatError.corrupt("authentication failed: the object was modified or damaged")
    }
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

  public mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { h.update(bufferPointer: $0) }
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
