// Delivering one message to one target, with retries: webhooks through AsyncHTTPClient,
// e-mail through `SMTPClient`.

import AsyncHTTPClient
public import Foundation
import LifeboatCore
public import LifeboatPlan
import NIOCore
import NIOHTTP1

public struct AlertDelivery: Sendable {
  /// Waits before the second, third… attempt. Three attempts by default: at once, after 2 s,
  /// after 10 s more. Tests pass zeros (they must not sleep).
  public var backoff: [TimeInterval] = [2, 10]
  /// One attempt's budget.
  public var timeout: TimeInterval = 15
  public var smtp: SMTPSettings?
  /// The SMTP password, resolved by the caller from its reference.
  public var smtpPassword: String?

  public init(smtp: SMTPSettings?, smtpPassword: String?) {
    self.smtp = smtp
    self.smtpPassword = smtpPassword
  }

  /// Delivers `message`; returns the number of attempts. Throws the last failure.
  public func deliver(_ message: AlertMessage, to target: AlertTarget, messageID: String) async throws -> Int {
    var attempt = 0
    while true {
      attempt += 1
      do {
        try await once(message, to: target, messageID: messageID)
        return attempt
      } catch {
        guard attempt <= backoff.count, !Task.isCancelled else { throw error }
        let wait = backoff[attempt - 1]
        if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
      }
    }
  }

  func once(_ message: AlertMessage, to target: AlertTarget, messageID: String) async throws {
    switch target.kind {
    case .email(let address):
      guard let smtp else { throw AlertError("no smtp: settings for e-mail alerts") }
      var client = SMTPClient(settings: smtp, password: smtpPassword)
      client.timeout = .seconds(Int64(timeout))
      try await client.send(to: [address], subject: message.subject, body: message.text, messageID: messageID, date: message.time)
    case .webhook(let url, let format):
      var request = HTTPClientRequest(url: url)
      request.method = .POST
      request.headers.add(name: "Content-Type", value: "application/json")
      request.headers.add(name: "User-Agent", value: "Lifeboat/\(LifeboatVersion.number)")
      request.headers.add(name: "Idempotency-Key", value: messageID)
      let body: Data
      switch format {
      case .json: body = message.json()
      case .slack: body = message.slack()
      case .teams: body = message.teams()
      }
      request.body = .bytes(ByteBuffer(bytes: body))
      let response: HTTPClientResponse
      do {
        response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout)))
      } catch {
        throw AlertError("the webhook \(target) cannot be reached: \(error)")
      }
      let text = String(buffer: try await response.body.collect(upTo: 4096))
      guard (200..<300).contains(Int(response.status.code)) else {
        throw AlertError("the webhook \(target) answered \(response.status.code)\(text.isEmpty ? "" : ": \(text.prefix(200))")")
      }
    }
  }
}
