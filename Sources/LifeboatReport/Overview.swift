// LifeboatReport — reports people act on, each as self-contained HTML and as JSON.
//
// What it does: turns the plan and the catalog's history into the executive report (lights,
// downtime cost, the three leadership questions), the compliance pack (control, status,
// evidence, what is missing), the data-protection assessment (sizes, change, windows, storage,
// gaps by risk), and drill and runbook documents. HTML has inline CSS and generated SVG.
//
// Main types: `ExecutiveReport`, `ComplianceReport` (`Status`: met / partial / gap; `Control`),
// `Assessment`, `ReportWriter` (`render` and `write` a `ReportKind` in `ReportFormat`s),
// `ReportKind` (executive, compliance, drill, runbook, assessment), `ReportFormat` (html, json),
// `HTML` (page, escaping, lights, bar charts). Extensions give `DrillReport` and `Runbook` an
// `html` document.
//
// Rules it keeps:
// - Lights, reasons and findings come from `Posture.judge` (LifeboatPosture); a report renders
//   them and never judges a system itself.
// - HTML is self-contained: no JavaScript, no network, A4 pages; text from plans and the
//   catalog goes through `HTML.escape`.
// - The JSON carries the same facts as the HTML.
// - Evidence supports a control; the compliance pack never claims to certify compliance.
// - Each report's `make` is a pure function of (plan, history, audit, `now`); golden JSON in
//   LifeboatOpsTests pins the facts. Only `ReportWriter` reads the catalog and writes files.
//
// Imports: may import `LifeboatCore`, `LifeboatPlan`, `LifeboatCatalog`, `LifeboatPosture`,
// `LifeboatPolicy`, `Foundation`. Used by LifeboatServer (reports and documents on the
// dashboard) and LifeboatCLI (`lifeboat report`).
//
// Where a change goes: new report kinds (a `ReportKind` case and its renderer), controls,
// charts. A new colour rule goes in LifeboatPosture, not here.
