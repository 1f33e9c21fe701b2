// LifeboatBackends — the one place a repository location becomes a backend.
//
// What it does: maps a location string to the backend that serves it: a local path or
// `file://PATH` (`LocalBackend`), `s3:https://HOST/BUCKET[/PREFIX]` or `s3://BUCKET[/PREFIX]`
// (`S3Backend`), `rest:https://HOST[:PORT]/TENANT/REPOSITORY` (`RESTBackend`, retried). It is
// the composition root for storage: nothing else knows which module implements which scheme.
//
// Main types: `BackendFactory` (`kind(of:)`, `backend(for:environment:)`,
// `clientRetention(at:)`) and `BackendFactory.Kind` (local, s3, server).
//
// Rules it keeps:
// - A new kind of storage is one case here and nothing elsewhere; other modules open
//   repositories through `BackendFactory`, not by naming a provider.
// - Opening a backend does not touch storage; the first request does.
// - An unknown scheme (`x://`) is a usage error listing the forms that work, never a local path.
// - Clients apply no retention on a Lifeboat server's repositories: the server prunes them
//   (`clientRetention`, docs/design.md §17).
//
// Imports: may import `LifeboatCore`, `LifeboatStorage`, `LifeboatS3`, `LifeboatRemote`.
// Used by LifeboatOps (`RunContext`, `SystemRunner`: plans and the agent) and LifeboatCLI
// (`-r`, in GlobalOptions.swift).
//
// Where a change goes: a new location scheme or storage provider's wiring (its `Kind` case,
// its parse in `kind(of:)`, its opening in `backend(for:environment:)`). The provider itself
// lives in its own module (LifeboatStorage, LifeboatS3, LifeboatRemote).
