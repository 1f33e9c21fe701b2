import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// The receivers of an alert test: a real SMTP server (scripts/smtp-server.py, aiosmtpd with
/// STARTTLS and AUTH required) and an HTTP receiver (scripts/webhook-receiver.py), each a child
/// process on a free port of 127.0.0.1, stopped when their standard input closes.
public final class AlertReceivers: @unchecked Sendable {
  public let dir: TemporaryDirectory
  public let smtpPort: Int
  public let webPort: Int
  var processes: [(Process, Pipe)] = []
  public var mail: String { dir.sub("mail") }
  public var hooks: String { dir.sub("hooks") }
  public var caFile: String { dir.sub("cert.pem") }

  public init(smtpMode: String = "ok") throws {
    dir = TemporaryDirectory("lifeboat-alerts")
    try FileManager.default.createDirectory(atPath: dir.sub("mail"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dir.sub("hooks"), withIntermediateDirectories: true)
    let made = try Subprocess.run([
      "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.sub("key.pem"), "-out",
      dir.sub("cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ])
    guard made.status == 0 else { throw Failure(description: "openssl: \(made.output)") }
    smtpPort = LoopbackPort.free()
    webPort = LoopbackPort.free()
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    try start([root + "/scripts/smtp-server.py", "\(smtpPort)", mail, caFile, dir.sub("key.pem"), "lifeboat", "mail secret", smtpMode])
    try start([root + "/scripts/webhook-receiver.py", "\(webPort)", hooks])
  }

  /// Starts a receiver and waits for its `ready` line (a blocking read, not a sleep).
  func start(_ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    p.arguments = args
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    p.standardError = output
    try p.run()
    processes.append((p, input))
    var seen = Data()
    while !String(decoding: seen, as: UTF8.self).contains("ready") {
      let more = output.fileHandleForReading.availableData
      if more.isEmpty { throw Failure(description: "\(args[0]) did not start: \(String(decoding: seen, as: UTF8.self))") }
      seen.append(more)
    }
  }

  public func mails() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: mail)) ?? []).sorted().compactMap {
      try? String(contentsOfFile: mail + "/" + $0, encoding: .utf8)
    }
  }

  public func posts() -> [(path: String, status: Int, body: [String: Any])] {
    ((try? FileManager.default.contentsOfDirectory(atPath: hooks)) ?? []).sorted().compactMap { name in
      guard let data = FileManager.default.contents(atPath: hooks + "/" + name),
        let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let path = o["path"] as? String, let status = o["status"] as? Int, let body = o["body"] as? String,
        let inner = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
      else { return nil }
      return (path, status, inner)
    }
  }

  public func stop() {
    for (p, input) in processes {
      try? input.fileHandleForWriting.close()
      p.waitUntilExit()
    }
    dir.remove()
  }

  public struct Failure: Error, CustomStringConvertible { public var description: String }
}

/// Free TCP ports on 127.0.0.1.
public enum LoopbackPort {
  /// A TCP socket bound to a free port of 127.0.0.1, not listening yet (a server that never
  /// answers once `listen` is called), and its port.
  public static func bound() -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
  }

  /// A port nothing listens on at the moment of the call.
  public static func free() -> Int {
    let (fd, port) = bound()
    close(fd)
    return port
  }
}
