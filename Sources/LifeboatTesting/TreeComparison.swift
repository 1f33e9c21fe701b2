import Foundation
import CLifeboatSystem
#if canImport(Glibc)
  import Glibc
#endif

/// Compares two directory trees byte for byte and attribute by attribute, without following
/// symlinks: kinds, contents, sizes, permission bits, owners, modification times (to the
/// nanosecond), symlink targets, device numbers, extended attributes, hard-link structure and
/// sparseness. Returns human-readable differences; empty means identical.
public enum TreeComparison {
  public struct Options: Sendable {
    public var compareOwners = true
    public var compareDirectoryTimes = true
    public var compareXattrs = true
    /// Require that files sparse in the original (fewer blocks than size) are sparse in the copy.
    public var compareSparseness = true

    public init() {}
  }

  public static func differences(_ a: String, _ b: String, options: Options = .init()) -> [String] {
    var diffs = [String]()
    var linksA = [UInt64: [UInt8]]()
    var linksB = [UInt64: [UInt8]]()
    var linkPairs = [([UInt8], UInt64, UInt64)]()
    walk(Array(a.utf8), Array(b.utf8), [], options, &diffs, &linkPairs)
    // Hard links: paths sharing an inode in A must share one in B, and vice versa.
    for (rel, ia, ib) in linkPairs {
      if let prev = linksA[ia] {
        if linksB[ib] != prev { diffs.append("\(show(rel)): hard link structure differs") }
      } else {
        linksA[ia] = rel
        if linksB[ib] != nil { diffs.append("\(show(rel)): unexpectedly hard-linked") }
        linksB[ib] = rel
      }
    }
    return diffs
  }

  static func show(_ p: [UInt8]) -> String {
    String(decoding: p, as: UTF8.self)
  }

  static func cpath<T>(_ p: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
    var z = p
    z.append(0)
    return z.withUnsafeBufferPointer { b in
      b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { body($0) }
    }
  }

  static func lst(_ p: [UInt8]) -> Glibc.stat? {
    var st = Glibc.stat()
    return cpath(p) { lstat($0, &st) } == 0 ? st : nil
  }

  static func names(_ p: [UInt8]) -> [[UInt8]] {
    guard let d = cpath(p, { opendir($0) }) else { return [] }
    defer { closedir(d) }
    var out = [[UInt8]]()
    while let e = readdir(d) {
      let n = withUnsafeBytes(of: e.pointee.d_name) { raw -> [UInt8] in
        let b = raw.bindMemory(to: UInt8.self)
        return Array(b[0..<(b.firstIndex(of: 0) ?? b.count)])
      }
      if n != [46] && n != [46, 46] { out.append(n) }
    }
    return out.sorted { $0.lexicographicallyPrecedes($1) }
  }

  static func contents(_ p: [UInt8]) -> [UInt8]? {
    let fd = cpath(p) { open($0, O_RDONLY) }
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n <= 0 { break }
      out.append(contentsOf: buf[0..<n])
    }
    return out
  }

  static func xattrs(_ p: [UInt8]) -> [String: [UInt8]] {
    cpath(p) { c in
      let size = llistxattr(c, nil, 0)
      guard size > 0 else { return [:] }
      var names = [CChar](repeating: 0, count: size)
      _ = llistxattr(c, &names, size)
      var out = [String: [UInt8]]()
      for raw in names.split(separator: 0) {
        var n = Array(raw)
        n.append(0)
        let vs = lgetxattr(c, n, nil, 0)
        guard vs >= 0 else { continue }
        var v = [UInt8](repeating: 0, count: vs)
        _ = lgetxattr(c, n, &v, vs)
        out[String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)] = v
      }
      return out
    }
  }

  static func walk(
    _ a: [UInt8], _ b: [UInt8], _ rel: [UInt8], _ o: Options, _ diffs: inout [String],
    _ links: inout [([UInt8], UInt64, UInt64)]
  ) {
    let na = names(a)
    let nb = names(b)
    if na != nb {
      let sa = Set(na)
      let sb = Set(nb)
      for m in sa.subtracting(sb) { diffs.append("\(show(rel + [47] + m)): missing in copy") }
      for m in sb.subtracting(sa) { diffs.append("\(show(rel + [47] + m)): extra in copy") }
    }
    for n in na where nb.contains(n) {
      let pa = a + [47] + n
      let pb = b + [47] + n
      let r = rel + [47] + n
      guard let sa = lst(pa), let sb = lst(pb) else {
        diffs.append("\(show(r)): cannot stat")
        continue
      }
      let ka = sa.st_mode & S_IFMT
      if ka != sb.st_mode & S_IFMT {
        diffs.append("\(show(r)): kind differs")
        continue
      }
      if ka != S_IFLNK && sa.st_mode & 0o7777 != sb.st_mode & 0o7777 {
        diffs.append("\(show(r)): mode \(String(sa.st_mode & 0o7777, radix: 8)) vs \(String(sb.st_mode & 0o7777, radix: 8))")
      }
      if o.compareOwners && (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid) {
        diffs.append("\(show(r)): owner differs")
      }
      let timesMatter = ka != S_IFDIR || o.compareDirectoryTimes
      if timesMatter && (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
        diffs.append("\(show(r)): mtime differs")
      }
      if o.compareXattrs && ka != S_IFLNK && xattrs(pa) != xattrs(pb) {
        diffs.append("\(show(r)): extended attributes differ")
      }
      switch ka {
      case S_IFREG:
        if sa.st_size != sb.st_size { diffs.append("\(show(r)): size differs") }
        if contents(pa) != contents(pb) { diffs.append("\(show(r)): content differs") }
        if o.compareSparseness && Int(sa.st_blocks) * 512 < Int(sa.st_size) / 2
          && Int(sb.st_blocks) * 512 > Int(sa.st_blocks) * 512 + (1 << 20)
        {
          diffs.append("\(show(r)): not sparse in copy (\(sb.st_blocks) vs \(sa.st_blocks) blocks)")
        }
        if sa.st_nlink > 1 { links.append((r, UInt64(sa.st_ino), UInt64(sb.st_ino))) }
      case S_IFLNK:
        var ta = [CChar](repeating: 0, count: 4096)
        var tb = [CChar](repeating: 0, count: 4096)
        let la = cpath(pa) { readlink($0, &ta, 4096) }
        let lb = cpath(pb) { readlink($0, &tb, 4096) }
        if la != lb || ta[0..<max(la, 0)] != tb[0..<max(lb, 0)] {
          diffs.append("\(show(r)): symlink target differs")
        }
      case S_IFCHR, S_IFBLK:
        if sa.st_rdev != sb.st_rdev { diffs.append("\(show(r)): device differs") }
      case S_IFDIR:
        walk(pa, pb, r, o, &diffs, &links)
      default:
        break
      }
    }
  }
}
