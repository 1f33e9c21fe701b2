// Running the engines' tools: a process with arguments (never a secret), extra environment,
// standard input from a file or text, a timeout, and what it printed.

import CLifeboatSystem
import Foundation
import LifeboatCore
import Synchronization

struct ToolOutput: Sendable {
  var status: Int32
  var out: String
  var err: String
  var timedOut: Bool
  var succeeded: Bool { status == 0 && !timedOut }
  /// What the tool complained about, for a message: standard error's last lines, else stdout's.
  var complaint: String {
    let text = err.isEmpty ? out : err
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return String(trimmed.suffix(400))
  }
}

enum ToolRunner {
  enum Input: Sendable {
    case none
    case text(String)
    case file(String)
  }

  /// Runs `executable` with `arguments`. Never throws for a non-zero exit: the caller words it.
  /// Spawned and reaped directly (posix_spawn, waitpid): a tool that starts a daemon
  /// (pg_ctl) must not leave the wait hanging. Output goes to private files, so a chatty
  /// tool can never block on a full pipe.
  static func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], input: Input = .none,
    timeout: TimeInterval = 600, asUser user: String? = nil
  ) throws -> ToolOutput {
    let scratch = try privateFolder("lifeboat-tool")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var stdinPath = "/dev/null"
    switch input {
    case .none: break
    case .file(let path):
      guard FileManager.default.isReadableFile(atPath: path) else {
        throw SourceError("cannot read \(path)", hint: "check that the restored dump is there")
      }
      stdinPath = path
    case .text(let text):
      stdinPath = scratch + "/stdin"
      guard FileManager.default.createFile(atPath: stdinPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
      else { throw SourceError("cannot write \(stdinPath)") }
    }
    let argv = user.map { ["/usr/sbin/runuser", "-u", $0, "--", executable] } ?? [executable]
    let pid = try spawn(
      argv + arguments, environment: environment, stdin: stdinPath, stdout: scratch + "/out", stderr: scratch + "/err")
    let timedOut = Mutex(false)
    let watchdog = DispatchWorkItem {
      timedOut.withLock { $0 = true }
      kill(pid, SIGTERM)
      DispatchQueue.global().asyncAfter(deadline: Deadline.after(5)) { kill(pid, SIGKILL) }
    }
    DispatchQueue.global().asyncAfter(deadline: Deadline.after(timeout), execute: watchdog)
    let status = wait(pid)
    watchdog.cancel()
    func read(_ name: String) -> String {
      (FileManager.default.contents(atPath: scratch + "/" + name)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
    return ToolOutput(status: status, out: read("out"), err: read("err"), timedOut: timedOut.withLock { $0 })
  }

  /// Starts a process with its standard streams on files; returns its pid.
  static func spawn(_ argv: [String], environment: [String: String], stdin: String, stdout: String, stderr: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // Nothing else of this process leaks into the tool (or a daemon it starts).
    _ = lifeboat_spawn_close_from(&actions, 3)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    let env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.map { "\($0.key)=\($0.value)" }
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup($0) } + [nil]
    defer {
      cArgs.forEach { free($0) }
      cEnv.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
    guard rc == 0 else {
      throw SourceError("cannot start \(argv[0]): \(String(cString: strerror(rc)))", hint: "install the engine's tools (see docs/sources.md)")
    }
    return pid
  }

  /// Waits for `pid` and returns its exit status (128 + signal when killed).
  static func wait(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  /// The first of `candidates` that exists and is executable, else the name found on PATH.
  static func locate(_ name: String, in directories: [String]) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in directories + path.split(separator: ":").map(String.init) {
      let candidate = dir + "/" + name
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  static var isRoot: Bool { geteuid() == 0 }
}

/// Output gathered by a Dispatch handler.
final class Collected: Sendable {
  private let data = Mutex(Data())
  func append(_ more: Data) {
    guard !more.isEmpty else { return }
    data.withLock { $0.append(more) }
  }
  var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// A failure of a database source or proof, worded for the job record and the drill report.
public struct SourceError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var hint: String?
  public init(_ message: String, hint: String? = nil) {
    self.message = message
    self.hint = hint
  }
  public var description: String { hint.map { "\(message) (\($0))" } ?? message }
}

/// Private files for credentials: a 0700 folder with 0600 files, removed by `remove()`.
final class SecretFiles: Sendable {
  let folder: String

  init() throws {
    var template = Array((NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/").utf8CString.dropLast())
    template += Array("lifeboat-secrets-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      throw SourceError("cannot make a private folder for database credentials: \(String(cString: strerror(errno)))")
    }
    folder = String(cString: made)
  }

  /// Writes `text` to a new 0600 file in the folder and returns its path.
  func write(_ name: String, _ text: String) throws -> String {
    let path = folder + "/" + name
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SourceError("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
      throw SourceError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    return path
  }

  /// A path in the folder for a file made by another program (a database copy).
  func path(_ name: String) -> String { folder + "/" + name }

  func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

/// A folder of its own for a throwaway server, with a short path (Unix socket paths are
/// limited to 107 bytes).
func privateFolder(_ prefix: String) throws -> String {
  var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
  guard let made = mkdtemp(&template) else {
    throw SourceError("cannot make a folder for a throwaway server: \(String(cString: strerror(errno)))")
  }
  return String(cString: made)
}

/// `name` made safe for a file name: letters, digits, dot, dash and underscore.
func fileSafe(_ name: String) -> String {
  String(name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" })
}
