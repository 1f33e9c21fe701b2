#define _GNU_SOURCE
#include <fcntl.h>
#include "csystem.h"
#include <spawn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
void lifeboat_tune_malloc(void) {
#if defined(__GLIBC__)
  // Blob-sized buffers (up to a few MiB) are reused from the heap instead of being mapped and
  // faulted in on every call; pack-sized buffers (16 MiB) are mapped and given back at once.
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
  // Worker threads would otherwise each grow an arena of their own and keep it.
  mallopt(M_ARENA_MAX, 4);
#endif
}

void lifeboat_release_free_memory(void) {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

int lifeboat_o_direct(void) { return O_DIRECT; }

int lifeboat_spawn_close_from(void *actions, int from) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
#else
  (void)actions;
  (void)from;
  return 0;
#endif
}
