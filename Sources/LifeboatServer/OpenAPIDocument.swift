// The OpenAPI 3.1 document the server serves at /api/v1/openapi.yaml. Paths, methods, summaries
// and who may call them come from the route table itself, so the document cannot drift from the
// routes; request and response bodies are named here and their schemas written below.

import Foundation

enum OpenAPIDocument {
  /// Request and response schema per route ("METHOD path").
  static let bodies: [String: (request: String?, response: String?, status: String)] = [
    "GET /api/v1/whoami": (nil, "Principal", "200"),
    "GET /api/v1/tenants": (nil, "TenantSummaryList", "200"),
    "POST /api/v1/tenants": ("NewTenant", "Tenant", "201"),
    "GET /api/v1/tenants/{tenant}": (nil, "TenantSummary", "200"),
    "GET /api/v1/tenants/{tenant}/plan": (nil, "PlanText", "200"),
    "PUT /api/v1/tenants/{tenant}/plan": ("PlanText", "TenantSummary", "200"),
    "GET /api/v1/tenants/{tenant}/systems": (nil, "SystemViewList", "200"),
    "GET /api/v1/tenants/{tenant}/systems/{system}": (nil, "SystemView", "200"),
    "GET /api/v1/tenants/{tenant}/runs": (nil, "JobList", "200"),
    "POST /api/v1/tenants/{tenant}/runs": ("RunBatch", "Stored", "200"),
    "GET /api/v1/tenants/{tenant}/runs/{id}": (nil, "Job", "200"),
    "GET /api/v1/tenants/{tenant}/drills": (nil, "DrillSummaryList", "200"),
    "GET /api/v1/tenants/{tenant}/findings": (nil, "FindingList", "200"),
    "GET /api/v1/tenants/{tenant}/reports/{kind}": (nil, "Report", "200"),
    "GET /api/v1/tenants/{tenant}/audit": (nil, "AuditEventList", "200"),
    "GET /api/v1/tenants/{tenant}/audit/verify": (nil, "AuditVerification", "200"),
    "GET /api/v1/audit/verify": (nil, "AuditVerification", "200"),
    "GET /api/v1/tenants/{tenant}/repositories": (nil, "RepositoryInfoList", "200"),
    "POST /api/v1/tenants/{tenant}/repositories": ("NewRepository", "StoredRepository", "201"),
    "DELETE /api/v1/tenants/{tenant}/repositories/{repository}": ("DeleteRequest", "Accepted", "202"),
    "POST /api/v1/tenants/{tenant}/repositories/{repository}/forget": ("ForgetRequest", "Accepted", "202"),
    "POST /api/v1/tenants/{tenant}/repositories/{repository}/unprotect": ("ForgetRequest", "Accepted", "202"),
    "POST /api/v1/tenants/{tenant}/repositories/{repository}/maintenance": (nil, "MaintenanceResult", "200"),
    "POST /api/v1/tenants/{tenant}/repositories/{repository}/quarantine/restore": (nil, "Restored", "200"),
    "GET /api/v1/approvals": (nil, "ApprovalList", "200"),
    "POST /api/v1/approvals/{id}/approve": (nil, "Approval", "200"),
    "POST /api/v1/approvals/{id}/reject": (nil, "Approval", "200"),
    "GET /api/v1/tokens": (nil, "PrincipalList", "200"),
    "POST /api/v1/tokens": ("NewToken", "CreatedToken", "201"),
    "DELETE /api/v1/tokens/{id}": (nil, "Principal", "200"),
    "GET /{tenant}/{repository}/{type}/": (nil, "ObjectList", "200"),
    "POST /{tenant}/{repository}/config": ("Object", "Stored", "201"),
    "POST /{tenant}/{repository}/{type}/{name}": ("Object", "Stored", "201"),
    "GET /{tenant}/{repository}/config": (nil, "Object", "200"),
    "GET /{tenant}/{repository}/{type}/{name}": (nil, "Object", "200"),
  ]

  static func yaml(routes: [RouteSpec]) -> String {
    var out = """
      openapi: 3.1.0
      info:
        title: Lifeboat server
        version: "1"
        description: >-
          The provider's console: tenants (client organizations), their plans, the runs and drills
          their agents report, findings, reports and the audit chain; and the append-only repository
          endpoint that `rest:` repository URLs use. Authenticate with `Authorization: Bearer TOKEN`.
          Every error answers with {"error": {"message": "..."}} and, for clients, an X-Lifeboat-Error code.
      servers:
        - url: /
      security:
        - token: []
      paths:

      """
    let documented = routes.filter { !$0.isPage && !["/login", "/logout"].contains($0.path) }
    let byPath = Dictionary(grouping: documented, by: \.path)
    for path in byPath.keys.sorted() {
      out += "  \(path):\n"
      for r in byPath[path]!.sorted(by: { $0.method < $1.method }) {
        out += "    \(r.method.lowercased()):\n"
        out += "      summary: \(quote(r.summary))\n"
        out += "      description: \(quote("Who may call it: \(r.access.description)."))\n"
        if r.access == .open { out += "      security: []\n" }
        let params = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
        if !params.isEmpty {
          out += "      parameters:\n"
          for p in params {
            out += "        - { name: \(p), in: path, required: true, schema: { type: string } }\n"
          }
        }
        let body = bodies["\(r.method) \(path)"]
        if let req = body?.request {
          out += "      requestBody:\n        required: \(req == "DeleteRequest" ? "false" : "true")\n        content:\n"
          out += "          \(mediaType(req)): { schema: { $ref: '#/components/schemas/\(req)' } }\n"
        }
        out += "      responses:\n"
        if let res = body?.response {
          out += "        '\(body!.status)':\n          description: OK\n          content:\n"
          out += "            \(mediaType(res)): { schema: { $ref: '#/components/schemas/\(res)' } }\n"
        } else {
          out += "        '200': { description: OK }\n"
        }
        for (code, what) in errors(for: r) {
          out += "        '\(code)': { description: \(quote(what)), content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }\n"
        }
      }
    }
    return out + schemas
  }

  static func mediaType(_ schema: String) -> String {
    switch schema {
    case "PlanText": "application/yaml"
    case "Object": "application/octet-stream"
    case "Report": "text/html"
    default: "application/json"
    }
  }

  static func errors(for r: RouteSpec) -> [(String, String)] {
    var e: [(String, String)] = []
    if r.access != .open {
      e.append(("401", "no token, or an unknown, expired or revoked one"))
      e.append(("403", "the token's role or tenant does not allow this"))
    }
    if r.path.contains("{") { e.append(("404", "no such tenant, repository or object")) }
    if r.method == "POST" || r.method == "PUT" || r.method == "DELETE" && !r.isRepository {
      e.append(("400", "malformed body"))
      e.append(("413", "body over the size limit"))
    }
    if r.isRepository && r.method == "POST" { e.append(("409", "the config exists; it is never replaced")) ; e.append(("423", "server maintenance is running")) }
    if r.path.hasSuffix("/plan") && r.method == "PUT" {
      e.append(("422", "the plan has problems (listed with line numbers)"))
    } else if !r.isRepository && ["POST", "PUT", "DELETE"].contains(r.method) {
      e.append(("422", "a value is not acceptable (an invalid name, an unknown tenant for a token, …)"))
    }
    if r.path.hasPrefix("/api/v1/approvals/") || r.path == "/api/v1/tenants" && r.method == "POST"
      || r.path.hasSuffix("/repositories") && r.method == "POST"
    {
      e.append(("409", "it exists already, or the request is no longer pending"))
    }
    return e
  }

  static func quote(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }

  static let schemas = """
    components:
      securitySchemes:
        token: { type: http, scheme: bearer, description: "An API token (lb_…) created by an admin; the first admin's is printed at the first start." }
      schemas:
        Error:
          type: object
          properties: { error: { type: object, properties: { message: { type: string } } } }
        Principal:
          type: object
          properties:
            id: { type: integer }
            name: { type: string }
            role: { type: string, enum: [admin, operator, auditor, backup] }
            tenant: { type: [string, "null"], description: "null: all tenants" }
            tokenPrefix: { type: string }
            created: { type: string, format: date-time }
            expires: { type: [string, "null"], format: date-time }
            revoked: { type: [string, "null"], format: date-time }
            createdBy: { type: [integer, "null"], description: "the principal whose token created this one" }
        PrincipalList: { type: array, items: { $ref: '#/components/schemas/Principal' } }
        NewToken:
          type: object
          required: [name, role]
          if: { properties: { role: { const: backup } } }
          then: { required: [tenant], properties: { tenant: { type: string } } }
          properties:
            name: { type: string, minLength: 1, maxLength: 100 }
            role: { type: string, enum: [admin, operator, auditor, backup] }
            tenant: { type: [string, "null"], pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: "an existing tenant; required for backup tokens; omit for all tenants" }
            expires_in_days: { type: [integer, "null"], minimum: 1 }
        CreatedToken:
          type: object
          properties: { principal: { $ref: '#/components/schemas/Principal' }, token: { type: string }, note: { type: string } }
        NewTenant:
          type: object
          required: [id]
          properties: { id: { type: string, pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }, name: { type: [string, "null"] } }
        Tenant:
          type: object
          properties: { id: { type: string }, name: { type: string }, created: { type: string, format: date-time } }
        Finding:
          type: object
          properties:
            severity: { type: string, enum: [green, amber, red] }
            system: { type: [string, "null"] }
            area: { type: string, enum: [backups, recovery, copies, integrity, organization] }
            reason: { type: string, description: "one rule of the posture table (docs/posture.md), e.g. never-drilled, rpo-breached, newest-suspicious" }
            message: { type: string }
        FindingList: { type: array, items: { $ref: '#/components/schemas/Finding' } }
        Judgement:
          type: object
          properties:
            area: { type: string, enum: [backups, recovery, copies, integrity] }
            light: { type: string, enum: [green, amber, red] }
            summary: { type: string }
            causes: { type: array, items: { type: object, properties: { reason: { type: string }, message: { type: string } } } }
        SystemView:
          type: object
          description: "A system's posture (the same as `lifeboat status --json`): the facts (system, tier, lastGoodBackup, ageSeconds, rpoSeconds, rpoState, rtoSeconds, lastDrillVerdict, lastDrillRecoverySeconds, nextDue, nextDrill, drillOverdue, copies, suspiciousSnapshots, ...) and the four judgements."
          properties:
            system: { type: string }
            tier: { type: string }
            backups: { $ref: '#/components/schemas/Judgement' }
            recovery: { $ref: '#/components/schemas/Judgement' }
            copies: { $ref: '#/components/schemas/Judgement' }
            integrity: { $ref: '#/components/schemas/Judgement' }
            light: { type: string, enum: [green, amber, red] }
            findings: { $ref: '#/components/schemas/FindingList' }
        SystemViewList: { type: array, items: { $ref: '#/components/schemas/SystemView' } }
        TenantSummary:
          type: object
          properties:
            id: { type: string }
            name: { type: string }
            organization: { type: [string, "null"] }
            planErrors: { type: array, items: { type: string } }
            systems: { $ref: '#/components/schemas/SystemViewList' }
            findings: { $ref: '#/components/schemas/FindingList' }
            light: { type: string, enum: [green, amber, red] }
            lastRun: { type: [string, "null"], format: date-time }
            runs24h: { type: integer }
            failures24h: { type: integer }
            repositories: { type: array, items: { type: string } }
            bytesStored: { type: integer }
            auditIntact: { type: boolean }
        TenantSummaryList: { type: array, items: { $ref: '#/components/schemas/TenantSummary' } }
        PlanText: { type: string, description: "The plan in YAML (docs/examples/plan.yaml)" }
        Job:
          type: object
          required: [id, kind, system, started, outcome]
          properties:
            id: { type: integer, description: "in a report: the job's id on the agent" }
            kind: { type: string, description: "backup, copy, forget, drill, …" }
            system: { type: string }
            repository: { type: [string, "null"] }
            started: { type: string, format: date-time, pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' }
            ended: { oneOf: [ { type: string, format: date-time, pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' }, { type: "null" } ] }
            outcome: { type: string, enum: [running, success, partial, failed, interrupted] }
            bytes: { type: [integer, "null"] }
            files: { type: [integer, "null"] }
            snapshot: { type: [string, "null"] }
            errors: { type: [array, "null"], items: { type: string } }
            warnings: { type: [array, "null"], items: { type: string } }
            details: { type: [string, "null"], description: "JSON: a drill report or backup signals" }
        JobList: { type: array, items: { $ref: '#/components/schemas/Job' } }
        RunBatch:
          type: object
          required: [source, jobs]
          properties: { source: { type: string, minLength: 1, maxLength: 200 }, jobs: { type: array, maxItems: 1000, items: { $ref: '#/components/schemas/Job' } } }
        Stored: { type: object }
        DrillSummaryList:
          type: array
          items:
            type: object
            properties:
              id: { type: integer }
              system: { type: string }
              started: { type: string, format: date-time }
              outcome: { type: string }
              verdict: { type: [string, "null"] }
              recoverySeconds: { type: [number, "null"] }
              rtoSeconds: { type: [number, "null"] }
        Report: { type: string, description: "HTML; with ?format=json the same facts as JSON" }
        AuditEvent:
          type: object
          properties:
            seq: { type: integer }
            time: { type: string, format: date-time }
            actor: { type: string }
            kind: { type: string }
            subject: { type: string }
            details: { type: string }
            previousHash: { type: string }
            hash: { type: string }
        AuditEventList: { type: array, items: { $ref: '#/components/schemas/AuditEvent' } }
        AuditVerification:
          type: object
          properties: { events: { type: integer }, head: { type: string }, problems: { type: array, items: { type: string } } }
        StoredRepository:
          type: object
          properties: { tenant: { type: string }, name: { type: string }, created: { type: string, format: date-time }, createdBy: { type: string } }
        RepositoryInfoList:
          type: array
          items:
            type: object
            properties: { repository: { $ref: '#/components/schemas/StoredRepository' }, bytes: { type: integer }, quarantineDays: { type: array, items: { type: string } } }
        NewRepository:
          type: object
          required: [name]
          properties: { name: { type: string, pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } }
        DeleteRequest: { type: object, properties: { reason: { type: [string, "null"] } } }
        ForgetRequest:
          type: object
          required: [snapshots]
          properties: { snapshots: { type: array, minItems: 1, items: { type: string, pattern: '^[0-9a-f]{64}$' } }, reason: { type: [string, "null"] } }
        Approval:
          type: object
          properties:
            id: { type: integer }
            tenant: { type: string }
            action: { type: string, enum: [delete-snapshots, delete-repository] }
            repository: { type: string }
            snapshots: { type: array, items: { type: string } }
            reason: { type: string }
            requestedBy: { type: string }
            requested: { type: string, format: date-time }
            state: { type: string, enum: [pending, approved, rejected, executed, failed, expired] }
            decidedBy: { type: [string, "null"] }
            result: { type: [string, "null"] }
        ApprovalList: { type: array, items: { $ref: '#/components/schemas/Approval' } }
        Accepted:
          type: object
          properties: { approval: { $ref: '#/components/schemas/Approval' }, note: { type: string } }
        MaintenanceResult:
          type: object
          properties:
            snapshotsRemoved: { type: array, items: { type: string } }
            packsRemoved: { type: integer }
            bytesFreed: { type: integer }
            quarantinePurged: { type: array, items: { type: string } }
            notes: { type: array, items: { type: string } }
        Restored: { type: object, properties: { restored: { type: integer } } }
        ObjectList:
          type: array
          items: { type: object, properties: { name: { type: string }, size: { type: integer } } }
        Object: { type: string, format: binary, minLength: 1 }

    """
}
