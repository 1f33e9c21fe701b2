import Foundation
import CLifeboatSystem
#if canImport(Glibc)
  import Glibc
#endif

/// Builds a seeded directory tree holding every kind of thing a restore must get right:
/// nested directories, empty files and directories, compressible and random files, files
/// larger than one chunk, duplicated content, a sparse file, symlinks (relative, absolute,
/// dangling), hard links, a fifo, names that are not UTF-8, extended attributes, unusual modes
/// and fixed times.
public struct FixtureTree {
  public struct Options: Sendable {
    public var files = 60
    public var directories = 8
    public var maxFileSize = 300_000
    /// Files above the chunker's maximum, to exercise several chunks per file.
    public var largeFiles = 1
    public var largeFileSize = 3 << 20
    public var specialFiles = true

    public init() {}
  }

  public static func build(at root: String, seed: UInt64, options: Options = .init()) throws {
    var rng = SeededRandom(seed: seed)
    let fm = FileManager.default
    try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
    var dirs = [root]
    for i in 0..<options.directories {
      let parent = dirs[Int(rng.next() % UInt64(dirs.count))]
      let d = "\(parent)/dir\(i)"
      try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
      dirs.append(d)
    }
    try fm.createDirectory(atPath: "\(root)/empty-dir", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: "\(root)/cache", withIntermediateDirectories: true)
    try write("\(root)/cache/entry", rng.bytes(1000))
    var written = [String]()
    for i in 0..<options.files {
      let d = dirs[Int(rng.next() % UInt64(dirs.count))]
      let size = Int(rng.next() % UInt64(options.maxFileSize + 1))
      let data = i % 3 == 0 ? rng.bytes(size) : rng.compressibleBytes(size)
      let p = "\(d)/file\(i).dat"
      try write(p, data)
      written.append(p)
    }
    for i in 0..<options.largeFiles {
      try write("\(root)/large\(i).bin", rng.bytes(options.largeFileSize))
    }
    try write("\(root)/empty-file", [])
    // Duplicates: the same content under two names, and a copy shifted by a few bytes.
    if let src = written.first, let data = fm.contents(atPath: src) {
      try write("\(root)/duplicate.dat", Array(data))
      try write("\(root)/shifted.dat", [1, 2, 3] + Array(data))
    }
    // Modes and times.
    let modeFile = "\(root)/mode-0640"
    try write(modeFile, Array("mode".utf8))
    chmod(modeFile, 0o640)
    let execFile = "\(root)/script.sh"
    try write(execFile, Array("#!/bin/sh\necho hi\n".utf8))
    chmod(execFile, 0o755)
    guard options.specialFiles else { return }
    // Sparse: 8 MiB with 4 KiB of data in the middle and at the end.
    let sparse = "\(root)/sparse.img"
    let fd = open(sparse, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let blob = rng.bytes(4096)
    _ = blob.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 4 << 20) }
    _ = blob.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, (8 << 20) - 4096) }
    close(fd)
    // Symlinks.
    symlink("dir0/../mode-0640", "\(root)/link-relative")
    symlink("/etc/hostname", "\(root)/link-absolute")
    symlink("does/not/exist", "\(root)/link-dangling")
    // Hard links.
    try write("\(root)/hardlink-a", Array("shared inode".utf8))
    link("\(root)/hardlink-a", "\(root)/dir0/hardlink-b")
    // FIFO.
    mkfifo("\(root)/fifo", 0o600)
    // Names that are not UTF-8 (Latin-1 "café" and a lone 0xff byte).
    var nonUTF8 = Array("\(root)/caf".utf8) + [0xE9] + Array(".txt".utf8)
    try writeBytesPath(&nonUTF8, Array("latin-1 name".utf8))
    try fm.createDirectory(atPath: "\(root)/raw-names", withIntermediateDirectories: true)
    var ff = Array("\(root)/raw-names/".utf8) + [0xFF, 0x41]
    try writeBytesPath(&ff, Array("lone byte".utf8))
    // Extended attributes, where the filesystem has them.
    let x = "\(root)/with-xattr"
    try write(x, Array("xattr".utf8))
    _ = "lifeboat-test".withCString { v in setxattr(x, "user.lifeboat", v, strlen(v), 0) }
    // Fixed times (after everything else so creating children does not change them).
    for (i, p) in written.prefix(10).enumerated() {
      var t = [
        timespec(tv_sec: 1_600_000_000 + i, tv_nsec: 123_456_789),
        timespec(tv_sec: 1_650_000_000 + i * 1000, tv_nsec: 987_654_321),
      ]
      utimensat(AT_FDCWD, p, &t, 0)
    }
  }

  public static func write(_ path: String, _ data: [UInt8]) throws {
    var p = Array(path.utf8)
    try writeBytesPath(&p, data)
  }

  static func writeBytesPath(_ path: inout [UInt8], _ data: [UInt8]) throws {
    path.append(0)
    let fd = path.withUnsafeBufferPointer { b in
      b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) {
        open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
      }
    }
    path.removeLast()
    guard fd >= 0 else {
      throw NSError(domain: "FixtureTree", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "cannot create \(String(decoding: path, as: UTF8.self))"])
    }
    defer { close(fd) }
    var done = 0
    while done < data.count {
      let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, data.count - done) }
      guard n > 0 else { throw NSError(domain: "FixtureTree", code: Int(errno)) }
      done += n
    }
  }
}
