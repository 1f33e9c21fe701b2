// lifeboat-bench-repo: makes a repository large without the data (bench/index-scale.sh,
// bench/snapshots-scale.sh). Password from LIFEBOAT_PASSWORD; seeded: the same arguments make
// the same repository.
//
//   lifeboat-bench-repo REPO blobs N [BLOBS-PER-PACK]
//     adds N synthetic data blobs: index files of 50,000 entries, as a prune writes them, and
//     for each pack a sparse file of the indexed size, so `check` (without --read-data) finds
//     every pack where the index says. They belong to no snapshot; nothing reads their bytes.
//   lifeboat-bench-repo REPO snapshots N
//     adds N snapshots of the tree of the latest one, an hour apart going back from it, over
//     four hosts: what years of hourly backups leave.
//   lifeboat-bench-repo CATALOG jobs N SYSTEM REPOSITORY
//     records in a plan's catalog what N hourly backups of SYSTEM to REPOSITORY leave, up to
//     now: the backup jobs, a check a day and a drill a week (no password needed).

import Foundation
import LifeboatCatalog
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage

let args = CommandLine.arguments
guard args.count >= 4, ["blobs", "snapshots", "jobs"].contains(args[2]), let count = Int(args[3]), count > 0,
  args[2] != "jobs" || args.count == 6
else {
  FileHandle.standardError.write(
    Data("usage: lifeboat-bench-repo REPO blobs N [BLOBS-PER-PACK] | REPO snapshots N | CATALOG jobs N SYSTEM REPOSITORY\n".utf8))
  exit(1)
}
let root = args[1]
if args[2] == "jobs" {
  let catalog = try Catalog(path: root)
  let clock: any WallClock = SystemClock()
  let now = clock.now()
  var rng = SplitMix64(seed: 2027)
  for i in stride(from: count, through: 1, by: -1) {
    let started = now.addingTimeInterval(-3600 * Double(i))
    var job = JobRecord(kind: "backup", system: args[4], repository: args[5], started: started)
    job.id = try catalog.start(job)
    job.ended = started.addingTimeInterval(60 + Double(rng.next() % 240))
    job.outcome = .success
    job.files = 500
    job.bytes = Int64(1 << 20) + Int64(rng.next() % (1 << 20))
    job.snapshot = String(format: "%016llx", rng.next())
    try catalog.finish(job)
    if i % 24 == 0 {
      var check = JobRecord(kind: "check", system: args[4], repository: args[5], started: job.ended!)
      check.id = try catalog.start(check)
      check.ended = job.ended!.addingTimeInterval(30)
      check.outcome = .success
      try catalog.finish(check)
    }
    if i % 168 == 0 {
      var drill = JobRecord(kind: "drill", system: args[4], repository: args[5], started: job.ended!)
      drill.id = try catalog.start(drill)
      drill.ended = job.ended!.addingTimeInterval(300)
      drill.outcome = .success
      drill.verdict = .passed
      drill.recoverySeconds = 240
      try catalog.finish(drill)
    }
  }
  print("\(count) backup jobs in \(root)")
  exit(0)
}
guard let password = ProcessInfo.processInfo.environment["LIFEBOAT_PASSWORD"] else {
  FileHandle.standardError.write(Data("set LIFEBOAT_PASSWORD\n".utf8))
  exit(1)
}
let repo = try await Repository.open(backend: LocalBackend(path: root), password: password)
let started = Stopwatch()

if args[2] == "snapshots" {
  guard let latest = try await repo.listSnapshots().snapshots.max(by: { $0.snapshot.time < $1.snapshot.time })?.snapshot else {
    FileHandle.standardError.write(Data("the repository has no snapshot to copy\n".utf8))
    exit(1)
  }
  try await withThrowingTaskGroup(of: Void.self) { group in
    for i in 1...count {
      if i > 8 { try await group.next() }
      group.addTask {
        var s = latest
        s.time = latest.time.addingTimeInterval(-3600 * Double(i))
        s.hostname = "host-\(i % 4)"
        s.parent = nil
        _ = try await repo.saveSnapshot(s)
      }
    }
    try await group.waitForAll()
  }
  print("\(count) snapshots, \(String(format: "%.0f", started.seconds)) s")
  exit(0)
}

let blobs = count
let perPack = args.count > 4 ? Int(args[4]) ?? 4_000 : 4_000
var rng = SplitMix64(seed: 2026)
var made = 0
var file = [IndexFile.Pack]()
var inFile = 0
var files = 0
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
