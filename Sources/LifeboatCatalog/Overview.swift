// LifeboatCatalog — the evidence store: every job Lifeboat ran, and a hash-chained audit log.
//
// What it does: keeps one organization's catalog in SQLite (GRDB, WAL, `synchronous = FULL`):
// a row per job (backup, copy, forget, prune, check, drill) with its outcome and typed facts,
// and an append-only audit log whose events are chained by SHA-256 and checked by
// `verifyAudit`. Schema and hash definition: docs/catalog.md.
//
// Main types: `Catalog` (open and migrate; `start`/`finish` jobs, `jobs`, `audit`,
// `recordPlanVersion`, `verifyAudit`, `markAbandoned`), `JobRecord` (one job; `Outcome`),
// `DrillVerdict` (a drill's verdict, a typed column), `AuditEvent`, `AuditVerification`,
// `RunBatch` (the jobs an agent reports to a server). `JSONEncoder.drill` / `JSONDecoder.drill`
// fix the date form shared by `details`, the reports and the server's API.
//
// Rules it keeps:
// - The audit log is append-only: SQLite triggers refuse UPDATE and DELETE; each event hashes
//   the one before it, so an edited, deleted or reordered event is found.
// - Schema changes are new named migrations applied in order; a catalog is never migrated down.
// - Verdict, recovery time and the ransomware flag are typed columns, never re-read from
//   `details` text (older rows are lifted once by a migration).
// - Times are arguments (`time:`, `started`); the catalog does not read the clock.
// - It parses no plan and opens no repository: a plan change is recorded as its file's SHA-256.
//
// Imports: may import `LifeboatCore`, `GRDB`, `Crypto`, `Foundation`. Used by LifeboatPosture,
// LifeboatReport, LifeboatOps, LifeboatConsole (each tenant's catalog and the server's own
// audit chain), LifeboatServer, LifeboatDemo and LifeboatCLI.
//
// Where a change goes: new job facts (a migration, and docs/catalog.md) and new audit event
// kinds.
