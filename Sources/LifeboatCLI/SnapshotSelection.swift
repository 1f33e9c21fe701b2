import ArgumentParser
import LifeboatCore
import LifeboatRepository

/// `--host`, `--tag` and `--path`: which snapshots a command considers, restic's way. Used by
/// `snapshots`, `ls`, `restore`, `tag` and (for `latest`) every command that picks one.
struct SnapshotFilter: ParsableArguments {
  @Option(help: "Only snapshots of this host.")
  var host: String?

  @Option(
    name: .customLong("tag"),
    help: "Only snapshots with this tag (repeatable: each must match; `a,b` in one --tag means both).")
  var tags: [String] = []

  @Option(
    name: .customLong("path"),
    help: "Only snapshots that backed up this path (repeatable: each must be among the snapshot's paths).")
  var paths: [String] = []

  var isEmpty: Bool { host == nil && tags.isEmpty && paths.isEmpty }

  func matches(_ s: Snapshot) -> Bool {
    if let host, s.hostname != host { return false }
    let wantedTags = tags.flatMap { $0.split(separator: ",").map(String.init) }
    guard wantedTags.allSatisfy(s.tags.contains) else { return false }
    return paths.allSatisfy { p in s.paths.contains { $0 == p || $0 == Self.trimmed(p) } }
  }

  private static func trimmed(_ p: String) -> String {
    var s = Substring(p)
    while s.count > 1, s.last == "/" { s.removeLast() }
    return String(s)
  }

  /// What the filter says, for "no snapshot matches" messages.
  var description: String {
    var parts: [String] = []
    if let host { parts.append("host \(host)") }
    if !tags.isEmpty { parts.append("tags \(tags.joined(separator: ", "))") }
    if !paths.isEmpty { parts.append("paths \(paths.joined(separator: ", "))") }
    return parts.joined(separator: ", ")
  }
}

/// `SNAPSHOT[:SUBPATH]`: a snapshot (`latest`, an ID or a prefix) and, after a colon, a folder
/// inside it, as in restic (`latest:/home/ana`).
struct SnapshotReference {
  var snapshot: String
  var subpath: String?

  init(_ text: String) {
    if let colon = text.firstIndex(of: ":") {
      snapshot = String(text[..<colon])
      let rest = String(text[text.index(after: colon)...])
      subpath = rest.isEmpty || rest == "/" ? nil : rest
    } else {
      snapshot = text
    }
  }
}

extension Repository {
  /// The snapshot a reference and a filter name.
  func findSnapshot(_ reference: SnapshotReference, filter: SnapshotFilter) async throws -> (id: ID, snapshot: Snapshot) {
    try await findSnapshot(reference.snapshot, matching: filter.matches, filterDescription: filter.description)
  }
}

extension Repository {
  /// The tree of the folder `subpath` inside a snapshot's tree (`latest:/home/ana`): restore and
  /// ls then treat that folder as the snapshot's root.
  func subtree(of root: ID, at subpath: String, snapshot: ID) async throws -> ID {
    var tree = root
    var walked = ""
    for component in subpath.split(separator: "/") where component != "." {
      let nodes = try await loadTree(tree).nodes
      walked += "/" + component
      guard let node = nodes.first(where: { $0.name == Array(component.utf8) }) else {
        throw LifeboatError(
          .notFound, "snapshot \(snapshot.short) has no \(walked)",
          hint: "`lifeboat ls \(snapshot.short)` lists what the snapshot holds")
      }
      guard node.kind == .directory, let sub = node.subtree else {
        throw LifeboatError(
          .usage, "\(walked) in snapshot \(snapshot.short) is a \(node.kind.name), not a folder",
          hint: "SNAPSHOT:PATH names a folder; to restore one file use --include PATH")
      }
      tree = sub
    }
    return tree
  }
}
