// Reading single repository objects by name or prefix, for `lifeboat cat` and debugging.
// Everything returned here is what the repository's key already protects: no key material.

public import LifeboatCore
public import LifeboatFormat
public import LifeboatStorage

extension Repository {
  /// The one object of `type` whose name starts with `prefix` (at least 4 hex digits, or the
  /// whole name).
  public func objectName(_ type: ObjectType, prefix: String) async throws -> String {
    let wanted = prefix.lowercased()
    let names = try await Self.storage { try await backend.list(type) }.map(\.name).filter { $0.hasPrefix(wanted) }
    guard wanted.count >= 4, names.count == 1 else {
      throw LifeboatError(
        .notFound,
        names.isEmpty ? "no \(type.singular) \(prefix) in \(backend.location)" : "\(type.singular) prefix \(prefix) is ambiguous (\(names.count) match)",
        hint: "give the full name or a longer unique prefix (at least 4 hex digits)")
    }
    return names[0]
  }

  /// An index file, authenticated and decoded.
  public func loadIndexFile(named name: String) async throws -> IndexFile {
    let sealed = try await Self.storage { try await backend.load(Handle(.index, name)) }
    guard StorageHash.id(sealed).hex == name else {
      throw LifeboatError.corrupt("index \(name.prefix(8)): content does not match its name (SHA-256 mismatch)")
    }
    return try IndexFile.decode(try Envelope.open(sealed, key: keys.metadataKey, purpose: .index))
  }

  /// A key file as stored (its master key stays sealed under the password).
  public func loadKeyFile(named name: String) async throws -> KeyFile {
    let bytes = try await Self.storage { try await backend.load(Handle(.key, name)) }
    guard bytes.count <= KeyFile.maximumSize else {
      throw LifeboatError.corrupt("key file \(name.prefix(8)) is \(bytes.count) bytes, larger than any key file")
    }
    return try KeyFile.decode(bytes)
  }
}

extension ObjectType {
  /// The word for one object of this type, in messages.
  public var singular: String {
    switch self {
    case .config: "config"
    case .key: "key file"
    case .pack: "pack"
    case .index: "index file"
    case .snapshot: "snapshot"
    case .lock: "lock"
    case .mark: "mark"
    }
  }
}
