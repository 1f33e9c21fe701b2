// LifeboatFormat — pure bytes: how repository objects are encoded, compressed and encrypted.
//
// What it does: cuts file contents into chunks (FastCDC), derives a repository's keys and seals
// every object in an AEAD envelope, compresses blobs with zstd, and encodes and decodes packs,
// index files, trees, key files, the config, snapshots and marks. docs/design.md is its spec.
//
// Main types: `Chunker` (FastCDC, gear table from the repository's chunker seed),
// `RepositoryKeys` and `EnvelopeKey`, `Envelope` (seal/open with a `Purpose` per object kind),
// `StorageHash` and `SHA256Stream` (object names), `ZstdCompressor` / `ZstdDecompressor`,
// `PackFormat`, `PackBuilder`, `PackEntry`, `IndexFile`, `TreeFormat`, `KeyFile` and
// `KeyDerivation`, `RepositoryConfig`, `SnapshotFormat`, `MarkFormat`, `Rfc3339`,
// `ByteWriter` / `ByteReader`.
//
// Rules it keeps:
// - No I/O and no clock: bytes in, bytes out; times such as a key file's `created` are arguments.
// - Decoders refuse a version, magic, kind or flag they do not know instead of guessing
//   (docs/design.md §15); a change to stored bytes changes docs/design.md with it.
// - One key, one purpose: keys are derived from the master secret with distinct labels, and the
//   envelope's `Purpose` is bound into the key, so a snapshot never opens as a mark or config.
// - Decoders read untrusted bytes: they must not crash, hang, or let a declared length allocate
//   more than the input holds (DecoderFuzzTests feeds them `Mutator` output).
// - zstd contexts are used by one task at a time (`@unchecked Sendable` only for pooling).
//
// Imports: may import `LifeboatCore`, `CZstd`, `CLifeboatSystem`, `Crypto`, `_CryptoExtras`,
// `Foundation`. Used by LifeboatRepository and LifeboatEngine, and by LifeboatOps, LifeboatDemo
// and LifeboatCLI.
//
// Where a change goes: anything that changes bytes on storage — and docs/design.md with it.
