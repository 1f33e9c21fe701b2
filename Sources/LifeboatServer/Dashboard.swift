// The dashboard: server-rendered HTML that works without JavaScript. A provider overview
// (every tenant, worst first), a tenant page (systems with RPO/RTO lights, drills, findings,
// runs, reports), run details, and the four-eyes approvals. Login takes an API token and keeps
// a session cookie (HttpOnly, SameSite=Strict); every form carries the session's CSRF token.

import Foundation
import LifeboatCore
import LifeboatPosture
import Hummingbird
import LifeboatCatalog
import LifeboatConsole
import LifeboatOps
import LifeboatPlan
import LifeboatReport

enum Page {
  static func esc(_ s: String) -> String { HTML.escape(s) }

  static let style = """
    * { box-sizing: border-box; }
    body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1d2433; margin: 0; font-size: 14px; background: #f6f7fa; }
    header.top { background: #1d2433; color: #fff; padding: 10px 24px; display: flex; align-items: center; gap: 24px; }
    header.top a { color: #fff; text-decoration: none; } header.top .who { margin-left: auto; font-size: 12px; color: #c9cfdb; }
    header.top form { display: inline; } header.top button { background: none; border: 1px solid #6b7489; color: #fff; border-radius: 3px; cursor: pointer; }
    main { max-width: 1180px; margin: 0 auto; padding: 18px 24px; }
    h1 { font-size: 22px; margin: 4px 0 4px; } h2 { font-size: 16px; margin: 22px 0 8px; }
    .sub { color: #5b6478; margin: 0 0 12px; }
    table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #e1e4eb; }
    th, td { text-align: left; padding: 7px 9px; border-bottom: 1px solid #eceef3; vertical-align: top; }
    th { font-size: 11px; text-transform: uppercase; letter-spacing: .03em; color: #5b6478; background: #fafbfc; }
    a { color: #1f5fbf; }
    .light { display: inline-block; width: 12px; height: 12px; border-radius: 50%; vertical-align: -1px; margin-right: 6px; }
    .green { background: #2e9e5b; } .amber { background: #e6a119; } .red { background: #d23f3f; }
    .tag { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 12px; color: #fff; }
    .tag.green { background: #2e9e5b; } .tag.amber { background: #c9880f; } .tag.red { background: #d23f3f; }
    .muted { color: #5b6478; } .small { font-size: 12px; }
    .cards { display: flex; gap: 12px; margin: 10px 0 6px; flex-wrap: wrap; }
    .card { background: #fff; border: 1px solid #e1e4eb; border-radius: 4px; padding: 10px 14px; min-width: 150px; }
    .card b { display: block; font-size: 22px; }
    .finding { background: #fff; border-left: 4px solid #d6dae3; padding: 6px 10px; margin: 5px 0; }
    .finding.red { border-color: #d23f3f; } .finding.amber { border-color: #e6a119; }
    form.inline { display: inline; } button.act { padding: 4px 10px; border: 1px solid #b8bfcc; background: #fff; border-radius: 3px; cursor: pointer; }
    .login { max-width: 420px; margin: 80px auto; background: #fff; border: 1px solid #e1e4eb; padding: 24px; border-radius: 6px; }
    .login input { width: 100%; padding: 8px; margin: 8px 0 14px; font-family: monospace; }
    .error { color: #b02a2a; }
    pre { background: #fff; border: 1px solid #e1e4eb; padding: 10px; overflow-x: auto; font-size: 12px; }
    """

  static func document(title: String, body: String, principal: Principal?, csrf: String?) -> String {
    var top = "<header class=\"top\"><a href=\"/\"><b>Lifeboat</b> console</a><a href=\"/ui/approvals\">Approvals</a>"
    if let p = principal {
      top += "<span class=\"who\">\(esc(p.name)) · \(p.role.rawValue)\(p.tenant.map { " · " + esc($0) } ?? " · all tenants")</span>"
      if let csrf {
        top += "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"\(esc(csrf))\"><button>Log out</button></form>"
      }
    }
    top += "</header>"
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>\(esc(title)) — Lifeboat</title>
      <meta name="viewport" content="width=device-width, initial-scale=1"><style>\(style)</style></head>
      <body>\(principal == nil ? "" : top)<main>
      \(body)
      </main></body></html>

      """
  }

  static func light(_ l: Light) -> String { "<span class=\"light \(l.rawValue)\" title=\"\(l.rawValue)\"></span>" }

  static func duration(_ s: Double) -> String {
    if s < 10 { return String(format: "%.1f s", s) }
    if s < 120 { return String(format: "%.0f s", s) }
    if s < 7200 { return String(format: "%.0f min", s / 60) }
    if s < 172_800 { return String(format: "%.1f h", s / 3600) }
    return String(format: "%.1f days", s / 86400)
  }

  static func bytes(_ n: Int64) -> String { ByteCount.format(n) }

  static func time(_ d: Date?) -> String {
    guard let d else { return "—" }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
    return f.string(from: d)
  }

  /// `a=1&b=2` into a dictionary (form bodies).
  static func form(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for pair in text.split(separator: "&") {
      let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let k = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
      let v = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
      out[k] = v
    }
    return out
  }
}

extension LifeboatServer {
  static func html(_ s: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
    var h: HTTPFields = [
      .contentType: "text/html; charset=utf-8",
      .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
      .xContentTypeOptions: "nosniff", .cacheControl: "no-store",
    ]
    h.append(contentsOf: extra)
    return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: s)))
  }

  func page(_ context: ServerContext, _ title: String, _ body: String) -> Response {
    Self.html(Page.document(title: title, body: body, principal: context.principal, csrf: context.session?.csrf))
  }

  /// Forms posted with a session cookie must carry its CSRF token.
  func checkCSRF(_ context: ServerContext, _ form: [String: String]) throws {
    if let s = context.session, form["csrf"] != s.csrf {
      throw failure(.forbidden, "the form's CSRF token does not match the session; reload the page", code: "csrf")
    }
  }

  /// Where to go after sign-in: only a path on this server. Browsers drop tabs and newlines
  /// from a URL and read `\\` as `/`, so `/%09/evil.example` becomes `//evil.example`, another
  /// host. Anything but a plain absolute path of URL-safe characters is refused.
  static func safeNext(_ s: String?) -> String {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&%+:@")
    guard let s, s.count <= 2048, s.hasPrefix("/"), !s.hasPrefix("//"), s.allSatisfy({ allowed.contains($0) }),
      let decoded = s.removingPercentEncoding, !decoded.hasPrefix("//"), !decoded.contains("\\"),
      decoded.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
    else { return "/" }
    return s
  }

  func loginPage(next: String, error: String?) -> String {
    var b = "<div class=\"login\"><h1>Lifeboat console</h1><p class=\"sub\">Sign in with your API token.</p>"
    if let error { b += "<p class=\"error\">\(Page.esc(error))</p>" }
    b += "<form method=\"post\" action=\"/login\"><label for=\"token\">Token</label>"
    b += "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required>"
    b += "<input type=\"hidden\" name=\"next\" value=\"\(Page.esc(next))\"><button class=\"act\" type=\"submit\">Sign in</button></form></div>"
    return Page.document(title: "Sign in", body: b, principal: nil, csrf: nil)
  }

  func addDashboard(_ t: RouteTable) {
    t.add(.get, "/login", .open, "Dashboard: the sign-in page") { request, _ in
      Self.html(loginPage(next: Self.safeNext(request.uri.queryParameters["next"].map(String.init)), error: nil))
    }
    t.add(.post, "/login", .open, "Dashboard: sign in with a token; sets the session cookie") { request, _ in
      let form = Page.form(String(decoding: try await body(request, limit: 64 << 10).readableBytesView, as: UTF8.self))
      let next = Self.safeNext(form["next"])
      guard let token = form["token"], !token.isEmpty, case .success(let p) = try console.authenticate(token: token) else {
        return Self.html(loginPage(next: next, error: "That token is not valid (unknown, expired or revoked)."), status: .unauthorized)
      }
      guard p.role != .backup else {
        return Self.html(loginPage(next: next, error: "Backup tokens cannot sign in to the console."), status: .forbidden)
      }
      let (cookie, _) = try console.createSession(for: p)
      let setCookie = Cookie(name: AuthMiddleware.cookie, value: cookie, maxAge: Int(Console.sessionLifetime), path: "/",
        secure: configuration.usesTLS, httpOnly: true, sameSite: .strict)
      return Response(status: .seeOther, headers: [.location: next, .setCookie: setCookie.description])
    }
    t.add(.post, "/logout", .open, "Dashboard: end the session") { request, context in
      let form = Page.form(String(decoding: try await body(request, limit: 64 << 10).readableBytesView, as: UTF8.self))
      try checkCSRF(context, form)
      if let c = request.cookies[AuthMiddleware.cookie]?.value { try console.endSession(cookie: c) }
      let clear = Cookie(name: AuthMiddleware.cookie, value: "", maxAge: 0, path: "/", secure: configuration.usesTLS, httpOnly: true, sameSite: .strict)
      return Response(status: .seeOther, headers: [.location: "/login", .setCookie: clear.description])
    }
    t.add(.get, "/", .read, "Dashboard: every tenant, worst state first") { _, context in
      try overview(context)
    }
    t.add(.get, "/ui/tenants/{tenant}", .read, "Dashboard: one tenant") { _, context in
      try tenantPage(context, try tenantParameter(context))
    }
    t.add(.get, "/ui/tenants/{tenant}/runs/{id}", .read, "Dashboard: one run or drill") { _, context in
      let tenant = try tenantParameter(context)
      guard let id = Int64(try context.parameters.require("id")), let job = try console.catalog(tenant.id).job(id: id) else {
        throw failure(.notFound, "no such run")
      }
      return runPage(context, tenant, job)
    }
    t.add(.get, "/ui/tenants/{tenant}/reports/{kind}", .read, "Dashboard: a report document") { request, context in
      let tenant = try tenantParameter(context)
      let kindName = try context.parameters.require("kind")
      guard let kind = ReportKind(rawValue: kindName) else { throw failure(.notFound, "no report '\(kindName)'") }
      guard let plan = TenantView.plan(console, tenant.id).0 else { throw failure(.conflict, "tenant '\(tenant.id)' has no valid plan yet") }
      let system = request.uri.queryParameters["system"].map(String.init)
      let rendered: (html: String, json: Data, name: String)
      do {
        rendered = try ReportWriter.render(kind, plan: plan, catalog: try console.catalog(tenant.id), system: system, now: now)
      } catch let e as PlanError {
        throw failure(.notFound, e.message)
      }
      try console.catalog(tenant.id).audit(kind: "evidence-download", subject: kind.rawValue, details: ["format": "html"],
        actor: context.principal!.actor, time: now)
      return Self.html(rendered.html)
    }
    t.add(.get, "/ui/approvals", .read, "Dashboard: deletion requests waiting for a second admin") { _, context in
      try approvalsPage(context)
    }
    t.add(.post, "/ui/approvals/{id}/approve", .administer, "Dashboard: approve a request (form)") { request, context in
      try await decideForm(request, context, approve: true)
    }
    t.add(.post, "/ui/approvals/{id}/reject", .administer, "Dashboard: reject a request (form)") { request, context in
      try await decideForm(request, context, approve: false)
    }
  }

  func decideForm(_ request: Request, _ context: ServerContext, approve: Bool) async throws -> Response {
    let form = Page.form(String(decoding: try await body(request, limit: 64 << 10).readableBytesView, as: UTF8.self))
    try checkCSRF(context, form)
    _ = try await decideApproval(context, approve: approve)
    return Response(status: .seeOther, headers: [.location: "/ui/approvals"])
  }

  func overview(_ context: ServerContext) throws -> Response {
    let p = context.principal!
    let summaries = try visibleTenants(p).map { try TenantView.summary(console, $0, now: now) }
      .sorted { ($0.light, $1.id) > ($1.light, $0.id) }
    let pending = try console.approvals().filter { $0.state == .pending && p.mayAccess(tenant: $0.tenant) }.count
    let systems = summaries.flatMap(\.systems)
    var b = "<h1>All clients</h1><p class=\"sub\">\(summaries.count) organizations, worst state first. Updated \(Page.time(now)).</p>"
    b += "<div class=\"cards\">"
    b += "<div class=\"card\"><b>\(summaries.filter { $0.light == .red }.count)</b>organizations in red</div>"
    b += "<div class=\"card\"><b>\(systems.filter { $0.backups.light == .red }.count) / \(systems.count)</b>systems past their RPO</div>"
    b += "<div class=\"card\"><b>\(systems.filter { $0.recovery.light != .green }.count)</b>systems without a recent drill inside the RTO</div>"
    b += "<div class=\"card\"><b>\(pending)</b><a href=\"/ui/approvals\">approvals waiting</a></div></div>"
    b += "<table id=\"tenants\"><tr><th>Organization</th><th>Systems</th><th>Findings</th><th>Last run</th><th>Runs (24 h)</th><th>Stored</th></tr>"
    for s in summaries {
      let red = s.findings.filter { $0.severity == .red }.count
      let amber = s.findings.filter { $0.severity == .amber }.count
      b += "<tr class=\"tenant\" data-state=\"\(s.light.rawValue)\"><td>\(Page.light(s.light))<a href=\"/ui/tenants/\(Page.esc(s.id))\">\(Page.esc(s.organization ?? s.name))</a> <span class=\"muted small\">\(Page.esc(s.id))</span></td>"
      b += "<td>\(s.systems.count) — \(s.systems.filter { $0.light == .green }.count) green</td>"
      b += "<td>\(red > 0 ? "<span class=\"tag red\">\(red) red</span> " : "")\(amber > 0 ? "<span class=\"tag amber\">\(amber) amber</span>" : "")\(red + amber == 0 ? "none" : "")</td>"
      b += "<td>\(Page.time(s.lastRun))</td><td>\(s.runs24h)\(s.failures24h > 0 ? " <span class=\"tag red\">\(s.failures24h) failed</span>" : "")</td>"
      b += "<td>\(Page.bytes(s.bytesStored))</td></tr>"
    }
    if summaries.isEmpty { b += "<tr><td colspan=\"6\" class=\"muted\">No tenants yet: POST /api/v1/tenants creates one.</td></tr>" }
    b += "</table>"
    return page(context, "All clients", b)
  }

  func tenantPage(_ context: ServerContext, _ tenant: Tenant) throws -> Response {
    let s = try TenantView.summary(console, tenant, now: now)
    let catalog = try console.catalog(tenant.id)
    let runs = try catalog.jobs(limit: 25)
    let drills = try catalog.jobs(kind: "drill", limit: 10)
    let id = Page.esc(tenant.id)
    var b = "<h1>\(Page.light(s.light))\(Page.esc(s.organization ?? tenant.name))</h1>"
    b += "<p class=\"sub\">Tenant <b>\(id)</b> · \(s.systems.count) systems · \(Page.bytes(s.bytesStored)) stored in \(s.repositories.count) repositories · audit chain \(s.auditIntact ? "intact" : "<b class=\"error\">BROKEN</b>")</p>"
    b += "<h2>Systems</h2><table id=\"systems\"><tr><th>System</th><th>Backups (RPO)</th><th>Recovery (RTO)</th><th>Copies</th><th>Integrity</th><th>Next backup</th></tr>"
    for v in s.systems {
      let st = v.status
      b += "<tr class=\"system\"><td>\(Page.light(v.light))<b>\(Page.esc(st.system))</b><br><span class=\"muted small\">\(st.tier)</span></td>"
      for j in v.judgements {
        b += "<td data-area=\"\(j.area.rawValue)\" data-state=\"\(j.light.rawValue)\">\(Page.light(j.light))\(Page.esc(j.summary))</td>"
      }
      b += "<td>\(Page.time(st.nextDue))</td></tr>"
    }
    if s.systems.isEmpty { b += "<tr><td colspan=\"6\" class=\"muted\">No plan yet: PUT /api/v1/tenants/\(id)/plan uploads one.</td></tr>" }
    b += "</table><h2>Findings</h2>"
    for f in s.findings {
      b += "<div class=\"finding \(f.severity.rawValue)\">\(f.system.map { "<b>\(Page.esc($0))</b>: " } ?? "")\(Page.esc(f.message)) <span class=\"muted small\">(\(f.area.rawValue): \(f.reason.rawValue))</span></div>"
    }
    if s.findings.isEmpty { b += "<p class=\"muted\">Nothing needs attention.</p>" }
    b += "<h2>Recent drills</h2><table id=\"drills\"><tr><th>When</th><th>System</th><th>Verdict</th><th>Recovery time</th></tr>"
    for d in drills {
      let r = d.details.flatMap { try? JSONDecoder.drill.decode(DrillReport.self, from: Data($0.utf8)) }
      b += "<tr><td><a href=\"/ui/tenants/\(id)/runs/\(d.id ?? 0)\">\(Page.time(d.started))</a></td><td>\(Page.esc(d.system))</td>"
      let recovered = d.recoverySeconds.map { String(format: "%.1f s", $0) + (r.map { " of " + Page.duration($0.rtoSeconds) } ?? "") }
      b += "<td>\(Page.esc(d.verdict?.rawValue ?? d.outcome.rawValue))</td><td>\(recovered ?? "—")</td></tr>"
    }
    if drills.isEmpty { b += "<tr><td colspan=\"4\" class=\"muted\">No drills reported.</td></tr>" }
    b += "</table><h2>Recent runs</h2><table id=\"runs\"><tr><th>Started</th><th>Kind</th><th>System</th><th>Outcome</th><th>Data</th></tr>"
    for j in runs {
      let cls = j.outcome.light.rawValue
      b += "<tr><td><a href=\"/ui/tenants/\(id)/runs/\(j.id ?? 0)\">\(Page.time(j.started))</a></td><td>\(Page.esc(j.kind))</td><td>\(Page.esc(j.system))</td>"
      b += "<td><span class=\"tag \(cls)\">\(j.outcome.rawValue)</span></td><td>\(j.files) files, \(Page.bytes(j.bytes))</td></tr>"
    }
    if runs.isEmpty { b += "<tr><td colspan=\"5\" class=\"muted\">No runs reported yet.</td></tr>" }
    b += "</table><h2>Reports</h2><p>"
    b += ReportKind.allCases.filter { $0 != .drill || !drills.isEmpty }.map {
      "<a href=\"/ui/tenants/\(id)/reports/\($0.rawValue)\">\($0.rawValue)</a>"
    }.joined(separator: " · ")
    b += " <span class=\"muted small\">(JSON: /api/v1/tenants/\(id)/reports/KIND?format=json)</span></p>"
    return page(context, s.organization ?? tenant.name, b)
  }

  func runPage(_ context: ServerContext, _ tenant: Tenant, _ j: JobRecord) -> Response {
    let id = Page.esc(tenant.id)
    var b = "<p><a href=\"/ui/tenants/\(id)\">← \(Page.esc(tenant.name))</a></p>"
    b += "<h1>\(Page.esc(j.kind)) of \(Page.esc(j.system))</h1><p class=\"sub\">\(Page.time(j.started)) → \(Page.time(j.ended)) · \(j.outcome.rawValue)</p>"
    b += "<table id=\"run\"><tr><th style=\"width:25%\">Field</th><th>Value</th></tr>"
    b += "<tr><td>Repository</td><td>\(Page.esc(j.repository ?? "—"))</td></tr>"
    b += "<tr><td>Snapshot</td><td>\(Page.esc(j.snapshot ?? "—"))</td></tr>"
    b += "<tr><td>Files, bytes</td><td>\(j.files) files, \(Page.bytes(j.bytes))</td></tr>"
    if let e = j.ended { b += "<tr><td>Duration</td><td>\(Page.duration(e.timeIntervalSince(j.started)))</td></tr>" }
    for e in j.errors { b += "<tr><td class=\"error\">Error</td><td>\(Page.esc(e))</td></tr>" }
    for w in j.warnings { b += "<tr><td>Warning</td><td>\(Page.esc(w))</td></tr>" }
    b += "</table>"
    if j.kind == "drill", let r = j.details.flatMap({ try? JSONDecoder.drill.decode(DrillReport.self, from: Data($0.utf8)) }) {
      let verdict = j.verdict ?? r.verdict
      b += "<h2>Drill: \(verdict.rawValue)</h2><div class=\"finding \(verdict.light == .green ? "" : verdict.light.rawValue)\">\(r.reasons.map(Page.esc).joined(separator: "<br>"))</div>"
      b += "<p>Restored \(r.files) files in \(String(format: "%.1f s", r.recoverySeconds)) against an RTO of \(Page.duration(r.rtoSeconds)); \(r.verifiedFiles) files read back. "
      b += "<a href=\"/ui/tenants/\(id)/reports/drill?system=\(Page.esc(j.system.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))\">The drill report</a></p>"
    } else if let d = j.details {
      b += "<h2>Details</h2><pre>\(Page.esc(String(d.prefix(20_000))))</pre>"
    }
    return page(context, "\(j.kind) \(j.system)", b)
  }

  func approvalsPage(_ context: ServerContext) throws -> Response {
    let p = context.principal!
    let list = try console.approvals().filter { p.mayAccess(tenant: $0.tenant) }
    var b = "<h1>Approvals</h1><p class=\"sub\">Deleting snapshots or a repository needs a second admin. Approved deletions go to quarantine for \(configuration.quarantineDays) days.</p>"
    b += "<table id=\"approvals\"><tr><th>#</th><th>Request</th><th>Requested by</th><th>State</th><th></th></tr>"
    for a in list {
      b += "<tr><td>\(a.id)</td><td><b>\(a.action.rawValue)</b> \(Page.esc(a.tenant))/\(Page.esc(a.repository))"
      if !a.snapshots.isEmpty { b += "<br><span class=\"muted small\">\(a.snapshots.map { String($0.prefix(12)) }.joined(separator: ", "))</span>" }
      if !a.reason.isEmpty { b += "<br><span class=\"small\">“\(Page.esc(a.reason))”</span>" }
      b += "</td><td>\(Page.esc(a.requestedBy))<br><span class=\"muted small\">\(Page.time(a.requested))</span></td>"
      b += "<td>\(a.state.rawValue)\(a.decidedBy.map { "<br><span class=\"muted small\">by \(Page.esc($0))</span>" } ?? "")\(a.result.map { "<br><span class=\"small\">\(Page.esc($0))</span>" } ?? "")</td><td>"
      if a.state == .pending && p.role == .admin {
        let csrf = Page.esc(context.session?.csrf ?? "")
        if a.requestedByID != p.id {
          b += "<form class=\"inline\" method=\"post\" action=\"/ui/approvals/\(a.id)/approve\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\"><button class=\"act\">Approve</button></form> "
        } else {
          b += "<span class=\"muted small\">your request: another admin approves</span> "
        }
        b += "<form class=\"inline\" method=\"post\" action=\"/ui/approvals/\(a.id)/reject\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\"><button class=\"act\">Reject</button></form>"
      }
      b += "</td></tr>"
    }
    if list.isEmpty { b += "<tr><td colspan=\"5\" class=\"muted\">No requests.</td></tr>" }
    b += "</table>"
    return page(context, "Approvals", b)
  }
}
