// A thin C shim over libsmbclient (Samba), loaded with dlopen the first time an SMB source or
// target is used: the lifeboat binary itself does not depend on libsmbclient. One handle is
// one libsmbclient context (one connection per server); a context must be used by one thread
// at a time. Every call returns 0 / a count, or -errno.
#ifndef LIFEBOAT_SMB_H
#define LIFEBOAT_SMB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct lb_smb lb_smb;

/// Loads libsmbclient once; 0 when it is there, else -1 with the reason in `err`.
int lb_smb_load(char *err, size_t errlen);

/// A new context signed in as user/password (domain may be empty). `timeout_ms` bounds each
/// network operation. NULL with *error set (-errno) when it cannot be made.
lb_smb *lb_smb_new(const char *user, const char *password, const char *domain, int timeout_ms, int *error);
void lb_smb_free(lb_smb *h);

int lb_smb_stat(lb_smb *h, const char *url, struct stat *st);

/// Directory listing: open, then entries with their stat (readdirplus2) until 0, then close.
int lb_smb_opendir(lb_smb *h, const char *url, void **dir);
/// 1 with an entry (name points into libsmbclient's buffer until the next call) and its DOS
/// attributes (read-only 0x1, hidden 0x2, system 0x4, archive 0x20, …), 0 at the end,
/// -errno on failure.
int lb_smb_readdir(lb_smb *h, void *dir, const char **name, struct stat *st, uint16_t *attributes);
int lb_smb_closedir(lb_smb *h, void *dir);

int lb_smb_open(lb_smb *h, const char *url, int flags, mode_t mode, void **file);
ssize_t lb_smb_read(lb_smb *h, void *file, void *buf, size_t count);
ssize_t lb_smb_write(lb_smb *h, void *file, const void *buf, size_t count);
int lb_smb_fstat(lb_smb *h, void *file, struct stat *st);
int lb_smb_close(lb_smb *h, void *file);

/// The value's length, or -errno. With size 0 only the length.
ssize_t lb_smb_getxattr(lb_smb *h, const char *url, const char *name, void *value, size_t size);
int lb_smb_setxattr(lb_smb *h, const char *url, const char *name, const void *value, size_t size);
int lb_smb_mkdir(lb_smb *h, const char *url, mode_t mode);
int lb_smb_unlink(lb_smb *h, const char *url);
/// Sets the access and modification times (seconds and microseconds).
int lb_smb_utimes(lb_smb *h, const char *url, int64_t mtime_sec, int32_t mtime_usec);

#endif
