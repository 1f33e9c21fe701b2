// LifeboatPosture — how each system stands, judged once: lights, reasons and findings.
//
// What it does: gathers each system's facts from the plan and the catalog's history (last
// good backup, copies, last drill, suspicious backups, what is due) and judges them into four
// lights per system — backups (RPO), recovery (RTO), copies (3-2-1-1-0), integrity — each with
// typed reasons, plus the organization's own findings. Also defines the evidence types that
// LifeboatOps writes into the catalog and the reports and the server read back.
//
// Main types: `Posture` (`judge` a system or a whole plan, `projectedRecovery`), `PlanStatus`
// (`status`, `due`, `nextDrill`, `lastAttempt`) and `SystemStatus` (the facts), `Light`,
// `Area`, `Reason` (the rules table), `Cause`, `Judgement`, `Finding`, `SystemPosture`,
// `PlanPosture`, `Wording`; evidence: `DrillReport` (one drill) and `BackupSignals` (what a
// backup changed, `evaluate` decides `suspicious`).
//
// Rules it keeps:
// - Pure: functions of (plan, history, `now`, time zone); no I/O and no clock.
// - A system's lights are decided here only: `lifeboat status`, the reports, the dashboard, the
//   API and `/metrics` render `Posture.judge`'s result and never judge a system themselves.
// - `Reason` is the table: one case, one light, one area. docs/posture.md's table is generated
//   from it (`LIFEBOAT_UPDATE_GOLDEN=1`) and checked by `PostureRulesTests`.
// - Verdicts and the ransomware flag come from typed catalog columns, never from parsed text.
//
// Imports: may import `LifeboatCore`, `LifeboatPlan`, `LifeboatCatalog`, `LifeboatPolicy`,
// `Foundation`. Used by LifeboatOps (drills, signals, what is due), LifeboatReport,
// LifeboatServer (dashboard, API, metrics), LifeboatDemo and LifeboatCLI (`status`).
//
// Where a change goes: a new or changed rule is a `Reason` case with its light, area and text,
// plus docs/posture.md's table. New evidence fields go in Evidence.swift.
