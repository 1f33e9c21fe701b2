import LifeboatCore
import LifeboatFormat
import LifeboatStorage
public import LifeboatRepository

/// Rebuilds the index from the pack headers: for when index files are damaged or lost. Every
/// pack's header is read and authenticated; new index files describing all readable packs are
/// written, the last superseding every old index file, then the old files are deleted. The
/// caller MUST hold the exclusive lock. Packs whose header cannot be read are reported and left
/// in place (their blobs are unreachable until the pack is repaired or removed).
public struct IndexRepair: Sendable {
  public struct Report: Sendable, Codable {
    public var packs = 0
    public var blobs = 0
    public var unreadablePacks: [String] = []
    public var indexFilesReplaced = 0
    public var indexFilesWritten = 0
  }

  public let repository: Repository

  public init(repository: Repository) {
    self.repository = repository
  }

  public func run() async throws -> Report {
    var report = Report()
    let stored = try await Repository.storage { try await repository.backend.list(.pack) }
    var packs = [IndexFile.Pack]()
    for s in stored.sorted(by: { $0.name < $1.name }) {
      guard let id = ID(hex: s.name) else { continue }
      do {
        let entries = try await repository.loadPackHeader(id, size: s.size)
        packs.append(IndexFile.Pack(id: id, entries: entries))
        report.blobs += entries.count
      } catch {
        report.unreadablePacks.append(s.name)
      }
    }
    report.packs = packs.count
    let (written, replaced) = try await repository.replaceIndex(with: packs)
    report.indexFilesWritten = written
    report.indexFilesReplaced = replaced
    return report
  }
}
