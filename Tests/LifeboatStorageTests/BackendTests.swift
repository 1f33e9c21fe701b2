import Foundation
import LifeboatCore
import LifeboatStorage
import LifeboatTesting
import Testing

@Suite struct BackendTests {
  @Test func memoryBackendConforms() async {
    #expect(await BackendConformance.run(MemoryBackend()) == [])
  }

  @Test func localBackendConforms() async throws {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let b = LocalBackend(path: dir.sub("repo"))
    try b.createLayout()
    #expect(await BackendConformance.run(b) == [])
  }

  @Test func faultInjectingBackendConformsWhenNoFaultIsSet() async {
    #expect(await BackendConformance.run(FaultInjectingBackend(MemoryBackend())) == [])
  }

  @Test func localBackendLeavesNoTemporaryFilesAndIgnoresThem() async throws {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let b = LocalBackend(path: dir.path)
    try b.createLayout()
    let name = String(repeating: "ab", count: 32)
    try await b.save(Handle(.pack, name), data: [1, 2, 3])
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.sub("data/ab"))
    #expect(files == [name])
    // A leftover from a crash is not listed.
    #expect(FileManager.default.createFile(atPath: dir.sub("data/ab/.tmp-123"), contents: Data([9])))
    #expect(try await b.list(.pack).map(\.name) == [name])
  }

  @Test func localBackendClassifiesErrors() async throws {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let b = LocalBackend(path: dir.sub("absent"))
    do {
      _ = try await b.load(.config)
      Issue.record("load of a missing repository succeeded")
    } catch let e as StorageError {
      #expect(e.isNotFound)
    }
    do {
      try await b.save(Handle(.pack, "../../etc/passwd"), data: [])
      Issue.record("a path-like name was accepted")
    } catch let e as StorageError {
      #expect(e.code == .invalid)
    }
  }

  @Test func injectedFullDiskIsClassified() async throws {
    var f = FaultInjectingBackend.Faults()
    f.failSavesAfter = 1
    let b = FaultInjectingBackend(MemoryBackend(), faults: f)
    try await b.save(Handle(.index, String(repeating: "1", count: 64)), data: [1])
    do {
      try await b.save(Handle(.index, String(repeating: "2", count: 64)), data: [1])
      Issue.record("second save should fail")
    } catch let e as StorageError {
      #expect(e.code == .noSpace)
      #expect(e.asLifeboatError.kind == .noSpace)
    }
  }
}
