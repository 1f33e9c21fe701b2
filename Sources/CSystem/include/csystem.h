#ifndef LIFEBOAT_CSYSTEM_H
#define LIFEBOAT_CSYSTEM_H
// Linux system calls that the Glibc module does not expose to Swift.
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <sys/random.h>

/// Keeps large (~1-16 MiB) buffers inside the heap instead of mmap/munmap on every call,
/// which otherwise faults every page in again (measured: 3-4x slower AEAD on fresh buffers).
void lifeboat_tune_malloc(void);

static inline dev_t lifeboat_makedev(unsigned int major_, unsigned int minor_) {
  return makedev(major_, minor_);
}
#endif
