// LifeboatPlan — the protection plan: what is protected, how often, how long, where, how fast.
//
// What it does: loads a plan from YAML with a line-and-column diagnostic for every problem,
// fills in tier defaults and records where each effective value came from, parses schedules
// and says when a system is next due, computes the RPO state, and generates the recovery
// runbook. Executing the plan is LifeboatOps; judging it is LifeboatPosture.
//
// Main types: `Plan`, `ProtectedSystem` (every value `Sourced` with its `Provenance`), `Tier`
// and `TierDefaults`, `RepositoryTarget`, `Source`, `Hooks`, `DrillSettings` and `DrillCheck`,
// `ServerLink`, `SecretReference` (`env:` / `file:`), `PlanLoader` (`load`, `parse`) with
// `PlanLoadResult` and `Diagnostic`, `PlanError`, `Schedule` (grammar, `nextDue`, `isDue`),
// `Runbook` (`make`: steps in recovery order).
//
// Rules it keeps:
// - Pure: no I/O but reading the plan file (and a `file:` secret when asked to resolve it);
//   `now` and the time zone are arguments.
// - Secrets are references, never values: a plan names `env:VAR` or `file:PATH`, and an error
//   names the reference, never the secret.
// - Every effective value keeps its origin (plan line, tier default, built-in) for `plan show`.
// - A bad plan yields diagnostics, not a crash (PlanFuzzTests); warnings still give a plan.
//
// Imports: may import `LifeboatCore`, `LifeboatPolicy`, `Yams`, `Foundation`. Used by
// LifeboatPosture, LifeboatReport, LifeboatOps, LifeboatServer, LifeboatDemo and LifeboatCLI.
//
// Where a change goes: new plan keys, tiers and schedule forms (with their diagnostics and
// their provenance). Retention rules themselves are in LifeboatPolicy.
