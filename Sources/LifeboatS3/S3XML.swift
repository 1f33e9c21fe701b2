// The small part of XML that S3 responses need: a tree of elements with text.
//
// A reader of its own rather than Foundation's XMLParser: a response with invalid UTF-8 in an
// element name crashed the process inside FoundationXML (found by XMLFuzzTests), and a server's
// bytes must never be able to do that. It reads exactly what S3 sends: one root element, nested
// elements (attributes are skipped), character data with the five predefined entities and
// character references, CDATA, comments and the XML declaration. A DOCTYPE is refused, so no
// entity is ever defined, expanded or fetched. Anything else gives nil.

import Foundation

struct XMLElement: Sendable {
  var name: String
  var text: String = ""
  var children: [XMLElement] = []

  func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
  func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
  /// Text of the first child with this name.
  subscript(_ name: String) -> String? { child(name)?.text }

  /// Responses larger than this are not S3 control responses (listings are 1,000 keys).
  static let maximumSize = 64 << 20
  static let maximumDepth = 64

  static func parse(_ bytes: [UInt8]) -> XMLElement? {
    guard bytes.count <= maximumSize, String(validating: bytes, as: UTF8.self) != nil else { return nil }
    var r = Reader(bytes: bytes)
    return r.document()
  }

  private struct Reader {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) {
      self.bytes = bytes
      // A UTF-8 byte order mark.
      if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    func starts(_ s: String) -> Bool {
      let u = Array(s.utf8)
      return i + u.count <= bytes.count && Array(bytes[i..<i + u.count]) == u
    }

    mutating func skip(past terminator: String) -> Bool {
      let t = Array(terminator.utf8)
      while i + t.count <= bytes.count {
        if bytes[i] == t[0] && Array(bytes[i..<i + t.count]) == t {
          i += t.count
          return true
        }
        i += 1
      }
      return false
    }

    mutating func skipSpace() {
      while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    /// Declarations, comments and whitespace between elements; false on a DOCTYPE or junk.
    mutating func skipMisc() -> Bool {
      while true {
        skipSpace()
        if starts("<?") {
          guard skip(past: "?>") else { return false }
        } else if starts("<!--") {
          guard skip(past: "-->") else { return false }
        } else {
          return !starts("<!")  // <!DOCTYPE and anything like it is refused
        }
      }
    }

    mutating func document() -> XMLElement? {
      guard skipMisc(), i < bytes.count, bytes[i] == 0x3C, let root = element(depth: 0), skipMisc() else { return nil }
      return i == bytes.count ? root : nil
    }

    static func isNameByte(_ b: UInt8) -> Bool {
      // ASCII letters, digits, '-', '.', ':', '_', and any byte of a multi-byte UTF-8 sequence.
      (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
        || b == 0x3A || b == 0x5F || b >= 0x80
    }

    mutating func name() -> String? {
      let start = i
      while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
      guard i > start, !(bytes[start] >= 0x30 && bytes[start] <= 0x39), bytes[start] != 0x2D, bytes[start] != 0x2E else { return nil }
      return String(validating: bytes[start..<i], as: UTF8.self)
    }

    /// At '<' of a start tag.
    mutating func element(depth: Int) -> XMLElement? {
      guard depth < XMLElement.maximumDepth else { return nil }
      i += 1
      guard let n = name() else { return nil }
      // Attributes: name="value" or name='value', skipped.
      while true {
        skipSpace()
        guard i < bytes.count else { return nil }
        if bytes[i] == 0x3E { i += 1; break }
        if starts("/>") { i += 2; return XMLElement(name: n) }
        guard name() != nil else { return nil }
        skipSpace()
        guard i < bytes.count, bytes[i] == 0x3D else { return nil }
        i += 1
        skipSpace()
        guard i < bytes.count, bytes[i] == 0x22 || bytes[i] == 0x27 else { return nil }
        let quote = bytes[i]
        i += 1
        while i < bytes.count, bytes[i] != quote { guard bytes[i] != 0x3C else { return nil }; i += 1 }
        guard i < bytes.count else { return nil }
        i += 1
      }
      var e = XMLElement(name: n)
      var text: [UInt8] = []
      while i < bytes.count {
        if bytes[i] != 0x3C {
          guard decodeCharacter(into: &text) else { return nil }
          continue
        }
        if starts("</") {
          i += 2
          guard name() == n else { return nil }
          skipSpace()
          guard i < bytes.count, bytes[i] == 0x3E else { return nil }
          i += 1
          guard let t = String(validating: text, as: UTF8.self) else { return nil }
          e.text = t.trimmingCharacters(in: .whitespacesAndNewlines)
          return e
        } else if starts("<![CDATA[") {
          i += 9
          let start = i
          guard skip(past: "]]>") else { return nil }
          text += bytes[start..<(i - 3)]
        } else if starts("<!--") {
          guard skip(past: "-->") else { return nil }
        } else if starts("<?") {
          guard skip(past: "?>") else { return nil }
        } else if starts("<!") {
          return nil
        } else {
          guard let child = element(depth: depth + 1) else { return nil }
          e.children.append(child)
        }
      }
      return nil  // the element never closed
    }

    /// One byte of character data, or one entity or character reference.
    mutating func decodeCharacter(into text: inout [UInt8]) -> Bool {
      guard bytes[i] == 0x26 else {
        text.append(bytes[i])
        i += 1
        return true
      }
      guard let semi = bytes[i..<min(bytes.count, i + 12)].firstIndex(of: 0x3B) else { return false }
      let entity = String(decoding: bytes[(i + 1)..<semi], as: UTF8.self)
      i = semi + 1
      switch entity {
      case "lt": text.append(0x3C)
      case "gt": text.append(0x3E)
      case "amp": text.append(0x26)
      case "quot": text.append(0x22)
      case "apos": text.append(0x27)
      default:
        guard entity.hasPrefix("#") else { return false }
        let digits = entity.dropFirst()
        let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
        guard let value, let scalar = Unicode.Scalar(value), value != 0 else { return false }
        text += Array(String(Character(scalar)).utf8)
      }
      return true
    }
  }
}

enum XMLText {
  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}
