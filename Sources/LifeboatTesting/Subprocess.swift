import Foundation

/// Runs a program found on PATH (the AWS CLI, sqlite3, psql, chromium) and collects its
/// standard output and error together.
public enum Subprocess {
  @discardableResult
  public static func run(_ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, output: String)
  {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: arguments[0].hasPrefix("/") ? arguments[0] : "/usr/bin/env")
    p.arguments = arguments[0].hasPrefix("/") ? Array(arguments.dropFirst()) : arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
