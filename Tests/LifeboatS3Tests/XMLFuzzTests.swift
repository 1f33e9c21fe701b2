import Foundation
@testable import LifeboatS3
import LifeboatTesting
import Testing

/// The XML of S3 responses, mutated and hostile (issue #19): a tree or nil, never a crash;
/// entities are not expanded into gigabytes and external ones are not fetched.
@Suite struct XMLFuzzTests {
  static let listing = Array("""
    <?xml version="1.0" encoding="UTF-8"?>
    <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>repo/data/</Prefix>\
    <KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>\
    <NextContinuationToken>abc</NextContinuationToken>\
    <Contents><Key>repo/data/00/0011</Key><Size>123</Size></Contents>\
    <Contents><Key>repo/data/ff/ff22</Key><Size>9</Size></Contents></ListBucketResult>
    """.utf8)

  @Test func mutatedResponsesParseOrAreRefused() {
    #expect(XMLElement.parse(Self.listing)?.all("Contents").count == 2)
    var rng = SeededRandom(seed: 913)
    for m in Mutator.mutations(of: Self.listing, count: 3000, rng: &rng) + Mutator.randomInputs(count: 300, prefix: Array("<".utf8), rng: &rng) {
      if let root = XMLElement.parse(m) {
        #expect(root.text.utf8.count <= m.count * 2, "text no larger than the document")
      }
      _ = S3ErrorBody(m)
    }
  }

  /// The input that crashed the process inside FoundationXML: invalid UTF-8 in an element name.
  @Test func invalidUTF8InANameIsRefusedNotACrash() {
    var bytes = Self.listing
    let at = bytes.count - 40
    bytes.replaceSubrange(at..<at + 3, with: [0xff, 0xff, 0xff])
    #expect(XMLElement.parse(bytes) == nil)
    #expect(XMLElement.parse(Array("<Error><Co\u{ff}de>x</Co\u{ff}de></Error>".utf8))?["Co\u{ff}de"] == "x", "valid UTF-8 names are fine")
    #expect(XMLElement.parse(Array("<Error><Code>A &amp; B &#x41;&#66;<![CDATA[<raw>]]></Code><!-- c --></Error>".utf8))?["Code"] == "A & B AB<raw>")
    #expect(XMLElement.parse(Array("<Error><Code>x</Cod></Error>".utf8)) == nil, "mismatched tags")
    #expect(XMLElement.parse(Array("<Error><Code>&bogus;</Code></Error>".utf8)) == nil, "undefined entities")
  }

  @Test func entityBombsAndExternalEntitiesAreNotExpanded() {
    var dtd = "<!DOCTYPE r [<!ENTITY e0 \"xxxxxxxxxx\">"
    for i in 1..<10 { dtd += "<!ENTITY e\(i) \"" + String(repeating: "&e\(i - 1);", count: 10) + "\">" }
    dtd += "<!ENTITY ext SYSTEM \"file:///etc/passwd\">]>"
    let bomb = Array((dtd + "<Error><Code>&e9;</Code><Message>&ext;</Message></Error>").utf8)
    let parsed = XMLElement.parse(bomb)
    #expect((parsed?["Code"]?.utf8.count ?? 0) < 1 << 20, "the billion laughs stay unexpanded")
    #expect(parsed?["Message"]?.contains("root:") != true, "no external entity is read")
  }
}
