// LifeboatCore — the vocabulary every other Lifeboat module speaks.
//
// What it does: defines the values that cross every layer: identifiers, the snapshot/tree/node
// model of a backed-up file system, snapshot marks, the user-facing error and the clock.
// It performs no I/O and holds no policy; the modules above give these values their meaning.
//
// Main types: `ID` (a 256-bit blob ID or object name, stored as four words), `BlobType` (data
// or tree), `Node` and `Tree` (a directory entry and a directory), `Timespec`,
// `ExtendedAttribute`, `PathBytes` (byte paths that need not be UTF-8), `Snapshot` (root tree
// plus who, when and what), `SnapshotMark` (protect / release / suspicious, docs/design.md §18),
// `LifeboatError` (kind, message, hint), `WallClock` with `SystemClock` and `FixedClock`,
// `Stopwatch` (monotonic durations), `Deadline` (Dispatch timer deadlines),
// `SplitMix64` (seeded generator for the demo's and the tests' data).
//
// Rules it keeps:
// - No I/O: no files, network or environment; values and pure helpers only.
// - Clock.swift is the only file in Lifeboat that reads a clock (scripts/check-imports.sh
//   enforces it). Durations use `Stopwatch`; code that needs a date takes a
//   `WallClock` (`SystemClock` in production), so tests drive it with `ManualClock` or `FixedClock`.
// - `LifeboatError.Kind` raw values are stable: exit codes (`ExitStatus`), metrics and JSON
//   output depend on them. Add kinds; do not rename them.
// - `SplitMix64` is for reproducible data only, never for secrets, keys or salts.
// - How these values are stored is not decided here: encodings live in LifeboatFormat.
//
// Imports: may import `Foundation` only (docs/architecture.md). Imported by every Lifeboat
// library module, LifeboatTesting included.
//
// Where a change goes: a new field or value that every layer sees. Storing it is a
// LifeboatFormat change, with docs/design.md updated alongside.
