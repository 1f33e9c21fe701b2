#ifndef LIFEBOAT_CSYSTEM_H
#define LIFEBOAT_CSYSTEM_H
// Linux system calls that the Glibc module does not expose to Swift.
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <sys/random.h>

/// Tunes glibc malloc for Lifeboat's buffers: blob-sized buffers stay in the heap (a fresh
/// mapping per call faults every page in again: measured 3-4x slower AEAD), pack-sized ones
/// are returned to the system, and arenas are capped so idle threads do not hold memory.
void lifeboat_tune_malloc(void);
/// Returns the free memory of every malloc arena to the system (glibc's malloc_trim): called
/// between the phases of an operation, when the buffers of the one that ended are all free.
void lifeboat_release_free_memory(void);

/// The open(2) flag O_DIRECT, which Glibc's Swift module does not export (it is a GNU flag,
/// and its value differs between architectures).
int lifeboat_o_direct(void);

/// Closes every descriptor from `from` up in a spawned child (glibc's
/// posix_spawn_file_actions_addclosefrom_np, a GNU extension Glibc's Swift module hides).
/// The argument is a posix_spawn_file_actions_t*.
int lifeboat_spawn_close_from(void *actions, int from);

static inline dev_t lifeboat_makedev(unsigned int major_, unsigned int minor_) {
  return makedev(major_, minor_);
}
#endif
