// Sending an agent's finished jobs to the provider's server, so the console sees every run
// and drill without reaching into client networks.

import Foundation
public import LifeboatCatalog
import LifeboatCore
public import LifeboatRemote

/// Pushes finished jobs above a watermark kept in a small state file next to the catalog.
/// Safe to repeat: the server stores each (source, job id) once.
public struct RunReporter: Sendable {
  public var endpoint: ServerEndpoint
  public var tenant: String
  public var source: String

  public init(endpoint: ServerEndpoint, tenant: String, source: String) {
    self.endpoint = endpoint
    self.tenant = tenant
    self.source = source
  }

  /// Sends what the server has not seen; returns how many jobs were sent.
  @discardableResult
  public func push(catalog: Catalog, batchSize: Int = 200) async throws -> Int {
    let stateFile = catalog.path + ".reported"
    let watermark = FileManager.default.contents(atPath: stateFile)
      .flatMap { Int64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    let jobs = try catalog.jobs(limit: 1_000_000).filter { ($0.id ?? 0) > watermark }.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    // Everything up to the first job still running can be marked sent.
    let finished = jobs.prefix { $0.outcome != .running }
    var sent = 0
    for batch in stride(from: 0, to: finished.count, by: batchSize) {
      let slice = Array(finished.dropFirst(batch).prefix(batchSize))
      let body = try JSONEncoder.drill.encode(RunBatch(source: source, jobs: slice))
      let (status, message) = try await endpoint.postJSON("/api/v1/tenants/\(tenant)/runs", body: Array(body))
      guard status == 200 || status == 201 else {
        throw LifeboatError(.fatal, "the server at \(endpoint.base) refused the run report: HTTP \(status) \(message)",
          hint: status == 401 || status == 403 ? "check the plan's server token and tenant" : nil)
      }
      sent += slice.count
      if let last = slice.last?.id {
        try Data(String(last).utf8).write(to: URL(fileURLWithPath: stateFile), options: .atomic)
      }
    }
    return sent
  }
}
