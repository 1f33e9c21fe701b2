// The application: every route is added through `add`, which records it in the route table
// and checks its Access rule before the handler runs.

public import Foundation
import LifeboatPosture
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LifeboatCatalog
public import LifeboatConsole
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatReport
import LifeboatStorage
public import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Collects routes and their rules while the router is built.
final class RouteTable: @unchecked Sendable {  // the router is only touched while it is built
  let specs = Mutex<[RouteSpec]>([])
  let router: Router<ServerContext>

  init(router: Router<ServerContext>) { self.router = router }

  func add(
    _ method: HTTPRequest.Method, _ path: String, _ access: Access, _ summary: String,
    _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
  ) {
    let spec = RouteSpec(method: method.rawValue, path: path, access: access, summary: summary)
    specs.withLock { $0.append(spec) }
    router.on(RouterPath(spec.routerPath), method: method) { request, context in
      _ = try context.authorize(access, tenant: context.parameters.get("tenant"))
      return try await handler(request, context)
    }
  }
}

public struct LifeboatServer: Sendable {
  public let console: Console
  public let configuration: ServerConfiguration
  public let maintenance: ServerMaintenance
  let metrics: ServerMetrics

  public init(configuration: ServerConfiguration, console: Console, environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.configuration = configuration
    self.console = console
    self.maintenance = ServerMaintenance(console: console, configuration: configuration, environment: environment)
    self.metrics = ServerMetrics()
  }

  var now: Date { console.clock.now() }

  /// On a server with no principals yet, creates the first admin and returns its token, to be
  /// shown once.
  public func bootstrapAdmin() throws -> String? {
    guard try console.principals().isEmpty else { return nil }
    return try console.createPrincipal(name: "admin", role: .admin, tenant: nil, actor: "lifeboat serve (first start)").token
  }

  /// The router with every route; `routes` lists them with their rules.
  public func router() -> (Router<ServerContext>, [RouteSpec]) {
    let router = Router(context: ServerContext.self)
    let t = RouteTable(router: router)
    router.add(middleware: metrics.middleware)
    router.add(middleware: ErrorMiddleware(routes: { t.specs.withLock { $0 } }))
    router.add(middleware: AuthMiddleware(console: console))
    addAPI(t)
    addRepositoryEndpoint(t)
    addDashboard(t)
    return (router, t.specs.withLock { $0 })
  }

  /// A runnable application on the configured address (HTTPS when a certificate is set).
  public func application(logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
    throws -> some ApplicationProtocol
  {
    let (router, _) = router()
    let server: HTTPServerBuilder
    let http1 = HTTP1Channel.Configuration(idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000)))
    if let cert = configuration.certificate, let key = configuration.privateKey {
      let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
      let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
      server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
    } else {
      server = .http1(configuration: http1)
    }
    var services: [any Service] = []
    if configuration.maintenanceEvery > 0 {
      services.append(MaintenanceService(maintenance: maintenance, every: configuration.maintenanceEvery, logger: logger))
    }
    if !configuration.alerts.isEmpty {
      services.append(AlertService(console: console, configuration: configuration, logger: logger))
    }
    return Application(
      router: router, server: server,
      configuration: .init(
        address: .hostname(configuration.host, port: configuration.port), serverName: "lifeboat",
        availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
      services: services,
      onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
      logger: logger)
  }

  // MARK: - Helpers

  static var encoder: JSONEncoder {
    let e = JSONEncoder.drill
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
  }

  static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try encoder.encode(value)
    return Response(
      status: status, headers: [.contentType: "application/json; charset=utf-8"],
      body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  static func text(_ s: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: s)))
  }

  func body(_ request: Request, limit: Int? = nil) async throws -> ByteBuffer {
    let max = limit ?? configuration.maxRequestSize
    if let n = request.headers[.contentLength].flatMap(Int.init), n > max {
      throw failure(.contentTooLarge, "the body is \(n) bytes; the limit is \(max)", code: "too-large")
    }
    var r = request
    do {
      return try await r.collectBody(upTo: max)
    } catch let e as HTTPError where e.status == .contentTooLarge {
      throw failure(.contentTooLarge, "the body is larger than the limit of \(max) bytes", code: "too-large")
    }
  }

  func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
    let buffer = try await body(request)
    guard buffer.readableBytes > 0 else { throw failure(.badRequest, "the request needs a JSON body", code: "bad-json") }
    return try JSONDecoder.drill.decode(T.self, from: Data(buffer.readableBytesView))
  }

  func tenantParameter(_ context: ServerContext) throws -> Tenant {
    let id = try context.parameters.require("tenant")
    guard let t = try console.tenant(id) else { throw failure(.notFound, "no tenant '\(id)'", code: "no-tenant") }
    return t
  }

  /// The tenant and the name of a repository the server stores for it (404 otherwise).
  func repositoryParameter(_ context: ServerContext) throws -> (Tenant, String) {
    let tenant = try tenantParameter(context)
    let name = try context.parameters.require("repository")
    guard try console.repository(tenant: tenant.id, name: name) != nil else { throw failure(.notFound, "no repository '\(name)'") }
    return (tenant, name)
  }

  func visibleTenants(_ p: Principal) throws -> [Tenant] {
    try console.tenants().filter { p.mayAccess(tenant: $0.id) }
  }

  // MARK: - API

  struct NewTenant: Decodable { var id: String; var name: String? }
  struct NewToken: Decodable { var name: String; var role: Role; var tenant: String?; var expiresInDays: Int?
    enum CodingKeys: String, CodingKey { case name, role, tenant, expiresInDays = "expires_in_days" }
  }
  struct CreatedToken: Encodable { var principal: Principal; var token: String; var note: String }
  struct NewRepository: Decodable { var name: String }
  struct ForgetRequest: Decodable { var snapshots: [String]; var reason: String? }
  struct DeleteRequest: Decodable { var reason: String? }
  struct PlanProblem: Encodable { var line: Int; var column: Int; var severity: String; var message: String; var hint: String? }
  struct Accepted: Encodable { var approval: Approval; var note: String }

  func addAPI(_ t: RouteTable) {
    t.add(.get, "/healthz", .open, "Liveness: answers ok while the server runs") { _, _ in
      Self.text("{\"status\":\"ok\"}\n", type: "application/json")
    }
    t.add(.get, "/api/v1/openapi.yaml", .open, "This API, as an OpenAPI 3.1 document") { _, _ in
      Self.text(OpenAPIDocument.yaml(routes: t.specs.withLock { $0 }), type: "application/yaml; charset=utf-8")
    }
    t.add(.get, "/api/v1/whoami", .read, "The principal the token belongs to") { _, context in
      try Self.json(context.principal)
    }
    addTenantRoutes(t)
    addEvidenceRoutes(t)
    addRepositoryRoutes(t)
    addAccessRoutes(t)
  }

  /// Tenants, plans, systems and findings: what the console knows of each client.
  func addTenantRoutes(_ t: RouteTable) {
    t.add(.get, "/api/v1/tenants", .read, "Tenants this token may see, worst state first") { _, context in
      let p = context.principal!
      let summaries = try visibleTenants(p).map { try TenantView.summary(console, $0, now: now) }
      return try Self.json(summaries.sorted { ($0.light, $1.id) > ($1.light, $0.id) })
    }
    t.add(.post, "/api/v1/tenants", .provider, "Create a tenant (a client organization)") { request, context in
      let body = try await decode(NewTenant.self, request)
      let tenant = try console.createTenant(id: body.id, name: body.name ?? body.id, actor: context.principal!.actor)
      return try Self.json(tenant, status: .created)
    }
    t.add(.get, "/api/v1/tenants/{tenant}", .read, "One tenant: systems, findings, storage") { _, context in
      try Self.json(TenantView.summary(console, try tenantParameter(context), now: now))
    }
    t.add(.get, "/api/v1/tenants/{tenant}/plan", .read, "The tenant's plan (YAML)") { _, context in
      let tenant = try tenantParameter(context)
      guard let data = FileManager.default.contents(atPath: console.planPath(tenant.id)) else {
        throw failure(.notFound, "tenant '\(tenant.id)' has no plan yet; PUT one here", code: "no-plan")
      }
      return Self.text(String(decoding: data, as: UTF8.self), type: "application/yaml; charset=utf-8")
    }
    t.add(.put, "/api/v1/tenants/{tenant}/plan", .operate, "Replace the plan; refused with line-numbered problems when invalid") {
      request, context in
      let tenant = try tenantParameter(context)
      let buffer = try await body(request)
      let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
      let result = PlanLoader.parse(text, file: console.planPath(tenant.id))
      guard result.errors.isEmpty, result.plan != nil else {
        let problems = result.diagnostics.map {
          PlanProblem(line: $0.line, column: $0.column, severity: $0.severity.rawValue, message: $0.message, hint: $0.hint)
        }
        return try Self.json(["problems": problems], status: .unprocessableContent)
      }
      try console.storePlan(tenant: tenant.id, text: text, actor: context.principal!.actor)
      return try Self.json(TenantView.summary(console, tenant, now: now))
    }
    t.add(.get, "/api/v1/tenants/{tenant}/systems", .read, "Each system's RPO and RTO state") { _, context in
      try Self.json(TenantView.summary(console, try tenantParameter(context), now: now).systems)
    }
    t.add(.get, "/api/v1/tenants/{tenant}/systems/{system}", .read, "One system's state") { _, context in
      let s = try TenantView.summary(console, try tenantParameter(context), now: now)
      let name = try context.parameters.require("system")
      guard let v = s.systems.first(where: { $0.status.system == name }) else {
        throw failure(.notFound, "the plan has no system '\(name)'")
      }
      return try Self.json(v)
    }
  }

  /// Runs, drills, reports and audit chains: the evidence.
  func addEvidenceRoutes(_ t: RouteTable) {
    t.add(.get, "/api/v1/tenants/{tenant}/runs", .read, "Runs reported by the tenant's agents, newest first") { request, context in
      let tenant = try tenantParameter(context)
      let q = request.uri.queryParameters
      let limit = q["limit"].flatMap { Int($0) } ?? 200
      guard (1...10_000).contains(limit) else { throw failure(.badRequest, "limit must be 1–10000") }
      return try Self.json(
        try console.catalog(tenant.id).jobs(system: q["system"].map(String.init), kind: q["kind"].map(String.init), limit: limit))
    }
    t.add(.post, "/api/v1/tenants/{tenant}/runs", .report, "Report finished runs (agents); idempotent per source and job id") {
      request, context in
      let tenant = try tenantParameter(context)
      let batch = try await decode(RunBatch.self, request)
      guard !batch.source.isEmpty, batch.source.count <= 200 else { throw failure(.unprocessableContent, "source must be 1–200 characters") }
      guard batch.jobs.count <= 1000 else { throw failure(.unprocessableContent, "at most 1000 jobs per report") }
      for j in batch.jobs where j.id == nil {
        throw failure(.unprocessableContent, "every reported job needs its id on the agent (\(j.kind) \(j.system))")
      }
      var stored: [Int64] = []
      for j in batch.jobs {
        stored.append(try console.ingest(tenant: tenant.id, source: batch.source, job: j, actor: context.principal!.actor))
      }
      return try Self.json(["stored": stored], status: .ok)
    }
    t.add(.get, "/api/v1/tenants/{tenant}/runs/{id}", .read, "One run, with its details") { _, context in
      let tenant = try tenantParameter(context)
      guard let id = Int64(try context.parameters.require("id")), let job = try console.catalog(tenant.id).job(id: id) else {
        throw failure(.notFound, "no such run")
      }
      return try Self.json(job)
    }
    t.add(.get, "/api/v1/tenants/{tenant}/drills", .read, "Restore drills, newest first, with verdict and recovery time") {
      _, context in
      let tenant = try tenantParameter(context)
      let drills = try console.catalog(tenant.id).jobs(kind: "drill", limit: 500).map { j -> DrillSummary in
        // The verdict and recovery time are typed facts; the report adds the objective.
        let r = j.details.flatMap { try? JSONDecoder.drill.decode(DrillReport.self, from: Data($0.utf8)) }
        return DrillSummary(id: j.id ?? 0, system: j.system, started: j.started, outcome: j.outcome.rawValue,
          verdict: j.verdict?.rawValue, recoverySeconds: j.recoverySeconds, rtoSeconds: r?.rtoSeconds)
      }
      return try Self.json(drills)
    }
    t.add(.get, "/api/v1/tenants/{tenant}/findings", .read, "What needs attention, worst first") { _, context in
      try Self.json(TenantView.summary(console, try tenantParameter(context), now: now).findings)
    }
    t.add(.get, "/api/v1/tenants/{tenant}/reports/{kind}", .read, "A report as HTML or JSON (?format=json, ?system=)") {
      request, context in
      let tenant = try tenantParameter(context)
      let kindName = try context.parameters.require("kind")
      guard let kind = ReportKind(rawValue: kindName) else {
        throw failure(.notFound, "no report '\(kindName)'; kinds: \(ReportKind.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      let (plan, errors) = TenantView.plan(console, tenant.id)
      guard let plan else {
        throw failure(.conflict, errors.isEmpty ? "tenant '\(tenant.id)' has no plan yet" : "the plan has errors: \(errors.joined(separator: "; "))")
      }
      let q = request.uri.queryParameters
      let rendered: (html: String, json: Data, name: String)
      do {
        rendered = try ReportWriter.render(kind, plan: plan, catalog: try console.catalog(tenant.id), system: q["system"].map(String.init), now: now)
      } catch let e as PlanError {
        throw failure(.notFound, e.message)
      }
      try console.catalog(tenant.id).audit(kind: "evidence-download", subject: kind.rawValue,
        details: ["format": q["format"].map(String.init) ?? "html"], actor: context.principal!.actor, time: now)
      if q["format"] == "json" {
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: rendered.json)))
      }
      return Self.text(rendered.html, type: "text/html; charset=utf-8")
    }
    t.add(.get, "/api/v1/tenants/{tenant}/audit", .read, "The tenant's audit events") { _, context in
      try Self.json(try console.catalog(try tenantParameter(context).id).auditEvents())
    }
    t.add(.get, "/api/v1/tenants/{tenant}/audit/verify", .read, "Recompute the tenant's audit chain") { request, context in
      let head = request.uri.queryParameters["expected_head"].map(String.init)
      return try Self.json(try console.catalog(try tenantParameter(context).id).verifyAudit(expectedHead: head))
    }
    t.add(.get, "/api/v1/audit/verify", .provider, "Recompute the server's own audit chain") { request, _ in
      let head = request.uri.queryParameters["expected_head"].map(String.init)
      return try Self.json(try console.audit.verifyAudit(expectedHead: head))
    }
  }

  /// Repositories and the requests that change them (deletions and unprotects need four eyes).
  func addRepositoryRoutes(_ t: RouteTable) {
    t.add(.get, "/api/v1/tenants/{tenant}/repositories", .read, "Repositories the server stores for the tenant") { _, context in
      let tenant = try tenantParameter(context)
      let repos = try console.repositories(tenant: tenant.id).map {
        RepositoryInfo(repository: $0, bytes: TenantView.directorySize(console.repositoryDirectory(tenant: tenant.id, name: $0.name)),
          quarantineDays: Quarantine.days(root: console.quarantineDirectory(tenant: tenant.id) + "/" + $0.name).map(\.name))
      }
      return try Self.json(repos)
    }
    t.add(.post, "/api/v1/tenants/{tenant}/repositories", .operate, "Create a repository clients can back up into") {
      request, context in
      let tenant = try tenantParameter(context)
      let body = try await decode(NewRepository.self, request)
      let r = try console.createRepository(tenant: tenant.id, name: body.name, actor: context.principal!.actor)
      try console.storedBackend(tenant: tenant.id, name: r.name).createLayout()
      return try Self.json(r, status: .created)
    }
    t.add(.delete, "/api/v1/tenants/{tenant}/repositories/{repository}", .operate,
      "Request deleting a repository: a second admin must approve") { request, context in
      let (tenant, name) = try repositoryParameter(context)
      let reason = request.headers[.contentLength].map { $0 != "0" } == true ? try await decode(DeleteRequest.self, request).reason : nil
      let a = try console.requestApproval(tenant: tenant.id, action: .deleteRepository, repository: name, snapshots: [],
        reason: reason ?? "", by: context.principal!)
      return try Self.json(Accepted(approval: a, note: "waiting for a second admin: POST /api/v1/approvals/\(a.id)/approve"), status: .accepted)
    }
    t.add(.post, "/api/v1/tenants/{tenant}/repositories/{repository}/forget", .operate,
      "Request deleting snapshots: a second admin must approve") { request, context in
      try await requestSnapshotApproval(.deleteSnapshots, request, context)
    }
    t.add(.post, "/api/v1/tenants/{tenant}/repositories/{repository}/unprotect", .operate,
      "Request lifting the protection of snapshots (their protect marks): a second admin must approve") { request, context in
      try await requestSnapshotApproval(.unprotectSnapshots, request, context)
    }
    t.add(.post, "/api/v1/tenants/{tenant}/repositories/{repository}/maintenance", .administer,
      "Run retention, prune and the quarantine purge now") { _, context in
      let (tenant, name) = try repositoryParameter(context)
      return try Self.json(try await maintenance.run(tenant: tenant.id, repository: name, actor: context.principal!.actor))
    }
    t.add(.post, "/api/v1/tenants/{tenant}/repositories/{repository}/quarantine/restore", .administer,
      "Put everything quarantined back into the repository (a deleted repository: the whole repository)") { _, context in
      let tenant = try tenantParameter(context)
      let name = try context.parameters.require("repository")
      return try Self.json(["restored": try await maintenance.restoreQuarantine(tenant: tenant.id, repository: name, actor: context.principal!.actor)])
    }
  }

  /// A request about snapshots (delete, unprotect) waiting for a second admin.
  func requestSnapshotApproval(_ action: Approval.Action, _ request: Request, _ context: ServerContext) async throws -> Response {
    let (tenant, name) = try repositoryParameter(context)
    let body = try await decode(ForgetRequest.self, request)
    guard !body.snapshots.isEmpty, body.snapshots.allSatisfy(ObjectType.snapshot.isValidName) else {
      throw failure(.unprocessableContent, "snapshots must be full 64-digit snapshot ids")
    }
    let a = try console.requestApproval(
      tenant: tenant.id, action: action, repository: name, snapshots: body.snapshots, reason: body.reason ?? "",
      by: context.principal!)
    return try Self.json(Accepted(approval: a, note: "waiting for a second admin: POST /api/v1/approvals/\(a.id)/approve"), status: .accepted)
  }

  /// Approvals, tokens and metrics.
  func addAccessRoutes(_ t: RouteTable) {
    t.add(.get, "/api/v1/approvals", .read, "Deletion requests and their state") { _, context in
      let p = context.principal!
      return try Self.json(try console.approvals().filter { p.mayAccess(tenant: $0.tenant) })
    }
    t.add(.post, "/api/v1/approvals/{id}/approve", .administer, "Approve and carry out a request (not your own)") { _, context in
      try await decideApproval(context, approve: true)
    }
    t.add(.post, "/api/v1/approvals/{id}/reject", .administer, "Reject a request") { _, context in
      try await decideApproval(context, approve: false)
    }
    t.add(.get, "/api/v1/tokens", .administer, "Tokens (never the secrets)") { _, context in
      let p = context.principal!
      return try Self.json(try console.principals(tenant: p.tenant))
    }
    t.add(.post, "/api/v1/tokens", .administer, "Create a token; the secret is shown once") { request, context in
      let p = context.principal!
      let body = try await decode(NewToken.self, request)
      if let scope = p.tenant, body.tenant != scope {
        throw failure(.forbidden, "this admin may only create tokens for tenant '\(scope)'", code: "other-tenant")
      }
      let expires = try body.expiresInDays.map { days -> Date in
        guard days > 0 else { throw failure(.unprocessableContent, "expires_in_days must be positive") }
        return now.addingTimeInterval(Double(days) * 86400)
      }
      let (created, token) = try console.createPrincipal(
        name: body.name, role: body.role, tenant: body.tenant, expires: expires, createdBy: p.id, actor: p.actor)
      return try Self.json(CreatedToken(principal: created, token: token, note: "store this token now: the server keeps only its hash"), status: .created)
    }
    t.add(.delete, "/api/v1/tokens/{id}", .administer, "Revoke a token and end its sessions") { _, context in
      let p = context.principal!
      guard let id = Int64(try context.parameters.require("id")), let target = try console.principal(id: id),
        p.tenant == nil || target.tenant == p.tenant
      else { throw failure(.notFound, "no such token") }
      try console.revoke(id: id, actor: p.actor)
      return try Self.json(try console.principal(id: id))
    }
    t.add(.get, "/metrics", .read, "Prometheus metrics for the tenants this token may see") { _, context in
      let text = try metrics.exposition(console: console, principal: context.principal!, now: now)
      return Self.text(text, type: "text/plain; version=0.0.4; charset=utf-8")
    }
  }

  func decideApproval(_ context: ServerContext, approve: Bool) async throws -> Response {
    let p = context.principal!
    guard let id = Int64(try context.parameters.require("id")) else { throw failure(.notFound, "no such approval") }
    let decided = try console.decide(id: id, approve: approve, by: p)
    guard approve else { return try Self.json(decided) }
    return try Self.json(await maintenance.execute(decided, actor: p.actor))
  }
}

struct DrillSummary: Encodable {
  var id: Int64
  var system: String
  var started: Date
  var outcome: String
  var verdict: String?
  var recoverySeconds: Double?
  var rtoSeconds: Double?
}

struct RepositoryInfo: Encodable {
  var repository: StoredRepository
  var bytes: Int64
  var quarantineDays: [String]
}
