import Foundation
import LifeboatBackends
import LifeboatCore
import LifeboatStorage
import LifeboatTesting
import Testing

/// The composition root: every kind of location maps to its backend, and anything else is a
/// clear error naming the forms that work.
@Suite struct BackendFactoryTests {
  static let env = ["LIFEBOAT_SERVER_TOKEN": "lb_test", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]

  @Test func locationsMapToTheirBackends() throws {
    let dir = TemporaryDirectory("lifeboat-factory")
    defer { dir.remove() }
    #expect(BackendFactory.kind(of: dir.path) == .local)
    #expect(BackendFactory.kind(of: "file://" + dir.path) == .local)
    #expect(BackendFactory.kind(of: "s3:https://s3.example.net/bucket/prefix") == .s3)
    #expect(BackendFactory.kind(of: "s3://bucket") == .s3)
    #expect(BackendFactory.kind(of: "rest:https://backup.example.net/acme/files") == .server)
    #expect(BackendFactory.kind(of: "sftp://host/path") == nil)

    let local = try BackendFactory.backend(for: "file://" + dir.path, environment: Self.env)
    #expect((local as? LocalBackend)?.root == dir.path, "file:// is a local path")
    let rest = try BackendFactory.backend(for: "rest:https://backup.example.net/acme/files", environment: Self.env)
    #expect(rest is RetryingBackend && rest.isRemote, "a server is retried")
    let s3 = try BackendFactory.backend(for: "s3:https://s3.example.net/bucket/prefix", environment: Self.env)
    #expect(s3.isRemote)

    #expect(BackendFactory.clientRetention(at: dir.path) && BackendFactory.clientRetention(at: "s3://bucket"))
    #expect(!BackendFactory.clientRetention(at: "rest:https://backup.example.net/acme/files"), "a server prunes its own")
  }

  @Test func anUnsupportedLocationSaysWhatWorks() {
    do {
      _ = try BackendFactory.backend(for: "sftp://host/path", environment: Self.env)
      Issue.record("sftp is not a backend")
    } catch let e as LifeboatError {
      #expect(e.kind == .usage && e.message.contains("unsupported repository location sftp://host/path"))
      #expect(e.hint?.contains("rest:https://HOST[:PORT]/TENANT/REPOSITORY") == true)
    } catch {
      Issue.record("\(error)")
    }
  }
}
