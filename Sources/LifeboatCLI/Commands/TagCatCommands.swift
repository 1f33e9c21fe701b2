import ArgumentParser
import Foundation
import LifeboatBackends
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage

/// `lifeboat tag`: change the tags of snapshots, restic's way — the snapshot is written again
/// with the new tags (and `original` naming the first one), then the old one is removed.
struct TagCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tag",
    abstract: "Add, remove or set the tags of snapshots.",
    discussion: """
      Tags cannot be edited in place: each changed snapshot is written again with its new tags and the old one removed, so its ID changes (the new snapshot's `original` names the first one, and its marks — suspicious — move with it). A protected snapshot keeps its tags: changing them would remove it; lift the protection first.

        lifeboat tag latest --add before-upgrade
        lifeboat tag --host fileserver --remove test
        lifeboat tag 1a2b3c4d 5e6f7a8b --set monthly,audit
      """)

  @OptionGroup var global: GlobalOptions
  @OptionGroup(title: "Which snapshots (without SNAPSHOT arguments)") var filter: SnapshotFilter
  @Argument(help: "Snapshots: IDs, prefixes or `latest`. Without any, every snapshot the filters match.")
  var snapshots: [String] = []
  @Option(help: "Add this tag (repeatable; a,b adds both).") var add: [String] = []
  @Option(help: "Remove this tag (repeatable).") var remove: [String] = []
  @Option(help: "Replace all tags with these (repeatable; --set '' clears them).") var set: [String] = []

  func validate() throws {
    if add.isEmpty && remove.isEmpty && set.isEmpty {
      throw ValidationError("say what to change: --add TAG, --remove TAG or --set TAG")
    }
    if !set.isEmpty && !(add.isEmpty && remove.isEmpty) {
      throw ValidationError("--set replaces every tag; it cannot be combined with --add or --remove")
    }
    if snapshots.isEmpty && filter.isEmpty {
      throw ValidationError("name the snapshots (IDs or `latest`) or choose them with --host, --tag or --path")
    }
  }

  static func split(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
  }

  func newTags(_ old: [String]) -> [String] {
    if !set.isEmpty { return Self.split(set) }
    var tags = old.filter { !Self.split(remove).contains($0) }
    for t in Self.split(add) where !tags.contains(t) { tags.append(t) }
    return tags
  }

  struct Change: Encodable {
    var old: String
    var new: String
    var tags: [String]
  }

  func run() async throws {
    let location = try global.repositoryLocation()
    guard BackendFactory.clientRetention(at: location) else {
      throw LifeboatError(
        .usage, "tags cannot change on \(location): a Lifeboat server's repositories are append-only for clients, "
          + "and changing tags removes the old snapshot; nothing was written",
        hint: "tag snapshots when they are made (`backup --tag`), or ask the provider")
    }
    let repo = try await global.openRepository()
    let out = global.output
    let now = global.clock.now()
    // Exclusive, as `forget`: no other process removes, prunes or re-tags while old snapshots
    // are replaced, and two `tag` runs never both copy one snapshot.
    let (changes, refused) = try await global.withLock(repo, exclusive: true, command: "tag") { _ in
      // Every argument resolved first, then each snapshot once, however it was named.
      var chosen: [(id: ID, snapshot: Snapshot)] = []
      if snapshots.isEmpty {
        chosen = try await repo.listSnapshots().snapshots.filter { filter.matches($0.snapshot) }
      } else {
        for s in snapshots {
          let found = try await repo.findSnapshot(SnapshotReference(s), filter: filter)
          if !chosen.contains(where: { $0.id == found.id }) { chosen.append(found) }
        }
      }
      var changes: [Change] = []
      var refused: [String] = []
      for (id, old) in chosen {
        let tags = newTags(old.tags)
        guard tags != old.tags else { continue }
        // Marks read now, not at the start: a protection written meanwhile is honoured.
        let marks = try await repo.loadMarks()
        if let p = marks.protection(of: id, now: now) {
          refused.append("\(id.short) (protected: \(p.reason))")
          continue
        }
        var updated = old
        updated.tags = tags
        updated.original = old.original ?? id
        let newID = try await repo.saveSnapshot(updated)
        do {
          for m in marks.marks[id] ?? [] where m.knownKind == .suspicious {
            try await repo.addMark(
              SnapshotMark(snapshot: newID, kind: .suspicious, reason: m.reason, time: m.time, author: m.author))
          }
          _ = try await repo.removeSnapshots([id], marks: marks, now: now)
        } catch {
          // Undo: the new copy goes, the old snapshot stays as it was.
          let undone = (try? await SnapshotRemoval.remove([newID], from: repo.backend) { _ in nil }) != nil
          throw LifeboatError(
            .fatal,
            "changing the tags of \(id.short) failed: \(error); "
              + (undone ? "the snapshot is unchanged" : "both \(id.short) and its re-tagged copy \(newID.short) now exist"),
            hint: undone ? nil : "both are complete snapshots; once the cause is fixed, remove the object snapshots/\(newID.hex) from the storage, or let retention remove it")
        }
        changes.append(Change(old: id.hex, new: newID.hex, tags: tags))
        out.line("\(id.short) → \(newID.short): tags \(tags.isEmpty ? "(none)" : tags.joined(separator: ","))")
      }
      return (changes, refused)
    }
    if !changes.isEmpty {
      global.audit(
        "tag", subject: changes.map { String($0.old.prefix(8)) }.joined(separator: ","),
        details: ["changed": "\(changes.count)", "new": changes.map { String($0.new.prefix(8)) }.joined(separator: ",")])
    }
    if changes.isEmpty && refused.isEmpty { out.line("no snapshot needed a change") }
    try out.emit(changes)
    if !refused.isEmpty {
      Output.error(
        LifeboatError(
          .usage,
          "\(refused.count == 1 ? "1 snapshot keeps its" : "\(refused.count) snapshots keep their") tags: "
            + refused.joined(separator: ", ") + "; changing tags writes a new snapshot and removes the old one"
            + (changes.isEmpty ? "" : " (\(changes.count) other\(changes.count == 1 ? " was" : "s were") changed)"),
          hint: "lift the protection with `lifeboat unprotect SNAPSHOT` first, or leave the tags as they are"))
      throw PartialSuccess(code: ExitStatus.fatal)
    }
  }
}

/// `lifeboat cat`: one repository object, decrypted, as JSON — for debugging and for an auditor
/// who wants to see what is stored. Never prints key material.
struct CatCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cat",
    abstract: "Print a repository object as JSON: config, index, snapshot, key or marks.",
    discussion: """
      Objects are authenticated and decrypted with the repository's key; a key file is shown without its sealed master key and config copy.

        lifeboat cat config
        lifeboat cat snapshot latest
        lifeboat cat index 3f2a91c0
        lifeboat cat key 7d1e
        lifeboat cat marks 1a2b3c4d
      """)

  enum Kind: String, ExpressibleByArgument, CaseIterable {
    case config, index, snapshot, key, marks
  }

  @OptionGroup var global: GlobalOptions
  @Argument(help: "What to print: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).") var kind: Kind
  @Argument(help: "The object's ID or a unique prefix (a snapshot also takes `latest`).") var id: String?

  func validate() throws {
    if kind != .config && id == nil { throw ValidationError("`cat \(kind.rawValue)` needs an ID (or a unique prefix)") }
  }

  struct IndexJSON: Encodable {
    struct Pack: Encodable {
      var id: String
      var blobs: [Blob]
    }
    struct Blob: Encodable {
      var id: String
      var type: String
      var offset: UInt32
      var length: UInt32
      var uncompressed_length: UInt32
      var compressed: Bool
    }
    var packs: [Pack]
    var supersedes: [String]
  }

  struct KeyJSON: Encodable {
    var id: String
    var kdf: String
    var scrypt_log_n: Int?
    var scrypt_r: Int?
    var scrypt_p: Int?
    var pbkdf2_rounds: Int?
    var created: Date
    var hostname: String
    var username: String
    var has_config_copy: Bool
  }

  func run() async throws {
    let repo = try await global.openRepository()
    let json = Output(json: true, quiet: false)
    switch kind {
    case .config:
      try json.emit(repo.config)
    case .snapshot:
      let (found, snap) = try await repo.findSnapshot(id ?? "latest")
      _ = found
      try json.emit(snap)
    case .index:
      let name = try await repo.objectName(.index, prefix: id!)
      let file = try await repo.loadIndexFile(named: name)
      try json.emit(
        IndexJSON(
          packs: file.packs.map { p in
            IndexJSON.Pack(
              id: p.id.hex,
              blobs: p.entries.map {
                IndexJSON.Blob(
                  id: $0.id.hex, type: $0.type == .tree ? "tree" : "data", offset: $0.offset, length: $0.length,
                  uncompressed_length: $0.rawLength, compressed: $0.compressed)
              })
          }, supersedes: file.supersedes.map(\.hex)))
    case .key:
      let name = try await repo.objectName(.key, prefix: id!)
      let k = try await repo.loadKeyFile(named: name)
      try json.emit(
        KeyJSON(
          id: name, kdf: k.kdf, scrypt_log_n: k.logN, scrypt_r: k.r, scrypt_p: k.p, pbkdf2_rounds: k.rounds,
          created: k.created, hostname: k.hostname, username: k.username, has_config_copy: k.config != nil))
    case .marks:
      let (found, _) = try await repo.findSnapshot(id!)
      let book = try await repo.loadMarks()
      for p in book.problems { global.output.warn(p) }
      try json.emit(book.marks[found] ?? [])
    }
  }
}
