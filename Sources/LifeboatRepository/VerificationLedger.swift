// When each pack's content was last read and verified by `check`, remembered on this machine
// so that `check --read-data-max-age` re-reads only what is due (docs/design.md §13). The
// file is sealed with the repository's metadata key: one from another repository, made with
// another key, altered or cut short does not open and is ignored (everything is then due).
// It only saves work; losing it costs one full read.

public import Foundation
public import LifeboatCore
public import LifeboatFormat

public struct VerificationLedger: Sendable, Equatable {
  /// Pack → when its bytes last read clean.
  public var verified: [ID: Date] = [:]
  /// When the last check that read data ran (nil before the first).
  public var lastRun: Date?

  public init() {}

  static let magic = Array("LBVERIFY1".utf8)

  /// Where the ledger of `repository` lives under `cacheDirectory`.
  public static func path(cacheDirectory: String, repositoryID: String) -> String {
    cacheDirectory + "/verified/" + repositoryID
  }

  /// Packs to read so that every pack is read at least once per `maxAge`: those never read or
  /// read longer ago (all of them), plus the share of the rest that keeps the load even — the
  /// fraction of `maxAge` since the last run, least recently verified first. A check run
  /// daily with 30 days reads about a thirtieth of the repository each day.
  public func due(packs: [ID], maxAge: TimeInterval, now: Date) -> [ID] {
    let horizon = now.addingTimeInterval(-maxAge)
    var overdue = [ID]()
    var current = [(ID, Date)]()
    for p in packs {
      if let t = verified[p], t > horizon { current.append((p, t)) } else { overdue.append(p) }
    }
    let elapsed = lastRun.map { max(0, now.timeIntervalSince($0)) } ?? maxAge
    let share = Int((Double(packs.count) * min(1, elapsed / maxAge)).rounded(.up))
    let extra = max(0, share - overdue.count)
    guard extra > 0 else { return overdue }
    current.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    return overdue + current.prefix(extra).map(\.0)
  }

  /// Records a run: `clean` packs verified at `now`, `damaged` ones forgotten (read again
  /// next time), and packs no longer in the repository dropped.
  public mutating func record(clean: some Sequence<ID>, damaged: some Sequence<ID>, existing: Set<ID>, now: Date) {
    for p in clean { verified[p] = now }
    for p in damaged { verified[p] = nil }
    verified = verified.filter { existing.contains($0.key) }
    lastRun = now
  }

  // MARK: file

  /// The ledger at `path`, or an empty one (with the reason) when there is none or it does not
  /// open with `keys` for this repository.
  public static func load(path: String, keys: RepositoryKeys, repositoryID: String) -> (ledger: VerificationLedger, problem: String?) {
    guard let data = FileManager.default.contents(atPath: path) else { return (VerificationLedger(), nil) }
    do {
      let plain = try Array(data).withUnsafeBytes { try Envelope.open($0, key: keys.metadataKey, purpose: .localCache) }
      var r = ByteReader(plain)
      guard try Array(r.raw(magic.count)) == magic, try r.lengthPrefixed(max: 256) == Array(repositoryID.utf8) else {
        throw LifeboatError.corrupt("made for another repository")
      }
      var ledger = VerificationLedger()
      let last = try r.svarint()
      ledger.lastRun = last == 0 ? nil : Date(timeIntervalSince1970: TimeInterval(last))
      let count = try r.count(max: r.remaining / 33)
      ledger.verified.reserveCapacity(count)
      for _ in 0..<count {
        let id = try r.id()
        ledger.verified[id] = Date(timeIntervalSince1970: TimeInterval(try r.svarint()))
      }
      guard r.isAtEnd else { throw LifeboatError.corrupt("trailing bytes") }
      return (ledger, nil)
    } catch {
      return (VerificationLedger(), "the record of verified packs (\(path)) does not open for this repository and key (\(error)); every pack is due")
    }
  }

  /// Writes the ledger (0600, through a temporary file and a rename).
  public func save(path: String, keys: RepositoryKeys, repositoryID: String) throws {
    var w = ByteWriter(capacity: 64 + verified.count * 40)
    w.raw(Self.magic)
    w.lengthPrefixed(Array(repositoryID.utf8))
    w.svarint(Int64(lastRun?.timeIntervalSince1970 ?? 0))
    w.varint(UInt64(verified.count))
    for (id, t) in verified.sorted(by: { $0.key < $1.key }) {
      w.id(id)
      w.svarint(Int64(t.timeIntervalSince1970))
    }
    let sealed = Envelope.seal(w.bytes, key: keys.metadataKey, purpose: .localCache)
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let tmp = path + ".tmp\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(sealed), attributes: [.posixPermissions: 0o600]) else {
      throw LifeboatError(.fatal, "cannot write \(tmp)", hint: "check the cache directory's space and permissions")
    }
    guard rename(tmp, path) == 0 else {
      let e = errno
      unlink(tmp)
      throw LifeboatError(.fatal, "cannot replace \(path): \(String(cString: strerror(e)))")
    }
  }
}
