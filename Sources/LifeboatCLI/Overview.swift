// LifeboatCLI — the `lifeboat` command: parse, validate, call the layers below, render.
//
// What it does: one `AsyncParsableCommand` per command (Commands/), sharing `GlobalOptions`
// (repository, password, key hint, lock waiting, JSON/quiet) or `PlanOptions` (--plan). A
// command opens what it needs through the composition root (LifeboatBackends), calls the
// engine, the ops or the server, and renders text or JSON through `Output`.
//
// Main types: `LifeboatMain` (entry point and error reporting), `LifeboatCommand` (the command
// tree), `GlobalOptions`, `PlanOptions`, `Output` (lines, warnings, JSON, the progress line),
// `ExitStatus` (the only place exit codes live), `CommandClock` (the system clock, or
// `LIFEBOAT_NOW`).
//
// Rules it keeps:
// - Commands decide nothing that a lower layer decides: lights come from `Posture.judge`,
//   retention from `Forgetting`, locks from `Repository.withLock`.
// - Exit codes are restic's: 0, 1, 3 (partial backup), 10 (no repository), 11 (lock failed),
//   12 (wrong password), 130 (interrupted) — mapped in `ExitStatus` only.
// - Secrets never come from arguments: password files, environment, or a prompt.
// - Every message says what happened, to what, and what to do (`LifeboatError.hint`).
//
// Imports: nearly everything (rank 7 in docs/architecture.md); imported only by `lifeboat`.
//
// Where a change goes: a new command is a file in Commands/ plus a line in LifeboatCommand; its
// `discussion` teaches (it is the man page), and README gets a line.
