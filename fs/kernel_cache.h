/* kernel_cache: lets the kernel keep names and attributes of the tree (entry and attr
 * timeouts above 0) and drops them whenever the core says a path changed.
 *
 * The core tells each changed path while holding its locks, and a FUSE request must
 * never wait for the kernel to drop a cache (the kernel may be waiting for that very
 * request), so the paths go to a queue and one thread of its own hands them to
 * fuse_invalidate_path. That thread holds no lock of the core or of a request while it
 * does. The worker waits for the queue to drain when a job ends (bounded), so the end
 * of a job is seen at the next read. The same drop takes the kernel's copy of a view's
 * text (the page cache) for views whose every change is told (struct view's cacheable);
 * the others (a log being written, MOUNT/status) are read anew each time (direct_io). */
#ifndef WAZOFS_KERNEL_CACHE_H
#define WAZOFS_KERNEL_CACHE_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include "daemon/daemon.h"
#include <fuse.h>

/* How long the kernel may keep a name or attributes without asking (seconds). */
#define KERNEL_CACHE_TIMEOUT 10.0

/* From the init callback: starts the thread and registers the core's hooks. */
int kernel_cache_start(struct fuse *f, struct daemon *p);
/* Whether changes told are still waiting to be dropped (a poll() then waits for them). */
int kernel_cache_pending(void);
/* Ends the thread (bounded: it gives up on a kernel that does not answer). */
void kernel_cache_stop(void);
#endif
