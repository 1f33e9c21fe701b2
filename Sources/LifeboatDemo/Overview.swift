// LifeboatDemo — the `make demo` story: a school district protected for a simulated week.
//
// What it does: generates a fictional district's data (a student information system with a
// database dump and files, finance, staff documents, an archive), writes a plan with three
// tiers and two repositories, runs a week of scheduled backups, copies and retention hour by
// hour, drills every system, stages a ransomware attack that the signals catch, restores the
// clean point, and leaves the evidence in the catalog for the reports.
//
// Main types: `DistrictDemo` (the story; `run` returns the plan), `SteppingClock` (a
// `WallClock` the demo moves forward by hand), `DemoRandom` (seeded data: the same district
// every run).
//
// Rules it keeps:
// - Only `lifeboat demo` (LifeboatCLI) and `DemoTests` use it; no other module imports it, so
//   nothing in the product depends on the story.
// - It runs the product's own paths (`SystemRunner`, `DrillRunner`, `PlanStatus.due`, the plan
//   loader and the catalog); the story adds data and time, not behaviour.
// - Data comes from `DemoRandom` (the same district every run), time from `SteppingClock`; the
//   simulated week ends at the current hour (S3 refuses Object Lock dates in the past).
// - Offsite is an S3 bucket with Object Lock when one is given, a second local disk otherwise.
//
// Imports: may import `LifeboatCore`, `LifeboatPlan`, `LifeboatCatalog`, `LifeboatPosture`,
// `LifeboatEngine`, `LifeboatRepository`, `LifeboatStorage`, `LifeboatS3`, `LifeboatPolicy`,
// `LifeboatFormat`, `LifeboatOps`, `Synchronization`, `Foundation`. Used by LifeboatCLI
// (`lifeboat demo`, run by scripts/demo.sh) and LifeboatOpsTests (`DemoTests`).
//
// Where a change goes: the demo's story (its data, plan, week and attack). A behaviour the story
// needs belongs in the module that owns it, not here.
