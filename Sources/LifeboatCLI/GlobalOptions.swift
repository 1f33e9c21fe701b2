import ArgumentParser
import Foundation
import LifeboatBackends
import LifeboatCore
import LifeboatPolicy
import LifeboatRepository
import LifeboatCatalog
import LifeboatOps
import LifeboatPlan
import LifeboatStorage
#if canImport(Glibc)
  import Glibc
#endif

/// Options every repository command takes.
struct GlobalOptions: ParsableArguments {
  @Option(
    name: [.short, .long],
    help: ArgumentHelp(
      "Repository location: a local directory, s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3://BUCKET[/PREFIX].",
      discussion: "Defaults to $LIFEBOAT_REPOSITORY. S3 credentials come from AWS_ACCESS_KEY_ID, "
        + "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) or the AWS_PROFILE section of "
        + "~/.aws/credentials; the region from AWS_REGION (default us-east-1)."))
  var repo: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "Read the repository password from this file (first line).",
      discussion: "Defaults to $LIFEBOAT_PASSWORD_FILE. $LIFEBOAT_PASSWORD is used when set; "
        + "otherwise the password is asked for on the terminal. Passwords are never accepted "
        + "as arguments, where other users could read them."))
  var passwordFile: String?

  @Option(
    help: ArgumentHelp(
      "Try this key file first (its ID or a prefix of it).",
      discussion: "Defaults to $LIFEBOAT_KEY_HINT. Without it, the key file that opened the repository last on this "
        + "machine is tried first (remembered in $LIFEBOAT_CACHE_DIR, else ~/.cache/lifeboat; LIFEBOAT_CACHE_DIR=off "
        + "remembers nothing), then the others, cheapest first."))
  var keyHint: String?

  @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
  var json = false

  @Option(
    help: ArgumentHelp(
      "Record destructive and security events (forget, prune, key changes, purges) in this plan's audit log.",
      discussion: "Defaults to $LIFEBOAT_PLAN."))
  var plan: String?

  @Flag(name: [.short, .long], help: "Print only errors and warnings.")
  var quiet = false

  @Option(
    help: ArgumentHelp(
      "When the repository is locked, keep trying for this long (e.g. 30m) instead of failing.",
      discussion: "Useful for scheduled backups that may meet a running maintenance job."))
  var retryLock: String?

  var environment: [String: String] { ProcessInfo.processInfo.environment }

  /// Every command checks its global options, also those it does not use on this run.
  func validate() throws {
    if let text = retryLock, DurationText.parse(text) == nil {
      throw ValidationError("--retry-lock takes a duration such as 30s, 10m or 1h, not '\(text)'")
    }
  }

  func repositoryLocation() throws -> String {
    guard let r = repo ?? environment["LIFEBOAT_REPOSITORY"], !r.isEmpty else {
      throw LifeboatError(
        .usage, "no repository given", hint: "pass --repo PATH or set LIFEBOAT_REPOSITORY")
    }
    return r
  }

  func backend() throws -> any Backend {
    try Self.backend(for: try repositoryLocation(), environment: environment)
  }

  /// The backend for a repository location: `s3:` URLs, `file://` URLs and plain paths.
  static func backend(for location: String, environment: [String: String]) throws -> any Backend {
    try BackendFactory.backend(for: location, environment: environment)
  }

  /// The password from LIFEBOAT_PASSWORD, a password file, or the terminal — in that order.
  func password(confirm: Bool = false) throws -> String {
    if let p = environment["LIFEBOAT_PASSWORD"], !p.isEmpty { return p }
    if let file = passwordFile ?? environment["LIFEBOAT_PASSWORD_FILE"] {
      let text: String
      do {
        text = try PasswordFile.read(file)
      } catch let e as PasswordFile.Unreadable {
        throw LifeboatError(
          .usage, "cannot read the password file \(file): \(e.reason)",
          hint: "--password-file and LIFEBOAT_PASSWORD_FILE name a file whose first line is the password")
      }
      let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
      guard !line.isEmpty else { throw LifeboatError(.usage, "password file \(file) is empty") }
      return line
    }
    guard isatty(0) == 1 else {
      throw LifeboatError(
        .usage, "no password given and standard input is not a terminal",
        hint: "set LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE, or pass --password-file")
    }
    let p = try Terminal.readSecret(prompt: "enter password for repository: ")
    if confirm {
      let again = try Terminal.readSecret(prompt: "enter password again: ")
      guard again == p else { throw LifeboatError(.usage, "the passwords do not match") }
    }
    return p
  }

  func openRepository() async throws -> Repository {
    let backend = try backend()
    let password = try password()
    return try await open(backend, password: password)
  }

  /// Opens a repository on `backend` with the key hint and this machine's key memory.
  /// A damaged config is said every time until it is repaired.
  func open(_ backend: any Backend, password: String) async throws -> Repository {
    let repo = try await Repository.open(
      backend: backend, password: password, clock: clock, keyHint: keyHint ?? environment["LIFEBOAT_KEY_HINT"],
      memory: KeyMemory.fromEnvironment(environment))
    if let cache = LocalCache.directory(environment) { repo.useIndexCache(directory: cache) }
    if let damage = repo.configDamage {
      output.warn("\(damage); `lifeboat repair config` writes it back")
    }
    return repo
  }

  var output: Output { Output(json: json, quiet: quiet) }

  /// Appends an event to the audit log of the plan given with --plan / $LIFEBOAT_PLAN, if any.
  /// A failure to record is reported loudly: an audit trail with holes is worse than none.
  func audit(_ kind: String, subject: String, details: [String: String]) {
    guard let file = plan ?? environment["LIFEBOAT_PLAN"], !file.isEmpty else { return }
    do {
      guard let p = PlanLoader.load(file: file).plan else {
        throw LifeboatError(.usage, "the plan \(file) has errors")
      }
      var d = details
      d["repository"] = try repositoryLocation()
      try Catalog(path: p.catalog).audit(kind: kind, subject: subject, details: d, actor: PlanOptions.actor, time: clock.now())
    } catch {
      output.warn("the \(kind) event could not be recorded in the audit log of \(file): \(error)")
    }
  }

  /// Runs `body` holding a lock, refreshed as work proceeds and released at the end.
  func withLock<T>(
    _ repo: Repository, exclusive: Bool, command: String,
    _ body: (RepositoryLock) async throws -> T
  ) async throws -> T {
    try await repo.withLock(exclusive: exclusive, command: command, waiting: try lockWaiting()) { delay in
      if !quiet && !json {
        FileHandle.standardError.write(Data("repository locked, retrying in \(Int(delay)) s\n".utf8))
      }
    } _: { lock in
      try await body(lock)
    }
  }
}

extension GlobalOptions {
  /// `--retry-lock`: retry with backoff (1 s doubling to 15 s) for up to that long.
  func lockWaiting() throws -> LockWaiting {
    guard let text = retryLock else { return .none }
    guard let budget = DurationText.parse(text) else {
      throw LifeboatError(.usage, "--retry-lock takes a duration such as 30s, 10m or 1h, not \(text)")
    }
    return LockWaiting(budget: budget)
  }
}

enum Terminal {
  /// Reads a line from the terminal with echo off.
  static func readSecret(prompt: String) throws -> String {
    FileHandle.standardError.write(Data(prompt.utf8))
    var old = termios()
    let haveTTY = tcgetattr(0, &old) == 0
    if haveTTY {
      var quiet = old
      quiet.c_lflag &= ~tcflag_t(ECHO)
      tcsetattr(0, TCSAFLUSH, &quiet)
    }
    defer {
      if haveTTY { tcsetattr(0, TCSAFLUSH, &old) }
      FileHandle.standardError.write(Data("\n".utf8))
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
      throw LifeboatError(.usage, "no password entered")
    }
    return line
  }
}

/// Reading a password file, with the reason when it cannot be read.
enum PasswordFile {
  struct Unreadable: Error {
    var reason: String
  }

  static func read(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw Unreadable(reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { throw Unreadable(reason: "it is a directory") }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
      let n = Glibc.read(fd, &buffer, buffer.count)
      if n < 0 {
        if errno == EINTR { continue }
        throw Unreadable(reason: String(cString: strerror(errno)))
      }
      if n == 0 { break }
      bytes += buffer[0..<n]
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw Unreadable(reason: "it is not UTF-8 text") }
    return text
  }
}
