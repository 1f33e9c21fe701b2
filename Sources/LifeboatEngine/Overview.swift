// LifeboatEngine — the pipelines that turn files into snapshots and back, and maintain them.
//
// What it does: backup (scan, parallel read/chunk/seal, trees, flush, snapshot), restore (pack
// by pack, metadata, verification), check (structure, and the data with `--read-data`), prune,
// index repair, copy between repositories, diff, tree walks, Object Lock maintenance, and
// retention (`Forgetting`). Uses the repository, knows POSIX files, not storage providers.
//
// Main types: `Archiver` (backup; `BackupOptions`, `StdinSource`, `BackupResult`), `Restorer`,
// `Checker` (`CheckReport`), `Pruner` (`PruneReport`), `IndexRepair`, `SnapshotCopier`,
// `SnapshotDiff`, `TreeWalker`, `SnapshotVerifier` (restored metadata vs snapshot),
// `ImmutabilityMaintenance` (extend locks, purge expired versions), `Forgetting` (the one
// retention executor), `PackPrehasher`, `Excluder`, `OperationProgress`. Internal:
// `FileReader`, `BlockingExecutor`, `WorkQueue` / `JobQueue`, `FS` (byte-path POSIX helpers).
//
// Rules it keeps:
// - Backup saves the snapshot only after `BlobSaver.flush` (docs/design.md §11): the snapshot
//   is the commit point, so an interrupted backup leaves a repository that checks clean.
// - Every forget (CLI, plan retention, server retention) goes through `Forgetting.decide` and
//   `Forgetting.execute`; marks keep protected snapshots and clean points, with a reason.
// - `Pruner` and `IndexRepair` need the exclusive lock; prune refuses to run when any index
//   file, snapshot or tree cannot be read.
// - Structured concurrency only: fixed worker groups; the one unstructured task is
//   `PackPrehasher`'s, always awaited with `stop()`. Blocking calls run on `BlockingExecutor`.
// - Paths are bytes (`FS`, `PathBytes`): file names need not be UTF-8 or fit PATH_MAX.
//
// Imports: may import `LifeboatCore`, `LifeboatFormat`, `LifeboatStorage`, `LifeboatRepository`,
// `LifeboatPolicy`, `CLifeboatSystem`, `Logging`, `Foundation`. Used by LifeboatOps,
// LifeboatServer (`ServerMaintenance`), LifeboatDemo and LifeboatCLI.
//
// Where a change goes: how files become snapshots and back, and maintenance over snapshots.
// Rules for what may be written or removed belong in LifeboatRepository.
