public import LifeboatCore

/// Binary encoding of a directory tree blob.
///
/// `"LBTR" ‖ u8 version=1 ‖ varint n ‖ n × node`, each node being
/// `lp(name) ‖ u8 kind ‖ varint mode ‖ varint uid ‖ varint gid ‖ varint size ‖
///  ts(mtime) ‖ ts(atime) ‖ ts(ctime) ‖ varint inode ‖ varint device ‖ varint links ‖
///  varint rdev ‖ lp(linkTarget) ‖ varint c ‖ c × id ‖ u8 hasSubtree ‖ [id] ‖
///  varint x ‖ x × (lp(name) ‖ lp(value))`
/// where `lp` is a varint length and the bytes, and `ts` is a zig-zag varint of seconds and a
/// varint of nanoseconds. Nodes are sorted by name bytes and names are unique.
public enum TreeFormat {
  static let magic: [UInt8] = Array("LBTR".utf8)

  public static func encode(_ tree: Tree) -> [UInt8] {
    var w = ByteWriter(capacity: 16 + tree.nodes.count * 96)
    w.raw(magic)
    w.u8(1)
    w.varint(UInt64(tree.nodes.count))
    for n in tree.nodes {
      w.lengthPrefixed(n.name)
      w.u8(n.kind.rawValue)
      w.varint(UInt64(n.mode))
      w.varint(UInt64(n.uid))
      w.varint(UInt64(n.gid))
      w.varint(n.size)
      for t in [n.mtime, n.atime, n.ctime] {
        w.svarint(t.seconds)
        w.varint(UInt64(UInt32(bitPattern: t.nanoseconds)))
      }
      w.varint(n.inode)
      w.varint(n.device)
      w.varint(n.links)
      w.varint(n.rdev)
      w.lengthPrefixed(n.linkTarget)
      w.varint(UInt64(n.content.count))
      for id in n.content { w.id(id) }
      if let s = n.subtree {
        w.u8(1)
        w.id(s)
      } else {
        w.u8(0)
      }
      w.varint(UInt64(n.xattrs.count))
      for x in n.xattrs {
        w.lengthPrefixed(x.name)
        w.lengthPrefixed(x.value)
      }
    }
    return w.bytes
  }

  public static func decode(_ bytes: [UInt8]) throws -> Tree {
    var r = ByteReader(bytes)
    guard Array(try r.raw(4)) == magic else { throw LifeboatError.corrupt("tree: bad magic") }
    guard try r.u8() == 1 else { throw LifeboatError.corrupt("tree: unknown version") }
    let count = try r.count(max: r.remaining / 20)
    var nodes = [Node]()
    nodes.reserveCapacity(count)
    for _ in 0..<count {
      let name = try r.lengthPrefixed(max: 4096)
      guard !name.isEmpty, !name.contains(UInt8(ascii: "/")), !name.contains(0),
        name != [UInt8(ascii: ".")], name != [UInt8(ascii: "."), UInt8(ascii: ".")]
      else { throw LifeboatError.corrupt("tree: invalid file name") }
      guard let kind = Node.Kind(rawValue: try r.u8()) else {
        throw LifeboatError.corrupt("tree: unknown node kind")
      }
      func u32() throws -> UInt32 {
        let v = try r.varint()
        guard v <= UInt64(UInt32.max) else { throw LifeboatError.corrupt("tree: value too large") }
        return UInt32(v)
      }
      let mode = try u32()
      let uid = try u32()
      let gid = try u32()
      let size = try r.varint()
      var times = [Timespec]()
      for _ in 0..<3 {
        let s = try r.svarint()
        let ns = try u32()
        guard ns < 1_000_000_000 else { throw LifeboatError.corrupt("tree: bad nanoseconds") }
        times.append(Timespec(seconds: s, nanoseconds: Int32(ns)))
      }
      let inode = try r.varint()
      let device = try r.varint()
      let links = try r.varint()
      let rdev = try r.varint()
      let target = try r.lengthPrefixed(max: 65536)
      let c = try r.count(max: r.remaining / 32)
      var content = [ID]()
      content.reserveCapacity(c)
      for _ in 0..<c { content.append(try r.id()) }
      let hasSub = try r.u8()
      guard hasSub <= 1 else { throw LifeboatError.corrupt("tree: bad subtree flag") }
      let subtree = hasSub == 1 ? try r.id() : nil
      let x = try r.count(max: r.remaining / 2)
      var xattrs = [ExtendedAttribute]()
      for _ in 0..<x {
        xattrs.append(
          ExtendedAttribute(name: try r.lengthPrefixed(max: 255), value: try r.lengthPrefixed()))
      }
      guard (kind == .directory) == (subtree != nil), kind == .file || content.isEmpty,
        kind == .symlink || target.isEmpty
      else { throw LifeboatError.corrupt("tree: fields do not fit a \(kind.name) node") }
      nodes.append(
        Node(
          name: name, kind: kind, mode: mode, uid: uid, gid: gid, size: size, mtime: times[0],
          atime: times[1], ctime: times[2], inode: inode, device: device, links: links,
          rdev: rdev, linkTarget: target, content: content, subtree: subtree, xattrs: xattrs))
    }
    guard r.isAtEnd else { throw LifeboatError.corrupt("tree: trailing bytes") }
    for i in nodes.indices.dropFirst()
    where !nodes[i - 1].name.lexicographicallyPrecedes(nodes[i].name) {
      throw LifeboatError.corrupt("tree: names not sorted or not unique")
    }
    return Tree(nodes: nodes)
  }
}
