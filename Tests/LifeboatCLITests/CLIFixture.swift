import Foundation
import LifeboatCLI
import LifeboatTesting
import Testing

/// Runs `lifeboat` in-process (fast) or as a child process (for signals and privileges).
struct CLIFixture {
  let dir: TemporaryDirectory
  let repo: String
  let passwordFile: String

  init(password: String = "cli-test-password") throws {
    dir = TemporaryDirectory("lifeboat-cli")
    repo = dir.sub("repo")
    passwordFile = dir.sub("password")
    try FixtureTree.write(passwordFile, Array("\(password)\n".utf8))
  }

  /// In-process run; returns the exit code.
  func run(_ args: [String], password: String? = nil) async -> Int32 {
    var pf = passwordFile
    if let password {
      pf = dir.sub("password-\(abs(password.hashValue))")
      try? FixtureTree.write(pf, Array(password.utf8))
    }
    return await LifeboatMain.main(args + ["--repo", repo, "--password-file", pf, "--quiet"])
  }

  static var binary: String {
    if let b = ProcessInfo.processInfo.environment["LIFEBOAT_BIN"] { return b }
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("lifeboat").path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/lifeboat").path
  }

  /// Starts the binary as a child process (optionally through a prefix such as setpriv).
  func spawn(_ args: [String], prefix: [String] = [], output: String? = nil) throws -> Process {
    let p = Process()
    let cmd = prefix + [Self.binary] + args + ["--repo", repo, "--password-file", passwordFile]
    p.executableURL = URL(fileURLWithPath: cmd[0].hasPrefix("/") ? cmd[0] : "/usr/bin/env")
    p.arguments = cmd[0].hasPrefix("/") ? Array(cmd.dropFirst()) : cmd
    if let output {
      try #require(FileManager.default.createFile(atPath: output, contents: nil))
      let h = FileHandle(forWritingAtPath: output)
      p.standardOutput = h
      p.standardError = h
    } else {
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
    }
    try p.run()
    return p
  }

  /// Runs the binary and waits for it off the cooperative pool (`offThePool`): a test blocked
  /// in `waitUntilExit` would stall the in-process servers of the tests running beside it.
  func runProcess(_ args: [String], prefix: [String] = []) async throws -> (code: Int32, output: String) {
    try await offThePool { try runAndWait(args, prefix: prefix) }
  }

  /// The blocking form, for work that is already off the pool (inside `offThePool`).
  func runAndWait(_ args: [String], prefix: [String] = []) throws -> (code: Int32, output: String) {
    let out = dir.sub("out-\(UInt32.random(in: 0...UInt32.max))")
    let p = try spawn(args, prefix: prefix, output: out)
    p.waitUntilExit()
    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    return (p.terminationStatus, text)
  }

  func remove() { dir.remove() }

  /// Starts the binary with `arguments` and extra environment (secrets never on the command
  /// line), output into a file under `dir`. With `wait`, returns the exit status and output.
  static func launch(
    _ arguments: [String], environment: [String: String], dir: TemporaryDirectory, wait: Bool = true
  ) async throws -> (code: Int32, output: String, process: Process) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = dir.sub("out-\(UInt32.random(in: 0...UInt32.max))")
    try #require(FileManager.default.createFile(atPath: out, contents: nil))
    let h = FileHandle(forWritingAtPath: out)
    p.standardOutput = h
    p.standardError = h
    try p.run()
    guard wait else { return (0, out, p) }
    try await offThePool { p.waitUntilExit() }
    return (p.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "", p)
  }
}
