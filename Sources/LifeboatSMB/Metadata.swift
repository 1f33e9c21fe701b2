public import LifeboatCore

/// Windows metadata kept with a node from a share (`lifeboat.smb.*`), in words for `ls --long`.
public enum SMBMetadata {
  /// The DOS attribute bits by name.
  static let attributeNames: [(UInt32, String)] = [
    (0x1, "read-only"), (0x2, "hidden"), (0x4, "system"), (0x20, "archive"), (0x100, "temporary"), (0x800, "compressed"),
    (0x1000, "offline"), (0x2000, "not-indexed"), (0x4000, "encrypted"),
  ]

  /// One line about the node's attributes, owner and access list; nil when it came from
  /// a local disk.
  public static func describe(_ node: Node) -> String? {
    let value = { (name: [UInt8]) in node.xattrs.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) } }
    let descriptor = value(ExtendedAttribute.smbSecurityDescriptorNames) ?? value(ExtendedAttribute.smbSecurityDescriptor)
    let attributes = value(ExtendedAttribute.smbAttributes)
    guard descriptor != nil || attributes != nil else { return nil }
    var parts: [String] = []
    if let attributes, let bits = UInt32(attributes.hasPrefix("0x") ? String(attributes.dropFirst(2)) : attributes, radix: 16) {
      let names = attributeNames.filter { bits & $0.0 != 0 }.map(\.1)
      parts.append("attributes " + (names.isEmpty ? "none" : names.joined(separator: ",")))
    }
    if let descriptor {
      var owner: String?
      var entries: [String] = []
      for field in descriptor.split(separator: ",") {
        if field.hasPrefix("OWNER:") { owner = String(field.dropFirst(6)) }
        if field.hasPrefix("ACL:") { entries.append(Self.entry(field.dropFirst(4))) }
      }
      if let owner { parts.append("owner \(owner)") }
      parts.append(entries.isEmpty ? "no access list" : "access " + entries.joined(separator: "; "))
    }
    return parts.joined(separator: "; ")
  }

  /// `NAME:TYPE/FLAGS/MASK` as "allow NAME 0x001f01ff" (the name may hold a colon-free
  /// backslash, e.g. `Unix User\ana`).
  static func entry(_ text: Substring) -> String {
    guard let colon = text.lastIndex(of: ":") else { return String(text) }
    let who = text[..<colon]
    let fields = text[text.index(after: colon)...].split(separator: "/")
    guard fields.count == 3 else { return String(text) }
    let type = fields[0] == "0" || fields[0] == "ALLOWED" ? "allow" : fields[0] == "1" || fields[0] == "DENIED" ? "deny" : String(fields[0])
    let inherited = (UInt32(fields[1].hasPrefix("0x") ? String(fields[1].dropFirst(2)) : String(fields[1]), radix: fields[1].hasPrefix("0x") ? 16 : 10) ?? 0) & 0x10 != 0
    return "\(type) \(who) \(fields[2])" + (inherited ? " (inherited)" : "")
  }
}
