// Reporting finished jobs to the provider's server (the plan's `server:`), so its console sees
// every run and drill. Best effort: a server that is down never fails a backup; the next push
// sends what is still missing.

public import Foundation
public import LifeboatCatalog
public import LifeboatPlan
import LifeboatRemote

public enum ServerReporting {
  /// Sends the catalog's finished jobs the server has not seen yet. Returns nil when there is
  /// nothing to do or it worked, else what went wrong (for a log line).
  @discardableResult
  public static func push(plan: Plan, catalog: Catalog, environment: [String: String] = ProcessInfo.processInfo.environment)
    async -> String?
  {
    guard let link = plan.server else { return nil }
    do {
      let token = try link.token.resolve(environment: environment)
      let host = ProcessInfo.processInfo.hostName
      let reporter = RunReporter(endpoint: ServerEndpoint(base: link.url, token: token), tenant: link.tenant, source: host)
      try await reporter.push(catalog: catalog)
      return nil
    } catch {
      return "reporting to \(link.url) failed (the next run retries): \(error)"
    }
  }
}
