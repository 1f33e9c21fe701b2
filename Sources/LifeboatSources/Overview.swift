// LifeboatSources — what a backup reads besides files on local disk: databases.
//
// Job: dump PostgreSQL (`pg_dump` custom format inside an exported snapshot, so the row counts
// and the dump see the same data), MariaDB/MySQL (`mariadb-dump --single-transaction`) and
// SQLite (the online backup API) into files the backup stores under `databases/`, each with a
// counts file (`DatabaseManifest`: every table's rows, and MariaDB's CHECKSUM TABLE); and prove
// such a dump in a drill (`DatabaseProof`): start a throwaway server of the same engine in a
// private folder, restore the dump into it, and count again.
//
// Main types: `DatabaseBackup` (prepare before the backup, `finish` after; the files it yields),
// `DatabaseManifest` (the counts file's format), `DatabaseProof` (the drill's check),
// `ToolRunner` (processes with a timeout and the tail of their complaints), `SecretFiles`
// (0600 files in a 0700 folder for PGPASSFILE and MariaDB's option file, removed after).
//
// Rules: a password never appears in an argument, a log or a world-readable file; every
// failure names the source and what the engine said; a throwaway server listens on no
// network port (Unix socket in a private folder) and is stopped and removed on every path.
// Where a change goes: a new engine is a new file with its own prepare and proof, and a case
// in `DatabaseSource.Engine` (LifeboatPlan).
