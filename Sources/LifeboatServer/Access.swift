// Who may call what. Every route is registered with an `Access` rule, and the rule is checked
// before its handler runs; the route table is public so tests can try every route with every
// kind of principal.

import Foundation
public import Hummingbird
public import LifeboatConsole
import HTTPTypes

/// The request context: Hummingbird's core plus the principal the request authenticated as.
public struct ServerContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  public var principal: Principal?
  /// Set for dashboard requests that came with a session cookie.
  public var session: Session?
  /// Why a presented credential was refused, for the 401 message.
  var authProblem: String?

  public init(source: Source) { coreContext = .init(source: source) }

  /// Bodies are collected explicitly per route, with their own limits.
  public var maxUploadSize: Int { 1 << 30 }
}

/// The rule a route is registered with.
public enum Access: String, Sendable, CaseIterable {
  /// No credentials: health, the OpenAPI document, the login page.
  case open
  /// Read tenant data: admin, operator, auditor.
  case read
  /// Change tenant data: admin, operator.
  case operate
  /// Report runs: admin, operator, and the tenant's backup tokens (agents).
  case report
  /// Manage tokens, decide approvals, run maintenance: admin.
  case administer
  /// Provider-wide: an admin not limited to one tenant.
  case provider
  /// Read repository objects: every role.
  case repositoryRead
  /// Add repository objects: admin, operator, backup.
  case repositoryWrite

  public func allows(_ role: Role) -> Bool {
    switch self {
    case .open: true
    case .read: role != .backup
    case .operate: role == .admin || role == .operator
    case .report: role != .auditor
    case .administer, .provider: role == .admin
    case .repositoryRead: true
    case .repositoryWrite: role != .auditor
    }
  }

  public var description: String {
    switch self {
    case .open: "anyone"
    case .read: "admin, operator or auditor"
    case .operate: "admin or operator"
    case .report: "admin, operator or a backup token"
    case .administer: "admin"
    case .provider: "an admin for all tenants"
    case .repositoryRead: "any token of the tenant"
    case .repositoryWrite: "admin, operator or a backup token"
    }
  }
}

/// One registered route.
public struct RouteSpec: Sendable, Hashable {
  public var method: String
  /// OpenAPI style: `/api/v1/tenants/{tenant}`.
  public var path: String
  public var access: Access
  public var summary: String
  /// Dashboard pages redirect to the login page instead of answering 401.
  public var isPage: Bool { path == "/" || path.hasPrefix("/ui/") }
  public var isRepository: Bool { path.hasPrefix("/{tenant}/{repository}") }

  /// Hummingbird's path syntax: `{tenant}` becomes `:tenant`.
  var routerPath: String {
    path.split(separator: "/", omittingEmptySubsequences: false).map { seg -> String in
      seg.hasPrefix("{") && seg.hasSuffix("}") ? ":" + seg.dropFirst().dropLast() : String(seg)
    }.joined(separator: "/")
  }
}

/// An error with a JSON body `{"error": {"message": …}}` and, for clients, a machine-readable
/// `X-Lifeboat-Error` header.
func failure(_ status: HTTPResponse.Status, _ message: String, code: String? = nil) -> HTTPError {
  var headers = HTTPFields()
  if let code, let name = HTTPField.Name("X-Lifeboat-Error") { headers[name] = code }
  return HTTPError(status, headers: headers, message: message)
}

extension ServerContext {
  /// Checks `access` for this request; throws 401 or 403 with a message that says why.
  func authorize(_ access: Access, tenant: String?) throws -> Principal? {
    if access == .open { return principal }
    guard let p = principal else {
      throw failure(.unauthorized, authProblem ?? "this needs a token: send Authorization: Bearer TOKEN", code: "unauthenticated")
    }
    guard access.allows(p.role) else {
      let extra = p.role == .backup ? " (backup tokens may only use the repository endpoint and report runs)" : ""
      throw failure(.forbidden, "\(access.description) may do this; this token is \(p.role.rawValue)\(extra)", code: "forbidden")
    }
    if access == .provider && p.tenant != nil {
      throw failure(.forbidden, "only an admin for all tenants may do this; this token is limited to tenant '\(p.tenant!)'",
        code: "forbidden")
    }
    if let tenant, !p.mayAccess(tenant: tenant) {
      throw failure(.forbidden, "this token is limited to tenant '\(p.tenant ?? "")'", code: "other-tenant")
    }
    return p
  }
}

/// Authenticates every request: a bearer token, or a dashboard session cookie.
struct AuthMiddleware: RouterMiddleware {
  typealias Context = ServerContext
  let console: Console
  static let cookie = "lifeboat_session"

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var context = context
    if let auth = request.headers[.authorization] {
      guard auth.hasPrefix("Bearer "), auth.count > 7 else {
        throw failure(.unauthorized, "use Authorization: Bearer TOKEN", code: "unauthenticated")
      }
      switch try console.authenticate(token: String(auth.dropFirst(7))) {
      case .success(let p): context.principal = p
      case .failure(.expired): context.authProblem = "this token has expired; ask an admin for a new one"
      case .failure(.revoked): context.authProblem = "this token was revoked; ask an admin for a new one"
      case .failure(.unknown): context.authProblem = "the server does not know this token"
      }
    } else if let cookie = request.cookies[Self.cookie]?.value {
      // The session cookie signs in the dashboard only; the JSON API and the repository
      // endpoint take bearer tokens, so a page on another site cannot act through a browser
      // that is signed in (docs/server.md "Sessions and CSRF").
      if Self.takesSession(request.uri.path) {
        if let s = try console.session(cookie: cookie) {
          if request.method != .get && request.method != .head, let problem = Self.crossSite(request) {
            throw failure(.forbidden, problem, code: "csrf")
          }
          context.principal = s.principal
          context.session = s
        }
      } else {
        context.authProblem = "the API takes bearer tokens only (Authorization: Bearer TOKEN); a dashboard session is not accepted here"
      }
    }
    return try await next(request, context)
  }

  /// Dashboard paths: the pages and their forms.
  static func takesSession(_ path: String) -> Bool { path == "/" || path == "/logout" || path.hasPrefix("/ui/") }

  /// Why a state-changing request with a session cookie looks cross-site, or nil. Browsers
  /// send `Origin` (and `Sec-Fetch-Site`) on every POST; a mismatch with `Host` is refused
  /// before any handler runs. Forms also carry the session's CSRF token.
  static func crossSite(_ request: Request) -> String? {
    if let site = HTTPField.Name("Sec-Fetch-Site").flatMap({ request.headers[$0] }), site == "cross-site" {
      return "a cross-site request cannot use the dashboard session"
    }
    guard let origin = request.headers[.origin] else { return nil }
    let host = request.head.authority ?? ""
    let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
    if origin == "null" || originHost == nil || originHost!.lowercased() != host.lowercased() {
      return "the request comes from \(origin), not from this server (\(host)); sign in and use the dashboard's own forms"
    }
    return nil
  }
}

/// Every failure answers with a clear JSON message, the router's own 404 included; dashboard
/// pages send people without a session to the login page.
struct ErrorMiddleware: RouterMiddleware {
  typealias Context = ServerContext
  /// The registered routes, to tell "no such path" (404) from "not this method" (405).
  let routes: @Sendable () -> [RouteSpec]

  /// The methods registered for a concrete path (`{name}` matches one non-empty segment).
  func methods(for path: String) -> [String] {
    let segments = path.split(separator: "/", omittingEmptySubsequences: false)
    // Like the router, the most specific pattern wins: the one with the most literal segments.
    var best: (literals: Int, methods: [String]) = (-1, [])
    for spec in routes() {
      let pattern = spec.path.split(separator: "/", omittingEmptySubsequences: false)
      guard pattern.count == segments.count,
        zip(pattern, segments).allSatisfy({ p, s in p.hasPrefix("{") ? !s.isEmpty : p == s })
      else { continue }
      let literals = pattern.filter { !$0.hasPrefix("{") }.count
      if literals > best.literals {
        best = (literals, [spec.method])
      } else if literals == best.literals {
        best.methods.append(spec.method)
      }
    }
    return best.methods.sorted()
  }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let e as HTTPError {
      let isPage = request.uri.path == "/" || request.uri.path.hasPrefix("/ui/")
      if e.status == .unauthorized && isPage {
        return Response(status: .seeOther, headers: [.location: "/login?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/")])
      }
      if e.status == .notFound && e.body == nil {
        let allowed = methods(for: request.uri.path)
        if !allowed.isEmpty {
          throw HTTPError(.methodNotAllowed, headers: [.allow: allowed.joined(separator: ", ")],
            message: "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))")
        }
      }
      if e.body == nil {
        let message = e.status == .notFound
          ? "no such route: \(request.method.rawValue) \(request.uri.path); the API is described at /api/v1/openapi.yaml"
          : e.status.reasonPhrase
        throw HTTPError(e.status, headers: e.headers, message: message)
      }
      throw e
    } catch let e as ConsoleError {
      let status: HTTPResponse.Status =
        switch e.kind {
        case .invalid: .unprocessableContent
        case .conflict: .conflict
        case .notFound: .notFound
        case .forbidden: .forbidden
        }
      throw failure(status, e.message)
    } catch let e as DecodingError {
      throw failure(.badRequest, "the request body is not the expected JSON: \(Self.describe(e))", code: "bad-json")
    }
  }

  /// `jobs[0].ended`
  static func path(_ keys: [any CodingKey]) -> String {
    keys.enumerated().map { i, k in k.intValue.map { "[\($0)]" } ?? (i == 0 ? k.stringValue : "." + k.stringValue) }.joined()
  }

  static func describe(_ e: DecodingError) -> String {
    switch e {
    case .dataCorrupted(let c):
      c.codingPath.isEmpty
        ? "malformed JSON (\(c.debugDescription))"
        : "the field \"\(Self.path(c.codingPath))\" is not valid (\(c.debugDescription))"
    case .keyNotFound(let k, _): "the field \"\(k.stringValue)\" is missing"
    case .typeMismatch(_, let c), .valueNotFound(_, let c):
      "the field \"\(Self.path(c.codingPath))\" has the wrong type"
    @unknown default: "\(e)"
    }
  }
}
