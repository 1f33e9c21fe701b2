// LifeboatOps — carrying out a protection plan, and proving recovery.
//
// What it does: runs a system's plan (hooks, backup of paths and commands, ransomware signals
// and marks, copies, retention), restore drills (sandbox restore, byte and metadata
// verification, application checks, the verdict against the RTO), the runbook as a drill, and
// the agent that schedules all of it; records every step in the catalog and the audit chain,
// and reports finished jobs to a Lifeboat server.
//
// Main types: `RunContext` (plan, catalog, clock, repositories opened by name), `SystemRunner`,
// `SystemRunReport`, `DrillRunner`, `RunbookExecution`, `SignalAnalyzer` (what a backup
// changed), `CleanPoint` (restore --clean), `Agent` (`run`, or `begin`/`step`/`finish` on any
// clock) and `AgentService`, `RunReporter` and `ServerReporting`.
//
// Rules it keeps:
// - Time from `RunContext.clock`, durations from `Stopwatch`; nothing reads the wall clock.
// - Retention goes through `Forgetting` (LifeboatEngine); a flagged backup gets a `suspicious`
//   mark and its clean point a `protect` mark in the repository itself.
// - Every catalog write that fails becomes an error of the run: missing evidence is a failure.
// - Judging a system is not done here: `Posture.judge` (LifeboatPosture) does it.
//
// Imports: rank 5 (docs/architecture.md): Engine, Repository, Posture, Backends, Plan, Catalog,
// Remote and below. Used by the CLI, the server and the demo.
//
// Where a change goes: how plans become jobs (SystemRunner), how recovery is proven
// (DrillRunner), when things run (Agent).
