// LifeboatTesting — test support shared by every test target; never linked into the program.
//
// What it does: seeded randomness and fixture trees with every kind of file a restore must get
// right, a byte-and-metadata tree comparison, backends that count reads or inject faults, a
// manual clock, the backend conformance suite, mutation fuzzing for decoders, and access to
// the peers the tests run against (the S3 test server, the AWS CLI, sqlite3, headless Chromium).
//
// Main types: `SeededRandom`, `ManualClock` (a `WallClock` the test advances),
// `TemporaryDirectory`, `FixtureTree`, `TreeComparison`, `FaultInjectingBackend` (failing
// saves, flipped bits), `CountingBackend` (bytes read per object type), `BackendConformance`
// (the `Backend` contract as checks), `Mutator` (seeded mutations of valid inputs),
// `offThePool` (blocking waits on a Dispatch thread), `S3TestServer` (the RADOS Gateway from
// scripts/s3-server.sh), `Subprocess`, `Chromium` (layout probe, screenshots).
//
// Rules it keeps:
// - Deterministic: randomness is seeded (`SeededRandom`, built on `SplitMix64`) so every failure
//   can be replayed; a test that needs time drives a `ManualClock`.
// - A missing peer (S3 server, Chromium, PostgreSQL) skips a test on a developer's machine but
//   fails it under CI (`CI` set): nothing passes silently there.
// - Blocking waits (a child process waited for) go through `offThePool`, so they do not starve
//   the in-process servers of other tests on Swift's cooperative pool.
// - Only test targets depend on it; the `lifeboat` executable must not.
//
// Imports: may import `LifeboatCore`, `LifeboatStorage`, `CLifeboatSystem`, `Crypto`,
// `Foundation`. Used by every test target under Tests/ (LifeboatFormatTests through
// LifeboatCLITests); no module under Sources imports it.
//
// Where a change goes: new fixtures, fault kinds and test peers. A new backend provider's tests
// call `BackendConformance.run`.
