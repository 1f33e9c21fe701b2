// The archiver's walk of a remote tree (an SMB share): the same scan model, excludes, change
// detection and readers as for local paths, with the listing, stat and reads going through
// `RemoteTree`.

import Foundation
import LifeboatCore
import LifeboatFormat

extension Archiver {
  /// Adds `tree` at its snapshot path: the folders above it are made (with fixed metadata, so
  /// their tree blobs do not change from run to run), then the share is walked.
  func scanRemote(_ tree: any RemoteTree, into root: ScanDir, parentRoot: Tree?, run: Run, compressor: ZstdCompressor?) async throws {
    let comps = tree.snapshotPath.split(separator: "/").map { Array($0.utf8) }
    guard let last = comps.last else {
      throw LifeboatError(.usage, "\(tree.displayName): no path in the snapshot for it")
    }
    var dir = root
    var parentTree = parentRoot
    for c in comps.dropLast() {
      let parentNode = parentTree?.node(named: c)
      let parentPath = dir.path
      dir = openFolder(c, in: dir, run: run) {
        (Node(name: c, kind: .directory, mode: 0o755), parentPath + [UInt8(ascii: "/")] + c, parentNode)
      }!
      parentTree = try await subtree(of: parentNode)
    }
    var node: Node
    do {
      node = try tree.root()
    } catch {
      // The share cannot be reached at all: the backup fails, nothing is stored.
      throw LifeboatError(.fatal, "\(tree.displayName): \(error)", hint: "check the server, the share name and the credentials")
    }
    node.name = last
    let parentNode = parentTree?.node(named: last)
    node.xattrs = (try? tree.extras([], of: node)) ?? []
    let top = run.makeDirectory(node, path: [], parentNode: parentNode, remote: tree, in: dir)
    try await scanDirectoryContents(top, parentTree: try await subtree(of: parentNode), run: run, compressor: compressor)
    try await endScan(of: top, run: run, compressor: compressor)
  }

  func scanRemoteContents(_ dir: ScanDir, remote: any RemoteTree, parentTree: Tree?, run: Run, compressor: ZstdCompressor?) async throws {
    let entries: [Node]
    do {
      entries = try remote.list(dir.path)
    } catch let e as RemoteTreeError where e.lost {
      throw LifeboatError(.fatal, "\(remote.displayName) went away during the backup: \(e.message); no snapshot was saved",
        hint: "the next run starts again and reuses what was uploaded")
    } catch {
      run.scanProblem("\(Self.remoteDisplay(remote, dir.path)): cannot read directory: \(error)")
      return
    }
    for var node in entries {
      try Task.checkCancellation()
      let path = dir.path.isEmpty ? node.name : dir.path + [UInt8(ascii: "/")] + node.name
      let shown = Array(remote.snapshotPath.utf8) + [UInt8(ascii: "/")] + path
      if excluder.excludes(path: shown, name: node.name) {
        run.excluded += 1
        continue
      }
      progress.update {
        $0.scanned += 1
        if node.kind == .file { $0.scannedBytes += node.size }
      }
      let parentNode = parentTree?.node(named: node.name)
      if let p = parentNode, p.kind == node.kind, p.inode == node.inode, p.ctime == node.ctime {
        node.xattrs = p.xattrs
      } else {
        do {
          node.xattrs = try remote.extras(path, of: node)
        } catch let e as RemoteTreeError where e.lost {
          throw LifeboatError(.fatal, "\(remote.displayName) went away during the backup: \(e.message); no snapshot was saved")
        } catch {
          run.scanProblem("\(Self.remoteDisplay(remote, path)): cannot read its security descriptor: \(error)")
        }
      }
      switch node.kind {
      case .directory:
        let d = run.makeDirectory(node, path: path, parentNode: parentNode, remote: remote, in: dir)
        try await scanDirectoryContents(d, parentTree: try await subtree(of: parentNode), run: run, compressor: compressor)
        try await endScan(of: d, run: run, compressor: compressor)
      case .file:
        try await placeFile(node, path: path, parentNode: parentNode, into: dir, run: run, remote: remote)
      default:
        _ = run.add(.ready(node), to: dir)
      }
    }
  }

  func readRemote(_ job: FileJob, remote: any RemoteTree, reader: FileReader) async throws -> FileResult {
    var result = FileResult()
    let shown = Self.remoteDisplay(remote, job.path)
    let file: any RemoteFile
    do {
      file = try remote.open(job.path)
    } catch let e as RemoteTreeError where e.lost {
      throw LifeboatError(.fatal, "\(remote.displayName) went away during the backup: \(e.message); no snapshot was saved")
    } catch {
      result.error = "\(shown): cannot read: \(error)"
      progress.update { $0.errors += 1 }
      return result
    }
    defer { file.close() }
    var failure: (any Error)?
    let outcome = try await reader.read(expectedSize: Int(job.node.size), progress: progress) { buffer, count in
      do {
        // At most 1 MiB per call: a remote read may hold a library-wide lock (SMB), and
        // shorter holds let the other readers and the scan take turns.
        return try file.read(into: buffer, count: min(count, 1 << 20))
      } catch {
        failure = error
        return -Int(EIO)
      }
    }
    if let lost = failure as? RemoteTreeError, lost.lost {
      throw LifeboatError(.fatal, "\(remote.displayName) went away during the backup: \(lost.message); no snapshot was saved",
        hint: "the next run starts again and reuses what was uploaded")
    }
    if let after = file.currentState(),
      after.mtime != job.node.mtime || after.size != job.node.size || outcome.bytes != job.node.size
    {
      result.changedTimes = (after.mtime, after.ctime)
      result.changedPath = shown
    }
    if let e = outcome.error {
      result.error = "\(shown): read failed: \(failure.map { "\($0)" } ?? e)"
      return result
    }
    result.take(outcome)
    progress.add(files: 1)
    return result
  }

  static func remoteDisplay(_ remote: any RemoteTree, _ path: [UInt8]) -> String {
    path.isEmpty ? remote.displayName : remote.displayName + "/" + PathBytes.display(path)
  }
}
