import Foundation
import LifeboatConsole
import LifeboatCore
import LifeboatRemote
import LifeboatServer
import LifeboatStorage
import LifeboatTesting
import Logging
import Testing

/// The client side of a Lifeboat server: URLs, tokens, and the backend contract spoken over
/// HTTP to a real server (in this process, on a loopback port).
@Suite struct RemoteBackendTests {
  /// Restore and check size their request concurrency by this flag; decorators must keep it.
  @Test func remotenessSurvivesDecorators() throws {
    let rest = try RESTBackend.open("rest:http://127.0.0.1:9/acme/files", environment: ["LIFEBOAT_SERVER_TOKEN": "lb_x"])
    #expect(rest.isRemote)
    #expect(RetryingBackend(rest).isRemote)
    #expect(QuarantiningBackend(RetryingBackend(rest), quarantineRoot: "/nonexistent").isRemote)
    #expect(FaultInjectingBackend(rest).isRemote)
    #expect(!LocalBackend(path: "/tmp").isRemote && !RetryingBackend(MemoryBackend()).isRemote)
  }

  @Test func restURLsAreParsedAndBadOnesExplained() throws {
    let env = ["LIFEBOAT_SERVER_TOKEN": "lb_x"]
    #expect(try RESTBackend.open("rest:https://backup.example.net:8443/acme/files/", environment: env).location
      == "rest:https://backup.example.net:8443/acme/files")
    for bad in ["rest:ftp://host/a/b", "rest:https://host/only-tenant", "rest:https://host/a/b/c"] {
      #expect(throws: (any Error).self, "\(bad)") { try RESTBackend.open(bad, environment: env) }
    }
    do {
      _ = try RESTBackend.open("rest:https://host/a/b", environment: [:])
      Issue.record("a missing token must be an error")
    } catch {
      #expect("\(error)".contains("LIFEBOAT_SERVER_TOKEN"), "\(error)")
    }
  }
}

@Suite struct RESTConformanceTests {
  /// The same conformance suite as the local, memory, retrying and S3 backends, with the
  /// server's append-only contract: removes of anything but locks are refused and the config
  /// is never replaced. Key files are checked by the server, so random bytes are not saved as
  /// keys (the server's key-upload tests cover them).
  @Test func theRESTBackendPassesTheBackendConformanceSuite() async throws {
    let dir = TemporaryDirectory("lifeboat-rest-conformance")
    defer { dir.remove() }
    var c = ServerConfiguration()
    c.dataDirectory = dir.sub("data")
    c.host = "127.0.0.1"
    c.port = 0
    c.maintenanceEvery = 0
    let console = try Console(dataDirectory: c.dataDirectory)
    _ = try console.createTenant(id: "acme", name: "Acme", actor: "test")
    for name in ["files", "files2"] {
      _ = try console.createRepository(tenant: "acme", name: name, actor: "test")
      try LocalBackend(path: console.repositoryDirectory(tenant: "acme", name: name)).createLayout()
    }
    let (_, token) = try console.createPrincipal(name: "fs1", role: .backup, tenant: "acme", actor: "test")
    let server = LifeboatServer(configuration: c, console: console)
    var logger = Logger(label: "test.rest")
    logger.logLevel = .critical
    let (ports, bound) = AsyncStream.makeStream(of: Int.self)
    let app = try server.application(logger: logger) { port in bound.yield(port) }
    let running = Task { try await app.runService() }
    defer { running.cancel() }
    var iterator = ports.makeAsyncIterator()
    let port = try #require(await iterator.next())
    let rest = try RESTBackend.open("rest:http://127.0.0.1:\(port)/acme/files", environment: ["LIFEBOAT_SERVER_TOKEN": token])
    let problems = await BackendConformance.run(
      rest, contract: .init(appendOnly: true, types: [.pack, .index, .snapshot, .lock, .mark]))
    #expect(problems.isEmpty, "\(problems)")
    // Retried, as the CLI opens it (BackendFactory), on a second repository.
    let second = try RESTBackend.open("rest:http://127.0.0.1:\(port)/acme/files2", environment: ["LIFEBOAT_SERVER_TOKEN": token])
    let retried = await BackendConformance.run(
      RetryingBackend(second), seed: 2, contract: .init(appendOnly: true, types: [.pack, .index, .snapshot, .lock, .mark]))
    #expect(retried.isEmpty, "\(retried)")
  }
}
