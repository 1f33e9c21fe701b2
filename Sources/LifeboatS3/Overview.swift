// LifeboatS3 — the S3 backend: repository objects as keys in a bucket, with Object Lock.
//
// What it does: parses `s3:` locations and resolves credentials and region the way the AWS
// tools do, signs requests with SigV4, sends them through AsyncHTTPClient with retries, and
// implements `ObjectLockingBackend`: objects, multipart uploads, locks, retained versions.
// Kept apart so the NIO/HTTP stack stays out of the modules below it.
//
// Main types: `S3Backend` (the backend; `open` from a URL and an environment), `S3Location`
// (parsed `s3:https://host/bucket[/prefix]` or `s3://bucket[/prefix]`), `S3Environment`
// (credentials and region), `S3Credentials`, `SigV4Signer`, `S3Options` (connections, part
// size, timeouts, canned ACL, clock offset). Internal: `S3Client` (one signed, retried exchange,
// errors classified into `StorageError`), `S3HTTP` (shared HTTP clients), `XMLElement`.
//
// Rules it keeps:
// - Key layout matches the local backend's folders under the prefix: `config`, `keys/`,
//   `data/XX/`, `index/`, `snapshots/`, `locks/`, `marks/`; other keys are not objects.
// - A content-addressed object's name is its signed payload hash, so the server refuses a body
//   that does not match its name.
// - After a multipart upload the lock is read back and set again when the server dropped it
//   (docs/design.md §16). On a versioned bucket `remove` adds a delete marker; `purge` deletes
//   a retained version for good, and callers pass only versions whose lock has run out.
// - The secret key never appears in messages: `S3Credentials.description` shows the key ID.
// - Response XML goes through its own reader (S3XML.swift), never FoundationXML; a DOCTYPE is
//   refused. Each attempt of a retried request is signed anew, with the client's `WallClock`.
//
// Imports: may import `LifeboatCore`, `LifeboatStorage`, `Crypto`, `AsyncHTTPClient`,
// `NIOCore`, `NIOHTTP1`, `NIOSSL`, `Foundation`. Used where `s3:` locations are opened
// (LifeboatBackends), by LifeboatDemo (its offsite bucket) and LifeboatCLI (`init` creates buckets).
//
// Where a change goes: S3 protocol details and S3-compatible servers' quirks. What a repository
// does with immutability belongs in LifeboatEngine (`ImmutabilityMaintenance`).
