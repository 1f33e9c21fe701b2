// lifeboat-bench-repo: makes a repository large in blobs without the data (bench/index-scale.sh).
//
//   lifeboat-bench-repo REPO BLOBS [BLOBS-PER-PACK]
//
// Opens the existing local repository REPO (password from LIFEBOAT_PASSWORD) and adds BLOBS
// synthetic data blobs: index files of 50,000 entries, as a prune writes them, and for each
// pack a sparse file of the indexed size, so `check` (without --read-data) finds every pack
// where the index says. The blobs belong to no snapshot; nothing reads their bytes. Seeded:
// the same arguments make the same repository.

import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage

let args = CommandLine.arguments
guard args.count >= 3, let blobs = Int(args[2]), blobs > 0 else {
  FileHandle.standardError.write(Data("usage: lifeboat-bench-repo REPO BLOBS [BLOBS-PER-PACK]\n".utf8))
  exit(1)
}
let root = args[1]
let perPack = args.count > 3 ? Int(args[3]) ?? 4_000 : 4_000
guard let password = ProcessInfo.processInfo.environment["LIFEBOAT_PASSWORD"] else {
  FileHandle.standardError.write(Data("set LIFEBOAT_PASSWORD\n".utf8))
  exit(1)
}
let repo = try await Repository.open(backend: LocalBackend(path: root), password: password)

var rng = SplitMix64(seed: 2026)
var made = 0
var file = [IndexFile.Pack]()
var inFile = 0
var files = 0
let started = Stopwatch()
while made < blobs {
  var entries = [PackEntry]()
  var offset: UInt32 = 0
  for _ in 0..<min(perPack, blobs - made) {
    let length = UInt32(600 + rng.next() % 3_000)
    let id = ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
    entries.append(PackEntry(type: .data, compressed: true, offset: offset, length: length, rawLength: length * 2, id: id))
    offset += length
  }
  made += entries.count
  let pack = ID(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
  // The indexed bytes, the header's length field and room for an encrypted header: sparse.
  let dir = root + "/data/" + pack.hex.prefix(2)
  let path = dir + "/" + pack.hex
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  guard fd >= 0, ftruncate(fd, off_t(Int(offset) + 4 + 64 + entries.count * 48)) == 0 else {
    FileHandle.standardError.write(Data("cannot create \(path)\n".utf8))
    exit(1)
  }
  close(fd)
  file.append(.init(id: pack, entries: entries))
  inFile += entries.count
  if inFile >= 50_000 || made == blobs {
    try await repo.saveIndex(IndexFile(packs: file, supersedes: []))
    files += 1
    file = []
    inFile = 0
  }
}
print("\(made) blobs in \((made + perPack - 1) / perPack) packs, \(files) index files, \(String(format: "%.0f", started.seconds)) s")
