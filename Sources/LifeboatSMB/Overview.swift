// LifeboatSMB — Windows file servers and NAS shares over SMB, through libsmbclient (loaded
// with dlopen by the C shim CLifeboatSMB, so the binary needs Samba's client library only
// where a share is used).
//
// - `SMBLocation`: `smb://server[:port]/share[/path]`, its URL for each file and where it
//   appears in a snapshot (`/smb/server/share/path`).
// - `SMBConnection`: a small pool of libsmbclient contexts signed in with one account (one
//   context per thread at a time); errno values turned into `RemoteTreeError`s that say
//   whether the share went away.
// - `SMBTree`: the engine's `RemoteTree` — listing with stat in one call (readdirplus2), the
//   security descriptor and DOS attributes as `lifeboat.smb.*` metadata.
// - `ShareRestorer`: a snapshot folder written back to a share with its ACLs, attributes and
//   times.
//
// Rules: credentials come from the plan's references or the environment, never a URL; a
// context is used by one thread at a time; a lost connection stops a backup (no snapshot).
// docs/sources.md describes SMB sources.
