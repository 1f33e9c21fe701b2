import Foundation
import LifeboatCatalog
import LifeboatConsole
import LifeboatCore
import LifeboatTesting
import Testing

/// The server's state without HTTP, on a manual clock: tokens kept only as hashes, expiry and
/// revocation, the four-eyes rule and the approvals' lifetime, and the audit chain behind them.
@Suite struct ConsoleTests {
  static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

  @Test func tokensAreKeptAsHashesAndExpireOnTheClock() throws {
    let dir = TemporaryDirectory("lifeboat-console")
    defer { dir.remove() }
    let clock = ManualClock(Self.t0)
    let console = try Console(dataDirectory: dir.sub("data"), clock: clock)
    _ = try console.createTenant(id: "acme", name: "Acme", actor: "test")
    let (p, token) = try console.createPrincipal(
      name: "fs1", role: .backup, tenant: "acme", expires: Self.t0.addingTimeInterval(3600), actor: "test")
    #expect(token.hasPrefix("lb_") && token.count > 30)
    let stored = try String(decoding: Data(contentsOf: URL(fileURLWithPath: dir.sub("data/console.sqlite"))), as: UTF8.self)
    #expect(!stored.contains(token), "only the token's hash is stored")
    #expect(try console.authenticate(token: token) == .success(p))
    #expect(try console.authenticate(token: token + "x") == .failure(.unknown))
    clock.advance(3600)
    #expect(try console.authenticate(token: token) == .failure(.expired), "expiry is read from the injected clock")
    let (q, other) = try console.createPrincipal(name: "ops", role: .admin, tenant: nil, actor: "test")
    try console.revoke(id: q.id, actor: "test")
    #expect(try console.authenticate(token: other) == .failure(.revoked))
    #expect(throws: (any Error).self, "a backup token belongs to a tenant") {
      try console.createPrincipal(name: "x", role: .backup, tenant: nil, actor: "test")
    }
    let chain = try console.audit.verifyAudit()
    #expect(chain.isIntact && chain.events >= 4, "every token change is in the server's audit chain")
  }

  @Test func fourEyesAndTheApprovalsLifetime() throws {
    let dir = TemporaryDirectory("lifeboat-console")
    defer { dir.remove() }
    let clock = ManualClock(Self.t0)
    let console = try Console(dataDirectory: dir.sub("data"), clock: clock)
    _ = try console.createTenant(id: "acme", name: "Acme", actor: "test")
    let (root, _) = try console.createPrincipal(name: "root", role: .admin, tenant: nil, actor: "test")
    let (deputy, _) = try console.createPrincipal(name: "deputy", role: .admin, tenant: nil, createdBy: root.id, actor: "test")
    let (other, _) = try console.createPrincipal(name: "other", role: .admin, tenant: nil, actor: "test")
    let (twin, _) = try console.createPrincipal(name: " Deputy", role: .admin, tenant: nil, actor: "test")
    clock.advance(60)
    let a = try console.requestApproval(
      tenant: "acme", action: .unprotectSnapshots, repository: "files", snapshots: [String(repeating: "ab", count: 32)],
      reason: "matter closed", by: deputy)
    #expect(try console.dependence(approver: deputy, requesterID: deputy.id, requested: a.requested) != nil)
    #expect(try console.dependence(approver: root, requesterID: deputy.id, requested: a.requested)?.contains("created") == true)
    #expect(try console.dependence(approver: twin, requesterID: deputy.id, requested: a.requested)?.contains("one person") == true)
    #expect(try console.dependence(approver: other, requesterID: deputy.id, requested: a.requested) == nil)
    clock.advance(10)
    let (late, _) = try console.createPrincipal(name: "late", role: .admin, tenant: nil, actor: "test")
    #expect(try console.dependence(approver: late, requesterID: deputy.id, requested: a.requested)?.contains("after the request") == true)
    #expect(throws: (any Error).self) { try console.decide(id: a.id, approve: true, by: root) }
    #expect(try console.decide(id: a.id, approve: true, by: other).state == .approved)

    // A request nobody decides expires after its lifetime, on the console's clock.
    let b = try console.requestApproval(
      tenant: "acme", action: .deleteRepository, repository: "files", snapshots: [], reason: "", by: deputy)
    clock.advance(Console.approvalLifetime + 1)
    #expect(try console.approval(id: b.id).map { _ in try console.approvals().first { $0.id == b.id }?.state } == .expired)
  }
}
