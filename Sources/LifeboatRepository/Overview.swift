// LifeboatRepository — a repository on a backend: keys, config, index, packs, snapshots, locks.
//
// What it does: creates and opens repositories (key files tried hinted, remembered, cheapest
// first), loads the index into a compact in-memory form, packs and uploads new blobs with
// their index files, loads blobs and trees, saves and lists snapshots, takes and refreshes
// locks, and reads and writes snapshot marks. Knows bytes and objects, not files.
//
// Main types: `Repository` (an open repository; `initialize`, `open`, `withLock`), `MasterIndex`
// (48 bytes per blob), `BlobSaver` / `BlobSaving` (packing, upload, index files),
// `RepositoryLock`, `LockInfo`, `LockWaiting`, `HeldLocks` (lock files to remove on interrupt),
// `KeyMemory` (which key opened a location last), `MarkBook` (a repository's marks: protection,
// suspicion, clean points), `SnapshotRemoval` (the one place a snapshot object is removed).
// Internal: `TreeCache` (decoded trees, pack prefetch).
//
// Rules it keeps:
// - Write order (docs/design.md §11): packs, then index files naming them, then the snapshot.
// - Opening never writes. A lock is held only through `withLock`, which refreshes it while the
//   body runs and releases it however the body ends.
// - A lock file is registered in `HeldLocks` before it is written and forgotten only after it
//   is removed, so an interrupt removes every lock this process wrote.
// - Every removal of a snapshot goes through `SnapshotRemoval`, which refuses a protected one
//   and removes nothing if any is refused. Marks are never edited: a later mark supersedes.
// - `StorageError` becomes `LifeboatError` here (`Repository.storage`). Lock times (created,
//   refreshed, stale) come from the repository's `WallClock`.
//
// Imports: may import `LifeboatCore`, `LifeboatFormat`, `LifeboatStorage`, `Logging`,
// `Foundation`. Used by LifeboatEngine, LifeboatOps, LifeboatServer, LifeboatDemo, LifeboatCLI.
//
// Where a change goes: repository-level rules: write ordering, locking, key files, marks, and
// what maintenance may remove (docs/design.md §11, §12, §18). The pipelines that run it
// (`Pruner`, `SnapshotCopier`, `Forgetting`) are in LifeboatEngine.
