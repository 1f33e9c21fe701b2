// LifeboatConsole — the state of a provider's server, without HTTP.
//
// What it does: stores client organizations (tenants), the people and agents who may act on
// them (principals with hashed API tokens and roles), dashboard sessions, the repositories the
// server keeps, four-eyes approvals, and ingests agents' reported runs into each tenant's
// catalog. Lays out the server's data directory (see the header of Console.swift).
//
// Main types: `Console` (the store: tenants, principals, `authenticate`, sessions,
// repositories, `requestApproval` / `decide` / `finishApproval`, `ingest`, the server's own
// `audit` chain), `Tenant`, `Principal`, `Role` (admin, operator, auditor, backup), `Session`,
// `StoredRepository`, `Approval` (`State`, `Action`), `ConsoleError`.
//
// Rules it keeps:
// - Tokens and session cookies are stored only as SHA-256 hashes; only a token's prefix is
//   kept in clear, so people can tell tokens apart.
// - Four eyes: an approval is decided by an admin independent of the requester (`dependence`:
//   another person, not in the requester's chain of tokens, existing before the request).
// - Tenants, tokens, logins, repositories, approvals and ingested runs each leave an audit event.
// - Reported runs are idempotent per (source, the agent's job id): a job sent again updates.
// - Time comes from the `WallClock` given to `Console`; files are kept private (0700 / 0600).
//
// Imports: may import `LifeboatCore`, `LifeboatCatalog`, `GRDB`, `Crypto`, `Foundation`.
// Used by LifeboatServer (every route) and LifeboatCLI (`serve`, `--new-admin-token`).
//
// Where a change goes: who may exist and act on the server, and new stored state (a migration,
// and the schema in docs/server.md). Routes and their `Access` rules are LifeboatServer.
