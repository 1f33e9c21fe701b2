// LifeboatTesting — test support shared by every test target: seeded randomness, fixture
// trees with every kind of file, a byte-and-metadata tree comparison, a fault-injecting
// backend, a manual clock and the backend conformance suite. Never linked into the program.

public import Foundation
public import LifeboatCore

/// LifeboatCore's SplitMix64 with helpers, so every random test can be replayed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var generator: SplitMix64

  public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

  public mutating func next() -> UInt64 { generator.next() }

  public mutating func bytes(_ n: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: n)
    out.withUnsafeMutableBytes { raw in
      var i = 0
      while i + 8 <= n {
        raw.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
        i += 8
      }
      while i < n {
        raw[i] = UInt8(truncatingIfNeeded: next())
        i += 1
      }
    }
    return out
  }

  /// Text-like bytes that compress about 3:1.
  public mutating func compressibleBytes(_ n: Int) -> [UInt8] {
    let words = ["backup", "restore", "lifeboat", "snapshot", "school", "clinic", "invoice", "\n", " ", "2026", "record"]
    var out = [UInt8]()
    out.reserveCapacity(n + 16)
    while out.count < n {
      out.append(contentsOf: words[Int(next() % UInt64(words.count))].utf8)
      if next() % 7 == 0 { out.append(UInt8(truncatingIfNeeded: next())) }
    }
    return Array(out.prefix(n))
  }
}

/// The current time controlled by the test.
public final class ManualClock: WallClock, @unchecked Sendable {
  private let lock = NSLock()
  private var current: Date

  public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }

  public func now() -> Date { lock.withLock { current } }

  public func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// A fresh directory under the system temporary folder, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
  public let path: String

  public init(_ label: String = "lifeboat-test") {
    let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    var rng = SystemRandomNumberGenerator()
    path = "\(base)/\(label)-\(String(rng.next() as UInt64, radix: 36))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  public func sub(_ name: String) -> String { "\(path)/\(name)" }

  public func remove() {
    // Make everything writable first (tests chmod things to 000).
    _ = try? FileManager.default.removeItem(atPath: path)
  }
}
