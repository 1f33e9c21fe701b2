// The agent: a long-running service that carries out a plan's schedules.

public import Foundation
import LifeboatPosture
import LifeboatCatalog
public import LifeboatCore
import LifeboatPlan
public import Logging
public import ServiceLifecycle
import Synchronization
import UnixSignals

public struct AgentOptions: Sendable {
  /// Longest sleep between two looks at the schedule.
  public var tick: Duration = .seconds(30)
  /// A due run starts after a random delay up to this share of its schedule's interval
  /// (capped by `maxJitter`), so many systems (and many agents on one storage) do not start
  /// at the same second.
  public var jitterShare: Double = 0.05
  public var maxJitter: Duration = .seconds(300)
  /// After a failure, retry after `retryBase * 2^(failures-1)`, capped at the schedule's
  /// interval (the normal schedule takes over from there).
  public var retryBase: Duration = .seconds(60)
  /// Alerts are evaluated after every finished job and at least this often (time alone can
  /// breach an RPO).
  public var alertEvery: TimeInterval = 60
  /// The waits between delivery attempts of an alert; nil: AlertDelivery's (2 s, 10 s).
  public var alertBackoff: [TimeInterval]? = nil

  public init() {}
}

/// Runs due systems, one job per system at a time, until stopped.
public final class Agent: Sendable {
  public let planFile: String
  public let options: AgentOptions
  let environment: [String: String]
  let clock: any WallClock
  let logger: Logger
  let actor: String

  struct State {
    var plan: Plan
    var catalog: Catalog
    var running: [String: Task<Void, Never>] = [:]
    var failures: [String: Int] = [:]
    var retryAt: [String: Date] = [:]
    var stopping = false
    var woken = false
    var runs = 0
    /// When alerts were last evaluated, and whether a job ended since.
    var alertsChecked: Date? = nil
    var alertsDirty = true
    var alerting: Task<Void, Never>? = nil
  }

  private let state: Mutex<State>
  /// Wakes the loop early (a job finished, the plan changed, a stop was asked for).
  private func wake() { state.withLock { $0.woken = true } }

  public init(
    planFile: String, options: AgentOptions = AgentOptions(), environment: [String: String] = ProcessInfo.processInfo.environment,
    clock: any WallClock = SystemClock(), logger: Logger = Logger(label: "lifeboat.agent")
  ) throws {
    self.planFile = planFile
    self.options = options
    self.environment = environment
    self.clock = clock
    self.logger = logger
    self.actor = "agent@\(ProcessInfo.processInfo.hostName)"
    let plan = try Self.load(planFile)
    let catalog = try Catalog(path: plan.catalog)
    self.state = Mutex(State(plan: plan, catalog: catalog))
  }

  static func load(_ file: String) throws -> Plan {
    let result = PlanLoader.load(file: file)
    guard let plan = result.plan else {
      throw LifeboatError(
        .usage, "the plan \(file) has errors:\n" + result.errors.map { "  \($0)" }.joined(separator: "\n"),
        hint: "run `lifeboat plan check \(file)`")
    }
    return plan
  }

  /// Runs completed so far (all systems).
  public var completedRuns: Int { state.withLock { $0.runs } }

  /// Re-reads the plan (SIGHUP). An invalid plan is reported and the current one kept.
  @discardableResult
  public func reload() -> Bool {
    do {
      let plan = try Self.load(planFile)
      let catalog = try Catalog(path: plan.catalog)
      let old = state.withLock { s -> Plan in
        defer {
          s.plan = plan
          s.catalog = catalog
        }
        return s.plan
      }
      logger.info(
        "plan reloaded", metadata: ["systems_before": "\(old.systems.count)", "systems": "\(plan.systems.count)"])
      recorded("the new plan version") { try catalog.recordPlanVersion(file: planFile, actor: actor, time: clock.now()) }
      wake()
      return true
    } catch {
      logger.error("plan reload failed; keeping the previous plan", metadata: ["error": "\(error)"])
      return false
    }
  }

  /// Asks the loop to stop: no new jobs start, running ones are cancelled (and recorded as
  /// interrupted), then `run` returns.
  public func stop() {
    let tasks = state.withLock { s -> [Task<Void, Never>] in
      s.stopping = true
      return Array(s.running.values)
    }
    for t in tasks { t.cancel() }
    wake()
  }

  /// The scheduling loop. Returns after `stop()` once running jobs have ended.
  public func run() async {
    begin()
    while !state.withLock({ $0.stopping }) {
      let sleep = scheduleDue()
      alertIfDue(clock.now())
      // Sleep until the next due time, a finished job, a reload or a stop (checked every
      // 100 ms: cheap, and simpler than waking a sleeping task).
      let waited = Stopwatch()
      let seconds = Double(sleep.components.seconds) + Double(sleep.components.attoseconds) / 1e18
      while waited.seconds < seconds {
        let (stopping, woken) = state.withLock { s in
          defer { s.woken = false }
          return (s.stopping, s.woken)
        }
        if stopping || woken { break }
        try? await Task.sleep(for: .milliseconds(100))
      }
    }
    await finish()
  }

  /// What the loop does before its first pass: records the plan version, marks jobs a killed
  /// agent left running as interrupted, and the agent's start.
  public func begin() {
    let (plan0, catalog0) = state.withLock { ($0.plan, $0.catalog) }
    recorded("the plan version") { try catalog0.recordPlanVersion(file: planFile, actor: actor, time: clock.now()) }
    let abandoned = recorded("jobs left running as interrupted") { try catalog0.markAbandoned(before: clock.now()) } ?? 0
    if abandoned > 0 { logger.warning("marked \(abandoned) jobs left running by a previous process as interrupted") }
    recorded("the agent's start in the audit log") {
      try catalog0.audit(
        kind: "agent-start", subject: plan0.organization, details: ["plan": planFile, "systems": "\(plan0.systems.count)"],
        actor: actor, time: clock.now())
    }
    logger.info("agent started", metadata: ["plan": "\(planFile)", "systems": "\(plan0.systems.count)"])
  }

  /// One pass at the clock's current time: starts every system that is due, and waits for
  /// what it started to end. The loop's pass, without the sleeping: tests drive the agent
  /// with a manual clock through it.
  public func step() async {
    _ = scheduleDue()
    await drain()
    await evaluateAlerts()
  }

  /// Evaluates the plan's alerts now and waits for their delivery.
  public func evaluateAlerts() async {
    let (plan, catalog) = state.withLock { s -> (Plan, Catalog) in
      s.alertsChecked = clock.now()
      s.alertsDirty = false
      return (s.plan, s.catalog)
    }
    let context = RunContext(plan: plan, catalog: catalog, clock: clock, environment: environment, actor: actor)
    let sent = await Alerting.evaluate(context, backoff: options.alertBackoff)
    for job in sent {
      if job.outcome == .success {
        logger.notice("alert sent", metadata: ["subject": "\(job.warnings.first ?? "")"])
      } else {
        logger.error("alert not delivered", metadata: ["error": "\(job.errors.first ?? "")"])
      }
    }
  }

  /// Starts an alert evaluation in its own task when a job ended or `alertEvery` passed (and
  /// no job runs, or they have run for ten times that); a slow mail server never delays a
  /// backup.
  func alertIfDue(_ now: Date) {
    let start = state.withLock { s -> Bool in
      guard !s.plan.alerts.isEmpty, s.alerting == nil, !s.stopping else { return false }
      let since = s.alertsChecked.map { now.timeIntervalSince($0) } ?? .infinity
      // While jobs run, their outcome is about to change the picture: wait for them, unless
      // they run long (a condition elsewhere must still be told).
      if !s.running.isEmpty { return since >= options.alertEvery * 10 }
      return s.alertsDirty || since >= options.alertEvery
    }
    guard start else { return }
    let task = Task { [self] in
      await evaluateAlerts()
      state.withLock { $0.alerting = nil }
    }
    state.withLock { $0.alerting = task }
  }

  /// Waits for running jobs to record their end, then records the agent's stop.
  public func finish() async {
    await drain()
    let (plan0, catalog) = state.withLock { ($0.plan, $0.catalog) }
    recorded("the agent's stop in the audit log") {
      try catalog.audit(kind: "agent-stop", subject: plan0.organization, details: [:], actor: actor, time: clock.now())
    }
    logger.info("agent stopped")
  }

  func drain() async {
    if let alerting = state.withLock({ $0.alerting }) { await alerting.value }
    while true {
      let tasks = state.withLock { Array($0.running.values) }
      if tasks.isEmpty { break }
      for t in tasks { await t.value }
    }
  }

  /// Runs a catalog write; a failure (a full disk, an I/O error) is logged as an error, since
  /// the catalog is the evidence of protection, and the agent goes on.
  @discardableResult
  func recorded<T>(_ what: String, _ body: () throws -> T) -> T? {
    do { return try body() } catch {
      logger.error("catalog: cannot record \(what)", metadata: ["error": "\(error)"])
      return nil
    }
  }

  /// Starts every due system that is not running; returns how long to sleep.
  func scheduleDue() -> Duration {
    let now = clock.now()
    let (plan, catalog) = state.withLock { ($0.plan, $0.catalog) }
    let history = (try? catalog.jobs(limit: 20_000)) ?? []
    var sleep = options.tick
    for system in plan.systems {
      let (busy, retryAt) = state.withLock { ($0.running[system.name] != nil || $0.stopping, $0.retryAt[system.name]) }
      if busy { continue }
      let last = PlanStatus.lastAttempt(system, history: history)
      var due = system.schedule.value.nextDue(lastRun: last?.started, now: now, timeZone: .current)
      if let retryAt, retryAt < due { due = retryAt }
      let wait = due.timeIntervalSince(now)
      if wait <= 0 {
        start(system, plan: plan, catalog: catalog, drill: false)
        continue
      }
      // Drills run between backups, on their own cadence.
      if let drillDue = PlanStatus.nextDrill(system, history: history), drillDue <= now {
        start(system, plan: plan, catalog: catalog, drill: true)
        continue
      }
      sleep = min(sleep, .milliseconds(Int64(wait * 1000) + 10))
    }
    return max(sleep, .milliseconds(50))
  }

  func start(_ system: ProtectedSystem, plan: Plan, catalog: Catalog, drill: Bool) {
    let jitterCap = min(
      Double(options.maxJitter.components.seconds), system.schedule.value.interval * options.jitterShare)
    let jitter = jitterCap > 0 ? Double.random(in: 0...jitterCap) : 0
    let context = RunContext(plan: plan, catalog: catalog, clock: clock, environment: environment, actor: actor)
    let name = system.name
    let task = Task { [self] in
      if jitter > 0 { try? await Task.sleep(for: .milliseconds(Int64(jitter * 1000))) }
      guard !Task.isCancelled else {
        _ = state.withLock { $0.running.removeValue(forKey: name) }
        return
      }
      let failed: Bool
      if drill {
        logger.info("drill", metadata: ["system": "\(name)"])
        let report = await DrillRunner(context: context, system: system).run()
        logger.info("drill finished", metadata: ["system": "\(name)", "verdict": "\(report.verdict.rawValue)"])
        if let problem = await ServerReporting.push(plan: context.plan, catalog: context.catalog, environment: context.environment) {
          logger.warning("\(problem)")
        }
        state.withLock { s in
          s.running.removeValue(forKey: name)
          s.runs += 1
          s.alertsDirty = true
        }
        wake()
        return
      }
      logger.info("running", metadata: ["system": "\(name)"])
      let report = await SystemRunner(context: context, system: system).run()
      if let problem = await ServerReporting.push(plan: context.plan, catalog: context.catalog, environment: context.environment) {
        logger.warning("\(problem)")
      }
      failed = report.outcome == .failed
      state.withLock { s in
        s.running.removeValue(forKey: name)
        s.runs += 1
        s.alertsDirty = true
        if failed {
          let n = (s.failures[name] ?? 0) + 1
          s.failures[name] = n
          let base = Double(options.retryBase.components.seconds) + Double(options.retryBase.components.attoseconds) / 1e18
          let delay = min(base * pow(2, Double(n - 1)), system.schedule.value.interval)
          s.retryAt[name] = clock.now().addingTimeInterval(delay)
        } else {
          s.failures[name] = nil
          s.retryAt[name] = nil
        }
      }
      if failed {
        logger.error("run failed", metadata: ["system": "\(name)", "error": "\(report.errors.first ?? "")"])
      } else {
        logger.info("run finished", metadata: ["system": "\(name)", "outcome": "\(report.outcome.rawValue)"])
      }
      wake()
    }
    state.withLock { $0.running[name] = task }
  }
}

/// The agent as a swift-service-lifecycle service: SIGTERM stops it gracefully, SIGHUP
/// reloads the plan.
public struct AgentService: Service {
  public let agent: Agent

  public init(agent: Agent) { self.agent = agent }

  public func run() async throws {
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
          agent.reload()
        }
      }
      await withGracefulShutdownHandler {
        await agent.run()
      } onGracefulShutdown: {
        agent.stop()
      }
      group.cancelAll()
    }
  }

  /// Runs the agent until SIGTERM or SIGINT.
  public static func runUntilSignalled(_ agent: Agent, logger: Logger) async throws {
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: [.init(service: AgentService(agent: agent))],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }
}
