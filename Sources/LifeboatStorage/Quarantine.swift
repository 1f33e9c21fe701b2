// Deletion that can be undone for a while: the server's maintenance removes objects through a
// QuarantiningBackend, which first copies each object into a quarantine folder named by the
// day it was removed. Quarantine folders older than the window are purged; until then an admin
// can put everything back.

public import Foundation
public import LifeboatCore

/// A backend whose `remove` keeps a copy in `quarantine/<YYYY-MM-DD>/` first (lock files
/// excepted).
public struct QuarantiningBackend: Backend {
  public let base: any Backend
  /// A local folder; each day's removals form a repository layout below it.
  public let quarantineRoot: String
  let clock: any WallClock

  public init(_ base: any Backend, quarantineRoot: String, clock: any WallClock = SystemClock()) {
    self.base = base
    self.quarantineRoot = quarantineRoot
    self.clock = clock
  }

  public var location: String { base.location }
  public var isRemote: Bool { base.isRemote }

  public func save(_ handle: Handle, data: [UInt8]) async throws { try await base.save(handle, data: data) }
  public func load(_ handle: Handle, offset: Int, length: Int?) async throws -> [UInt8] {
    try await base.load(handle, offset: offset, length: length)
  }
  public func stat(_ handle: Handle) async throws -> ObjectInfo { try await base.stat(handle) }
  public func list(_ type: ObjectType) async throws -> [ObjectInfo] { try await base.list(type) }

  public func remove(_ handle: Handle) async throws {
    // Lock files hold no data: they are removed directly.
    if handle.type == .lock { return try await base.remove(handle) }
    let data = try await base.load(handle)
    let day = Quarantine.dayName(clock.now())
    let folder = LocalBackend(path: quarantineRoot + "/" + day)
    if !FileManager.default.fileExists(atPath: folder.root + "/data/ff") {
      try FileManager.default.createDirectory(atPath: quarantineRoot, withIntermediateDirectories: true)
      try folder.createLayout()
    }
    try await folder.save(handle, data: data)
    try await base.remove(handle)
  }
}

public enum Quarantine {
  static func dayName(_ d: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: d)
  }

  /// The day folders under `root`, oldest first, with the date each stands for.
  public static func days(root: String) -> [(name: String, date: Date)] {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return names.compactMap { n in f.date(from: n).map { (n, $0) } }.sorted { $0.date < $1.date }
  }

  /// Deletes day folders whose day ended more than `days` days before `now`; returns their names.
  @discardableResult
  public static func purge(root: String, olderThanDays days: Int, now: Date) throws -> [String] {
    var purged: [String] = []
    for d in Self.days(root: root) where d.date.addingTimeInterval(Double(days + 1) * 86400) <= now {
      try FileManager.default.removeItem(atPath: root + "/" + d.name)
      purged.append(d.name)
    }
    return purged
  }

  /// Copies every quarantined object back into `target` (objects already there are left as
  /// they are); returns how many were restored. The quarantine keeps its copies.
  @discardableResult
  public static func restore(root: String, into target: any Backend) async throws -> Int {
    var restored = 0
    for d in days(root: root) {
      let folder = LocalBackend(path: root + "/" + d.name)
      for type in ObjectType.allCases where type != .lock {
        let handles: [Handle] =
          type == .config
          ? (FileManager.default.fileExists(atPath: folder.root + "/config") ? [.config] : [])
          : try await folder.list(type).map { Handle(type, $0.name) }
        for h in handles where !(try await target.exists(h)) {
          try await target.save(h, data: try await folder.load(h))
          restored += 1
        }
      }
    }
    return restored
  }
}
