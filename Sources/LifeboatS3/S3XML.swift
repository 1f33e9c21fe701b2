// The small part of XML that S3 responses need: a tree of elements with text.

import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif

struct XMLElement: Sendable {
  var name: String
  var text: String = ""
  var children: [XMLElement] = []

  func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
  func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
  /// Text of the first child with this name.
  subscript(_ name: String) -> String? { child(name)?.text }

  static func parse(_ bytes: [UInt8]) -> XMLElement? {
    let parser = XMLParser(data: Data(bytes))
    let builder = Builder()
    parser.delegate = builder
    guard parser.parse(), let root = builder.root else { return nil }
    return root
  }

  private final class Builder: NSObject, XMLParserDelegate {
    var stack: [XMLElement] = []
    var root: XMLElement?

    func parser(
      _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
      qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
      stack.append(XMLElement(name: elementName))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      if !stack.isEmpty { stack[stack.count - 1].text += string }
    }

    func parser(
      _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
      qualifiedName qName: String?
    ) {
      var done = stack.removeLast()
      done.text = done.text.trimmingCharacters(in: .whitespacesAndNewlines)
      if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
    }
  }
}

enum XMLText {
  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}
