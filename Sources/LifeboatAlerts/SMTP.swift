// A small SMTP client on swift-nio: EHLO, STARTTLS (or TLS from the start), AUTH PLAIN or
// LOGIN, one message to one or more recipients. Every reply is checked; a refusal says which
// step and what the server answered.

public import Foundation
public import NIOCore
import NIOPosix
import NIOSSL
public import LifeboatPlan

/// One SMTP reply: the code and its text lines.
struct SMTPReply: Sendable {
  var code: Int
  var lines: [String]
  var text: String { lines.joined(separator: " ") }
}

/// Splits the server's bytes into replies and hands each to the next waiting promise.
/// Confined to its channel's event loop.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = ByteBuffer
  private var pending = ""
  private var lines: [String] = []
  private var ready: [SMTPReply] = []
  private var waiting: [EventLoopPromise<SMTPReply>] = []
  /// Why the connection ended, once it has.
  private(set) var failure: (any Error)?

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var buffer = unwrapInboundIn(data)
    pending += buffer.readString(length: buffer.readableBytes) ?? ""
    while let range = pending.range(of: "\r\n") ?? pending.range(of: "\n") {
      let line = String(pending[..<range.lowerBound])
      pending.removeSubrange(..<range.upperBound)
      lines.append(line)
      // "250-…" continues a reply; "250 …" ends it.
      let chars = Array(line)
      if chars.count < 4 || chars[3] != "-" {
        let code = Int(String(chars.prefix(3))) ?? 0
        let reply = SMTPReply(code: code, lines: lines.map { String($0.dropFirst(min(4, $0.count))) })
        lines = []
        if waiting.isEmpty { ready.append(reply) } else { waiting.removeFirst().succeed(reply) }
      }
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    fail(error)
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    fail(AlertError("the mail server closed the connection"))
  }

  func fail(_ error: any Error) {
    failure = failure ?? error
    for p in waiting { p.fail(error) }
    waiting = []
  }

  /// The next reply (call on the event loop).
  func next(on loop: any EventLoop) -> EventLoopFuture<SMTPReply> {
    if !ready.isEmpty { return loop.makeSucceededFuture(ready.removeFirst()) }
    if let failure { return loop.makeFailedFuture(failure) }
    let p = loop.makePromise(of: SMTPReply.self)
    waiting.append(p)
    return p.futureResult
  }
}

public struct AlertError: Error, Sendable, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

public struct SMTPClient: Sendable {
  public var settings: SMTPSettings
  /// The password, resolved from its reference by the caller.
  var password: String?
  public var timeout: TimeAmount = .seconds(20)

  public init(settings: SMTPSettings, password: String?) {
    self.settings = settings
    self.password = password
  }

  func tlsHandler() throws -> NIOSSLClientHandler {
    var config = TLSConfiguration.makeClientConfiguration()
    if let ca = settings.caFile {
      config.trustRoots = .file(ca)
    }
    let context = try NIOSSLContext(configuration: config)
    let isAddress = settings.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
    return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : settings.host)
  }

  /// Sends one message. Throws an `AlertError` that names the step the server refused.
  public func send(to recipients: [String], subject: String, body: String, messageID: String, date: Date) async throws {
    let handler = SMTPReplyHandler()
    let implicitTLS = settings.security == .tls
    let tls = implicitTLS ? try tlsHandler() : nil
    let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connectTimeout(timeout)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          if let tls { try channel.pipeline.syncOperations.addHandler(tls) }
          try channel.pipeline.syncOperations.addHandler(handler)
        }
      }
    let channel: any Channel
    do {
      channel = try await bootstrap.connect(host: settings.host, port: settings.port).get()
    } catch {
      throw AlertError("cannot reach the mail server \(settings.host):\(settings.port): \(error)")
    }
    defer { channel.close(promise: nil) }
    let loop = channel.eventLoop

    // The timer is armed and disarmed on the event loop, where the reply arrives: a busy
    // process that resumes this task late must not turn an answered command into a timeout.
    let seconds = timeout.nanoseconds / 1_000_000_000
    func reply(after step: String) async throws -> SMTPReply {
      let next = loop.flatSubmit {
        let answer = handler.next(on: loop)
        let timer = loop.scheduleTask(in: timeout) {
          handler.fail(AlertError("the mail server did not answer \(step) within \(seconds) s"))
          channel.close(promise: nil)
        }
        answer.whenComplete { _ in timer.cancel() }
        return answer
      }
      return try await next.get()
    }
    func command(_ line: String, shown: String? = nil, expect: Set<Int>) async throws -> SMTPReply {
      let step = shown ?? line
      var buffer = channel.allocator.buffer(capacity: line.utf8.count + 2)
      buffer.writeString(line + "\r\n")
      do {
        try await channel.writeAndFlush(buffer)
      } catch {
        // The connection had already ended: say why it ended, not only that it had.
        let cause = try? await loop.submit { handler.failure.map { "\($0)" } }.get()
        throw AlertError(cause ?? "the connection to the mail server broke before \(step): \(error)")
      }
      let r = try await reply(after: step)
      guard expect.contains(r.code) else {
        throw AlertError("the mail server refused \(shown ?? line): \(r.code) \(r.text)")
      }
      return r
    }

    let greeting = try await reply(after: "the connection (no greeting)")
    guard greeting.code == 220 else { throw AlertError("the mail server greeted with \(greeting.code) \(greeting.text)") }
    let me = "lifeboat.localdomain"
    var features = try await command("EHLO \(me)", expect: [250]).lines
    if settings.security == .starttls {
      guard features.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
        throw AlertError("the mail server \(settings.host) does not offer STARTTLS; refusing to send in the clear (set security: tls for port 465, or none for a local relay)")
      }
      _ = try await command("STARTTLS", expect: [220])
      let upgrade = try tlsHandler()
      try await loop.submit { try channel.pipeline.syncOperations.addHandler(upgrade, position: .first) }.get()
      features = try await command("EHLO \(me)", expect: [250]).lines
    }
    if let user = settings.username, let password {
      let auth = features.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
      if auth.contains("PLAIN") || !auth.contains("LOGIN") {
        let token = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
        _ = try await command("AUTH PLAIN \(token)", shown: "the login of \(user) (AUTH PLAIN)", expect: [235])
      } else {
        _ = try await command("AUTH LOGIN", expect: [334])
        _ = try await command(Data(user.utf8).base64EncodedString(), shown: "the user name \(user)", expect: [334])
        _ = try await command(Data(password.utf8).base64EncodedString(), shown: "the password of \(user)", expect: [235])
      }
    }
    _ = try await command("MAIL FROM:<\(settings.from)>", expect: [250])
    for r in recipients { _ = try await command("RCPT TO:<\(r)>", expect: [250, 251]) }
    _ = try await command("DATA", expect: [354])
    let message = Self.format(from: settings.from, to: recipients, subject: subject, body: body, messageID: messageID, date: date)
    _ = try await command(message + "\r\n.", shown: "the message", expect: [250])
    _ = try? await command("QUIT", expect: [221])
  }

  /// The message as sent after DATA: headers, a blank line, the body with CRLF line ends and
  /// lines starting with a dot doubled.
  static func format(from: String, to: [String], subject: String, body: String, messageID: String, date: Date) -> String {
    let rfc = DateFormatter()
    rfc.locale = Locale(identifier: "en_US_POSIX")
    rfc.timeZone = TimeZone(identifier: "UTC")
    rfc.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
    let encodedSubject = subject.allSatisfy(\.isASCII) ? subject : "=?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?="
    let headers = [
      "From: Lifeboat <\(from)>", "To: \(to.joined(separator: ", "))", "Subject: \(encodedSubject)",
      "Date: \(rfc.string(from: date))", "Message-ID: <\(messageID)>", "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "Auto-Submitted: auto-generated",
    ]
    let lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
    return (headers + [""] + lines).joined(separator: "\r\n")
  }
}
