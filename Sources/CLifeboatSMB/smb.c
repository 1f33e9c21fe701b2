#define _GNU_SOURCE
#include "lifeboat_smb.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

// libsmbclient's ABI, declared here so that building Lifeboat needs no Samba package (the
// library is found with dlopen at run time). The layouts are those of libsmbclient.so.0
// (Samba 4.x; the soname guards them).
typedef struct lb_smbc_ctx SMBCCTX;
typedef struct lb_smbc_file SMBCFILE;
typedef int smbc_bool;
struct libsmb_file_info {
  uint64_t size;
  uint16_t attrs;
  uid_t uid;
  gid_t gid;
  struct timespec btime_ts;
  struct timespec mtime_ts;
  struct timespec atime_ts;
  struct timespec ctime_ts;
  char *name;
  char *short_name;
};
typedef void (*smbc_get_auth_data_with_context_fn)(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen,
                                                   char *un, int unlen, char *pw, int pwlen);
typedef int (*smbc_stat_fn)(SMBCCTX *c, const char *fname, struct stat *st);
typedef SMBCFILE *(*smbc_opendir_fn)(SMBCCTX *c, const char *fname);
typedef const struct libsmb_file_info *(*smbc_readdirplus2_fn)(SMBCCTX *c, SMBCFILE *dir, struct stat *st);
typedef int (*smbc_closedir_fn)(SMBCCTX *c, SMBCFILE *dir);
typedef SMBCFILE *(*smbc_open_fn)(SMBCCTX *c, const char *fname, int flags, mode_t mode);
typedef ssize_t (*smbc_read_fn)(SMBCCTX *c, SMBCFILE *file, void *buf, size_t count);
typedef ssize_t (*smbc_write_fn)(SMBCCTX *c, SMBCFILE *file, const void *buf, size_t count);
typedef int (*smbc_fstat_fn)(SMBCCTX *c, SMBCFILE *file, struct stat *st);
typedef int (*smbc_close_fn)(SMBCCTX *c, SMBCFILE *file);
typedef int (*smbc_getxattr_fn)(SMBCCTX *c, const char *fname, const char *name, const void *value, size_t size);
typedef int (*smbc_setxattr_fn)(SMBCCTX *c, const char *fname, const char *name, const void *value, size_t size,
                                int flags);
typedef int (*smbc_mkdir_fn)(SMBCCTX *c, const char *fname, mode_t mode);
typedef int (*smbc_unlink_fn)(SMBCCTX *c, const char *fname);
typedef int (*smbc_utimes_fn)(SMBCCTX *c, const char *fname, struct timeval *tbuf);

// The libsmbclient functions used, resolved by dlsym.
static struct {
  SMBCCTX *(*new_context)(void);
  SMBCCTX *(*init_context)(SMBCCTX *);
  int (*free_context)(SMBCCTX *, int);
  void (*set_auth)(SMBCCTX *, smbc_get_auth_data_with_context_fn);
  void (*set_user_data)(SMBCCTX *, void *);
  void *(*get_user_data)(SMBCCTX *);
  void (*set_timeout)(SMBCCTX *, int);
  void (*set_no_anonymous)(SMBCCTX *, smbc_bool);
  void (*set_debug)(SMBCCTX *, int);
  smbc_stat_fn (*stat)(SMBCCTX *);
  smbc_opendir_fn (*opendir)(SMBCCTX *);
  smbc_readdirplus2_fn (*readdirplus2)(SMBCCTX *);
  smbc_closedir_fn (*closedir)(SMBCCTX *);
  smbc_open_fn (*open)(SMBCCTX *);
  smbc_read_fn (*read)(SMBCCTX *);
  smbc_write_fn (*write)(SMBCCTX *);
  smbc_fstat_fn (*fstat)(SMBCCTX *);
  smbc_close_fn (*close)(SMBCCTX *);
  smbc_getxattr_fn (*getxattr)(SMBCCTX *);
  smbc_setxattr_fn (*setxattr)(SMBCCTX *);
  smbc_mkdir_fn (*mkdir)(SMBCCTX *);
  smbc_unlink_fn (*unlink)(SMBCCTX *);
  smbc_utimes_fn (*utimes)(SMBCCTX *);
} lib;

// Debian's libsmbclient is built without thread support (no smbc_thread_posix): its talloc
// stack frames and loadparm state are process-wide. Every call into it holds this lock, so
// contexts may be used from any thread; work between calls (chunking, hashing) still overlaps.
static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCKED(expr)                        \
  ({                                        \
    pthread_mutex_lock(&library_lock);      \
    __typeof__(expr) _r = (expr);           \
    int _e = errno;                         \
    pthread_mutex_unlock(&library_lock);    \
    errno = _e;                             \
    _r;                                     \
  })

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int loaded = -1;

#define RESOLVE(field, symbol)                                                    \
  do {                                                                            \
    *(void **)(&lib.field) = dlsym(handle, symbol);                               \
    if (!lib.field) {                                                             \
      snprintf(load_error, sizeof load_error, "libsmbclient has no %s", symbol);  \
      return;                                                                     \
    }                                                                             \
  } while (0)

static void load(void) {
  void *handle = dlopen("libsmbclient.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!handle) handle = dlopen("libsmbclient.so", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    snprintf(load_error, sizeof load_error, "%s", dlerror());
    return;
  }
  RESOLVE(new_context, "smbc_new_context");
  RESOLVE(init_context, "smbc_init_context");
  RESOLVE(free_context, "smbc_free_context");
  RESOLVE(set_auth, "smbc_setFunctionAuthDataWithContext");
  RESOLVE(set_user_data, "smbc_setOptionUserData");
  RESOLVE(get_user_data, "smbc_getOptionUserData");
  RESOLVE(set_timeout, "smbc_setTimeout");
  RESOLVE(set_no_anonymous, "smbc_setOptionNoAutoAnonymousLogin");
  RESOLVE(set_debug, "smbc_setDebug");
  RESOLVE(stat, "smbc_getFunctionStat");
  RESOLVE(opendir, "smbc_getFunctionOpendir");
  RESOLVE(readdirplus2, "smbc_getFunctionReaddirPlus2");
  RESOLVE(closedir, "smbc_getFunctionClosedir");
  RESOLVE(open, "smbc_getFunctionOpen");
  RESOLVE(read, "smbc_getFunctionRead");
  RESOLVE(write, "smbc_getFunctionWrite");
  RESOLVE(fstat, "smbc_getFunctionFstat");
  RESOLVE(close, "smbc_getFunctionClose");
  RESOLVE(getxattr, "smbc_getFunctionGetxattr");
  RESOLVE(setxattr, "smbc_getFunctionSetxattr");
  RESOLVE(mkdir, "smbc_getFunctionMkdir");
  RESOLVE(unlink, "smbc_getFunctionUnlink");
  RESOLVE(utimes, "smbc_getFunctionUtimes");
  loaded = 0;
}

int lb_smb_load(char *err, size_t errlen) {
  pthread_once(&once, load);
  if (loaded != 0 && err && errlen) snprintf(err, errlen, "%s", load_error);
  return loaded;
}

struct lb_smb {
  SMBCCTX *ctx;
  char *user;
  char *password;
  char *domain;
};

static void copy_field(char *to, int len, const char *from) {
  if (len <= 0) return;
  snprintf(to, (size_t)len, "%s", from ? from : "");
}

// libsmbclient asks for credentials per server and share; the handle's are given.
static void auth(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un, int unlen, char *pw,
                 int pwlen) {
  (void)srv;
  (void)shr;
  lb_smb *h = lib.get_user_data(c);
  if (!h) return;
  if (h->domain && h->domain[0]) copy_field(wg, wglen, h->domain);
  copy_field(un, unlen, h->user);
  copy_field(pw, pwlen, h->password);
}

lb_smb *lb_smb_new(const char *user, const char *password, const char *domain, int timeout_ms, int *error) {
  if (lb_smb_load(NULL, 0) != 0) {
    *error = -ENOSYS;
    return NULL;
  }
  lb_smb *h = calloc(1, sizeof *h);
  if (!h) {
    *error = -ENOMEM;
    return NULL;
  }
  h->user = strdup(user ? user : "");
  h->password = strdup(password ? password : "");
  h->domain = strdup(domain ? domain : "");
  pthread_mutex_lock(&library_lock);
  SMBCCTX *ctx = lib.new_context();
  if (!ctx) {
    *error = -(errno ? errno : ENOMEM);
    pthread_mutex_unlock(&library_lock);
    lb_smb_free(h);
    return NULL;
  }
  lib.set_debug(ctx, 0);
  lib.set_user_data(ctx, h);
  lib.set_auth(ctx, auth);
  lib.set_timeout(ctx, timeout_ms);
  lib.set_no_anonymous(ctx, 1);
  if (!lib.init_context(ctx)) {
    *error = -(errno ? errno : EINVAL);
    lib.free_context(ctx, 1);
    pthread_mutex_unlock(&library_lock);
    lb_smb_free(h);
    return NULL;
  }
  pthread_mutex_unlock(&library_lock);
  h->ctx = ctx;
  return h;
}

void lb_smb_free(lb_smb *h) {
  if (!h) return;
  if (h->ctx) {
    pthread_mutex_lock(&library_lock);
    lib.free_context(h->ctx, 1);
    pthread_mutex_unlock(&library_lock);
  }
  if (h->password) {
    explicit_bzero(h->password, strlen(h->password));
    free(h->password);
  }
  free(h->user);
  free(h->domain);
  free(h);
}

#define FAIL_IF(cond) \
  if (cond) return -(errno ? errno : EIO)

int lb_smb_stat(lb_smb *h, const char *url, struct stat *st) {
  errno = 0;
  FAIL_IF(LOCKED(lib.stat(h->ctx)(h->ctx, url, st)) < 0);
  return 0;
}

int lb_smb_opendir(lb_smb *h, const char *url, void **dir) {
  errno = 0;
  SMBCFILE *d = LOCKED(lib.opendir(h->ctx)(h->ctx, url));
  FAIL_IF(!d);
  *dir = d;
  return 0;
}

int lb_smb_readdir(lb_smb *h, void *dir, const char **name, struct stat *st, uint16_t *attributes) {
  for (;;) {
    errno = 0;
    const struct libsmb_file_info *info = LOCKED(lib.readdirplus2(h->ctx)(h->ctx, dir, st));
    if (!info) return errno ? -errno : 0;
    if (!info->name) continue;
    if (strcmp(info->name, ".") == 0 || strcmp(info->name, "..") == 0) continue;
    *name = info->name;
    *attributes = info->attrs;
    return 1;
  }
}

int lb_smb_closedir(lb_smb *h, void *dir) {
  errno = 0;
  FAIL_IF(LOCKED(lib.closedir(h->ctx)(h->ctx, dir)) < 0);
  return 0;
}

int lb_smb_open(lb_smb *h, const char *url, int flags, mode_t mode, void **file) {
  errno = 0;
  SMBCFILE *f = LOCKED(lib.open(h->ctx)(h->ctx, url, flags, mode));
  FAIL_IF(!f);
  *file = f;
  return 0;
}

ssize_t lb_smb_read(lb_smb *h, void *file, void *buf, size_t count) {
  errno = 0;
  ssize_t n = LOCKED(lib.read(h->ctx)(h->ctx, file, buf, count));
  FAIL_IF(n < 0);
  return n;
}

ssize_t lb_smb_write(lb_smb *h, void *file, const void *buf, size_t count) {
  errno = 0;
  ssize_t n = LOCKED(lib.write(h->ctx)(h->ctx, file, buf, count));
  FAIL_IF(n < 0);
  return n;
}

int lb_smb_fstat(lb_smb *h, void *file, struct stat *st) {
  errno = 0;
  FAIL_IF(LOCKED(lib.fstat(h->ctx)(h->ctx, file, st)) < 0);
  return 0;
}

int lb_smb_close(lb_smb *h, void *file) {
  errno = 0;
  FAIL_IF(LOCKED(lib.close(h->ctx)(h->ctx, file)) < 0);
  return 0;
}

ssize_t lb_smb_getxattr(lb_smb *h, const char *url, const char *name, void *value, size_t size) {
  errno = 0;
  int n = LOCKED(lib.getxattr(h->ctx)(h->ctx, url, name, value, size));
  FAIL_IF(n < 0);
  return n;
}

int lb_smb_setxattr(lb_smb *h, const char *url, const char *name, const void *value, size_t size) {
  errno = 0;
  FAIL_IF(LOCKED(lib.setxattr(h->ctx)(h->ctx, url, name, value, size, 0)) < 0);
  return 0;
}

int lb_smb_mkdir(lb_smb *h, const char *url, mode_t mode) {
  errno = 0;
  FAIL_IF(LOCKED(lib.mkdir(h->ctx)(h->ctx, url, mode)) < 0);
  return 0;
}

int lb_smb_unlink(lb_smb *h, const char *url) {
  errno = 0;
  FAIL_IF(LOCKED(lib.unlink(h->ctx)(h->ctx, url)) < 0);
  return 0;
}

int lb_smb_utimes(lb_smb *h, const char *url, int64_t mtime_sec, int32_t mtime_usec) {
  struct timeval tv[2];
  tv[0].tv_sec = (time_t)mtime_sec;
  tv[0].tv_usec = mtime_usec;
  tv[1] = tv[0];
  errno = 0;
  FAIL_IF(LOCKED(lib.utimes(h->ctx)(h->ctx, url, tv)) < 0);
  return 0;
}
