public import LifeboatCore
public import LifeboatRepository

/// The differences between two snapshots, path by path. Identical subtrees (same tree ID) are
/// skipped without being read, so comparing two backups of a large, mostly unchanged tree
/// reads only what changed.
public struct SnapshotDiff: Sendable {
  public enum Change: String, Sendable, Codable {
    case added, removed, modified
    /// Same content, other mode, owner, times or extended attributes.
    case metadata
    /// A file became a directory, a symlink a file, …
    case typeChanged = "type-changed"
  }

  public struct Entry: Sendable, Codable {
    public var change: Change
    public var path: String
    public var kind: String
    /// Size in the first snapshot (removed, modified) and in the second (added, modified).
    public var oldSize: UInt64?
    public var newSize: UInt64?
  }

  public struct Summary: Sendable, Codable {
    public var added = 0
    public var removed = 0
    public var modified = 0
    public var metadata = 0
    public var typeChanged = 0
    public var addedBytes: UInt64 = 0
    public var removedBytes: UInt64 = 0
  }

  public let repository: Repository

  public init(repository: Repository) {
    self.repository = repository
  }

  public func compare(_ a: ID, _ b: ID) async throws -> (entries: [Entry], summary: Summary) {
    var entries = [Entry]()
    var summary = Summary()
    try await compareTrees(a, b, path: [], &entries, &summary)
    return (entries, summary)
  }

  private func compareTrees(
    _ a: ID?, _ b: ID?, path: [UInt8], _ out: inout [Entry], _ s: inout Summary
  ) async throws {
    if a == b { return }
    var ta = Tree(nodes: [])
    var tb = Tree(nodes: [])
    if let a { ta = try await repository.loadTree(a) }
    if let b { tb = try await repository.loadTree(b) }
    var i = 0
    var j = 0
    while i < ta.nodes.count || j < tb.nodes.count {
      let na = i < ta.nodes.count ? ta.nodes[i] : nil
      let nb = j < tb.nodes.count ? tb.nodes[j] : nil
      if let na, nb == nil || na.name.lexicographicallyPrecedes(nb!.name) {
        try await gone(na, path: path + [47] + na.name, &out, &s)
        i += 1
      } else if let nb, na == nil || nb.name.lexicographicallyPrecedes(na!.name) {
        try await added(nb, path: path + [47] + nb.name, &out, &s)
        j += 1
      } else if let na, let nb {
        let p = path + [47] + na.name
        if na.kind != nb.kind {
          out.append(Entry(change: .typeChanged, path: PathBytes.display(p), kind: "\(na.kind.name)→\(nb.kind.name)", oldSize: na.size, newSize: nb.size))
          s.typeChanged += 1
        } else if na.kind == Node.Kind.directory {
          if Self.metadataDiffers(na, nb) {
            out.append(Entry(change: .metadata, path: PathBytes.display(p), kind: "dir"))
            s.metadata += 1
          }
          try await compareTrees(na.subtree, nb.subtree, path: p, &out, &s)
        } else if na.content != nb.content || na.linkTarget != nb.linkTarget || na.rdev != nb.rdev {
          out.append(Entry(change: .modified, path: PathBytes.display(p), kind: na.kind.name, oldSize: na.size, newSize: nb.size))
          s.modified += 1
        } else if Self.metadataDiffers(na, nb) {
          out.append(Entry(change: .metadata, path: PathBytes.display(p), kind: na.kind.name, oldSize: na.size, newSize: nb.size))
          s.metadata += 1
        }
        i += 1
        j += 1
      }
    }
  }

  static func metadataDiffers(_ a: Node, _ b: Node) -> Bool {
    a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.mtime != b.mtime || a.xattrs != b.xattrs
  }

  private func added(_ n: Node, path: [UInt8], _ out: inout [Entry], _ s: inout Summary) async throws {
    out.append(Entry(change: .added, path: PathBytes.display(path), kind: n.kind.name, newSize: n.size))
    s.added += 1
    s.addedBytes += n.size
    if n.kind == .directory { try await compareTrees(nil, n.subtree, path: path, &out, &s) }
  }

  private func gone(_ n: Node, path: [UInt8], _ out: inout [Entry], _ s: inout Summary) async throws {
    out.append(Entry(change: .removed, path: PathBytes.display(path), kind: n.kind.name, oldSize: n.size))
    s.removed += 1
    s.removedBytes += n.size
    if n.kind == .directory { try await compareTrees(n.subtree, nil, path: path, &out, &s) }
  }
}
