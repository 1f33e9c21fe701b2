// LifeboatPolicy — pure decisions: which snapshots to keep, and why.
//
// What it does: applies restic-compatible retention rules (last, hourly, daily, weekly,
// monthly, yearly, within, tags) to a list of snapshots, group by group, and returns one
// decision per snapshot with its reasons. Also parses and prints durations as people write
// them (`90m`, `36h`, `7d`, `2w`, `1y6mo`).
//
// Main types: `RetentionPolicy` (the rules; nil means "does not apply", 0 means "none"),
// `RetentionGrouping` (host, paths, tags: restic's `--group-by`), `RetentionDecision` (keep or
// not, with reasons), `Retention` (`apply`, `groupKey`), `DurationText` (`parse`, `format`).
//
// Rules it keeps:
// - No I/O and no clock: snapshots and the time zone are arguments, and the result depends
//   only on them (`keepWithin` counts back from the group's newest snapshot, not from now).
// - Every decision carries the reasons that `forget --dry-run`, the reports and the audit log
//   show.
// - An empty policy (`isEmpty`) would remove everything: callers refuse it.
// - It only decides. Marks (protected snapshots, clean points) are applied on top, and
//   snapshots are removed, by `Forgetting` in LifeboatEngine, never here.
//
// Imports: may import `LifeboatCore`, `Foundation`. Used by LifeboatPlan (retention and
// durations in plans), LifeboatEngine (`Forgetting`), LifeboatPosture, LifeboatReport,
// LifeboatOps, LifeboatServer, LifeboatDemo and LifeboatCLI.
//
// Where a change goes: a new retention rule or grouping, or duration syntax. Tiers, schedules
// and objectives are in LifeboatPlan; lights are judged in LifeboatPosture.
