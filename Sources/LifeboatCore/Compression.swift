/// How blobs are compressed (`--compression`, a repository's default, a plan tier's
/// `compression:`). Each mode names a zstd level; `auto` is the default level with a cheap
/// probe first, so a chunk that will not compress (media, archives, encrypted files) is stored
/// raw without a full zstd pass (docs/design.md §7).
public enum CompressionMode: String, Sendable, CaseIterable, Codable {
  case off, fastest, `default`, max, auto

  /// The zstd level it compresses with (0: stored raw).
  public var level: Int {
    switch self {
    case .off: 0
    case .fastest: 1
    case .default, .auto: 3
    case .max: 12
    }
  }

  /// Whether a sample of each chunk is compressed first to decide.
  public var probes: Bool { self == .auto }

  public init?(name: String) { self.init(rawValue: name.lowercased()) }

  /// "off, fastest, default, max, auto", for messages and help.
  public static let names = allCases.map(\.rawValue).joined(separator: ", ")
}
