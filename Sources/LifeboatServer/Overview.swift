// LifeboatServer — `lifeboat serve`: a provider's console and append-only repository server.
//
// What it does: a Hummingbird 2 application with the JSON API (tenants, plans, runs, systems,
// findings, reports, repositories, approvals, tokens), the dashboard, the `rest:` repository
// endpoint, Prometheus `/metrics`, and maintenance (server-side retention, prune, quarantine,
// approved deletions and unprotects). State lives in LifeboatConsole; posture in
// LifeboatPosture, rendered here.
//
// Main types: `LifeboatServer` and `ServerApp` (the route table: every route with its `Access`
// rule), `Access`, `RepositoryEndpoint`, `ServerMaintenance`, `ServerMetrics`, `Dashboard`,
// `TenantView` (a tenant's posture, findings and storage), `OpenAPIDocument` (generated from the
// route table), `ServerConfiguration`.
//
// Rules it keeps:
// - Every route goes through `RouteTable.add` with its access rule and lands in the audit chain.
// - Clients of the repository endpoint can add objects (and `protect`/`suspicious` marks) but
//   never delete or lift a protection; deletions need a second, independent admin.
// - The server never decides a light: it renders `Posture.judge`, like the CLI and reports.
// - Time from the console's clock; request timings from `Stopwatch`.
//
// Imports: rank 6 (docs/architecture.md). Imported only by the CLI.
//
// Where a change goes: a new route in `ServerApp` (API), `RepositoryEndpoint` or `Dashboard`,
// always with its `Access`; docs/server.md with it.
