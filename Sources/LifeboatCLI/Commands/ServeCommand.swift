import ArgumentParser
import Foundation
import LifeboatConsole
import LifeboatCore
import LifeboatOps
import LifeboatPlan
import LifeboatRemote
import LifeboatServer
import LifeboatStorage
import Logging

struct ServeCommand: AsyncParsableCommand, ManagesOwnSignals {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Run the Lifeboat server: the provider's console, API, metrics and append-only repositories.",
    discussion: """
      One server keeps many client organizations (tenants): their plans, the runs and drills their agents report, findings, reports and a hash-chained audit log; and repositories clients back up into with rest: URLs, which are append-only for them. Deleting snapshots or a repository needs a second admin's approval and goes to quarantine first.

      With no --config it starts on defaults: data under --data, listening on 127.0.0.1:8443 without TLS. On the first start it creates an admin token and prints it once; keep it.

        lifeboat serve --data /var/lib/lifeboat-server
        lifeboat serve --config /etc/lifeboat/server.yaml

      Then open http://127.0.0.1:8443/ (the dashboard), read the API at /api/v1/openapi.yaml, and scrape /metrics with a token. docs/server.md explains the configuration file, roles, the repository endpoint and the four-eyes rule.

      Clients back up with
        LIFEBOAT_SERVER_TOKEN_FILE=/etc/lifeboat/token lifeboat backup -r rest:https://HOST:8443/TENANT/REPO PATH
      and report their runs with `server:` in their plan.
      """)

  @Option(help: "Server configuration file (YAML; see docs/server.md).") var config: String?
  @Option(help: "Data directory (overrides the file's data:).") var data: String?
  @Option(help: "Port to listen on (overrides listen:; 0 picks a free one).") var port: Int?
  @Option(help: "Address to listen on (overrides listen:).") var host: String?
  @Option(help: "Write the first admin token to this file (mode 0600) instead of only printing it.") var adminTokenFile: String?
  @Option(help: "Log level: debug (every request), info, warning, error.") var logLevel: String = "info"
  @Option(
    help: ArgumentHelp(
      "Break glass: create an admin token with this name in the data directory, print it and exit.",
      discussion: "For a lost admin token. Needs write access to the data directory (so only the server's own operator can do it); the event is recorded in the server's audit chain as `break-glass`."))
  var newAdminToken: String?

  func run() async throws {
    var configuration: ServerConfiguration
    do {
      configuration = try config.map { try ServerConfiguration.load(file: $0) } ?? ServerConfiguration()
    } catch let e as PlanError {
      throw LifeboatError(.usage, e.message, hint: e.hint)
    }
    if let data { configuration.dataDirectory = data }
    if let port { configuration.port = port }
    if let host { configuration.host = host }
    if config == nil && data == nil {
      throw ValidationError("name a data directory with --data (or a configuration file with --config)")
    }
    var logger = Logger(label: "lifeboat.server")
    guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("--log-level: debug, info, warning or error") }
    logger.logLevel = level

    // Everything the server writes (its state, the tenants' repositories) is private to the
    // server's user, whatever umask it was started with.
    umask(0o077)
    let console = try Console(dataDirectory: configuration.dataDirectory)
    if let name = newAdminToken {
      let actor = "break-glass by \(ProcessInfo.processInfo.environment["USER"] ?? String(getuid()))@\(ProcessInfo.processInfo.hostName)"
      let (p, token) = try console.createPrincipal(name: name, role: .admin, tenant: nil, actor: actor)
      try console.audit.audit(kind: "break-glass", subject: p.actor, details: ["id": String(p.id)], actor: actor, time: console.clock.now())
      FileHandle.standardOutput.write(Data("created admin token \(p.id) (\(name)):\n\n    \(token)\n\nIt is shown only this once.\n".utf8))
      return
    }
    let server = LifeboatServer(configuration: configuration, console: console)
    let scheme = configuration.usesTLS ? "https" : "http"
    let shownHost = configuration.host == "0.0.0.0" ? "localhost" : configuration.host
    let tokenFile = adminTokenFile
    // The first admin token is created once the server listens: a server that could not start
    // (a port in use, a bad certificate) never prints a token nobody can use.
    let app = try server.application(logger: logger) { port in
      do {
        if let token = try server.bootstrapAdmin() { Self.announce(adminToken: token, file: tokenFile) }
      } catch {
        FileHandle.standardError.write(Data("error: the first admin token could not be created: \(error)\n".utf8))
      }
      FileHandle.standardOutput.write(Data(
        "lifeboat server listening on \(scheme)://\(shownHost):\(port)/ (dashboard), API at /api/v1, metrics at /metrics\n".utf8))
    }
    do {
      try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    } catch where "\(error)".contains("Address already in use") {
      throw LifeboatError(
        .usage, "cannot listen on \(configuration.host):\(configuration.port): the address is already in use",
        hint: "another program (another `lifeboat serve`?) listens there: stop it, or pass --port (or listen: in the configuration)")
    } catch where "\(error)".contains("Cannot assign requested address") {
      throw LifeboatError(
        .usage, "cannot listen on \(configuration.host):\(configuration.port): no network interface has that address",
        hint: "pass --host with an address of this machine (127.0.0.1, 0.0.0.0 for all)")
    }
  }

  /// Shows the first admin token once: written to `file` (mode 0600) when given, else printed.
  /// The server keeps only the token's hash, so a token that could not be written is printed
  /// instead, or nobody could ever sign in.
  static func announce(adminToken token: String, file: String?) {
    if let file {
      if let problem = writeSecret(Data((token + "\n").utf8), to: file) {
        FileHandle.standardError.write(Data("error: cannot write the admin token to \(file): \(problem); it is printed below instead\n".utf8))
      } else {
        FileHandle.standardOutput.write(Data("first start: created the admin token in \(file) (keep it safe)\n".utf8))
        return
      }
    }
    FileHandle.standardOutput.write(Data(
      "first start: the admin token is\n\n    \(token)\n\nIt is shown only this once; the server keeps only its hash.\n".utf8))
  }

  /// Writes a secret only its owner can read: the file is created with mode 0600, an existing
  /// one is emptied and set to 0600 before the secret goes in, a symbolic link is not followed,
  /// and the bytes are on the disk before this returns. Returns what went wrong, or nil.
  static func writeSecret(_ data: Data, to path: String) -> String? {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return String(cString: strerror(errno)) }
    defer { close(fd) }
    guard fchmod(fd, 0o600) == 0 else { return String(cString: strerror(errno)) }
    var failure = data.withUnsafeBytes { raw in
      SystemIO.transferAll(raw.count) { done in write(fd, raw.baseAddress! + done, raw.count - done) }
    }
    if failure == 0 && fsync(fd) != 0 { failure = errno }
    return failure == 0 ? nil : String(cString: strerror(failure))
  }
}

struct PushCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push",
    abstract: "Send the catalog's finished runs and drills to a Lifeboat server.",
    discussion: """
      The agent, `run` and `drill` do this after every job when the plan names a server (`server:` with url, tenant and token). `push` does it by hand: after the server was down, to fill a new server with an existing catalog's history, or with a server the plan does not name.

        lifeboat push --plan /etc/lifeboat/plan.yaml
        LIFEBOAT_SERVER_TOKEN_FILE=/etc/lifeboat/server-token lifeboat push --plan plan.yaml --server https://backup.provider.net:8443 --tenant riverside

      Each job is stored once per source host and job id, so pushing twice is harmless.
      """)

  @OptionGroup var options: PlanOptions
  @Option(help: "The server's URL (instead of the plan's server:).") var server: String?
  @Option(help: "The tenant on that server (instead of the plan's server:).") var tenant: String?
  @Flag(help: "Send every job again, not only those after the last push.") var all = false

  func run() async throws {
    let plan = try options.load()
    let catalog = try options.catalog(plan)
    let environment = ProcessInfo.processInfo.environment
    let endpoint: ServerEndpoint
    let tenantID: String
    if let server, let tenant {
      endpoint = ServerEndpoint(base: server, token: try ServerEndpoint.token(environment: environment))
      tenantID = tenant
    } else if let link = plan.server {
      do {
        endpoint = ServerEndpoint(base: server ?? link.url, token: try link.token.resolve(environment: environment))
      } catch let e as PlanError {
        throw LifeboatError(.usage, "the plan's server token: \(e.message)", hint: e.hint)
      }
      tenantID = tenant ?? link.tenant
    } else {
      throw LifeboatError(.usage, "the plan names no server", hint: "add server: { url, tenant, token } to the plan, or pass --server and --tenant")
    }
    if all { try? FileManager.default.removeItem(atPath: catalog.path + ".reported") }
    let sent = try await RunReporter(endpoint: endpoint, tenant: tenantID, source: ProcessInfo.processInfo.hostName).push(catalog: catalog)
    options.output.line("sent \(sent) job(s) to \(endpoint.base) for tenant \(tenantID)")
  }
}
