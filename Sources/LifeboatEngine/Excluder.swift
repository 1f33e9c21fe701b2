#if canImport(Glibc)
  import Glibc
#endif

/// Exclude patterns, restic-style: a pattern without `/` matches any file or directory name
/// (`*.tmp`, `node_modules`); a pattern with `/` matches the absolute path (`/home/*/.cache`),
/// where `*` may cross `/`. A `#` starts a comment line in an exclude file. An excluded
/// directory is not descended into.
public struct Excluder: Sendable {
  public let patterns: [String]

  public init(patterns: [String]) {
    self.patterns = patterns.map { $0.trimmingWhitespace }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
  }

  public var isEmpty: Bool { patterns.isEmpty }

  public func excludes(path: [UInt8], name: [UInt8]) -> Bool {
    guard !patterns.isEmpty else { return false }
    for p in patterns {
      let target = p.contains("/") ? path : name
      if Self.match(p, target) { return true }
    }
    return false
  }

  static func match(_ pattern: String, _ bytes: [UInt8]) -> Bool {
    var z = bytes
    z.append(0)
    return z.withUnsafeBufferPointer { b in
      b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) {
        fnmatch(pattern, $0, 0) == 0
      }
    }
  }
}

extension String {
  var trimmingWhitespace: String {
    var s = Substring(self)
    while let f = s.first, f.isWhitespace { s.removeFirst() }
    while let l = s.last, l.isWhitespace { s.removeLast() }
    return String(s)
  }
}
