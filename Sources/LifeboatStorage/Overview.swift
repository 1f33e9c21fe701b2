// LifeboatStorage — where repository objects live: the `Backend` protocol and its providers.
//
// What it does: names the kinds of object a repository stores and defines the contract every
// storage provider keeps (docs in `Backend`). Provides a local directory and an in-memory
// backend, and decorators: retry with backoff, quarantine (undoable removal) and Object Lock.
// Knows objects and their names, not encryption, packs or snapshots.
//
// Main types: `Backend` (the protocol), `ObjectType`, `Handle`, `ObjectInfo`, `MarkName`,
// `StorageError` (a `Code`, `isNotFound`, `isPermanent`), `LocalBackend`, `MemoryBackend`,
// `RetryPolicy` and `RetryingBackend`, `QuarantiningBackend` and `Quarantine` (per-day copies,
// purge, restore), `ObjectLockingBackend`, `ImmutabilityPolicy`, `LockingBackend`, `LockMode`,
// `ObjectRetention`, `DirectIO` and `AlignedBuffer` (writes that bypass the page cache),
// `SystemIO`.
//
// Rules it keeps:
// - Every provider keeps the `Backend` contract: atomic saves, read-after-write, not-found as
//   `StorageError.isNotFound`, safe from many tasks; `BackendConformance` (LifeboatTesting)
//   checks it.
// - Object names follow `ObjectType.isValidName`: 64 hex digits (the SHA-256 of the bytes for
//   content), `<snapshot>-<kind>-<hash>` for marks; every backend and the server apply it.
// - Lock files (`locks/*`) are never written locked and never quarantined: they must go away.
// - Decorators forward `location` and `isRemote` of the backend they wrap.
// - Failures stay `StorageError`s here; the repository lifts them into `LifeboatError`.
//
// Imports: may import `LifeboatCore`, `CLifeboatSystem`, `Foundation`. Used by LifeboatS3 and
// LifeboatRemote (providers), LifeboatRepository, LifeboatEngine, LifeboatOps, LifeboatServer,
// LifeboatDemo, LifeboatCLI and LifeboatTesting.
//
// Where a change goes: a decorator (retry, read-only, quarantine) or a change to the contract.
// Network providers get their own module (S3 in LifeboatS3, `rest:` in LifeboatRemote).
