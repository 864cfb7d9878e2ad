/* kernel_cache: lets the kernel keep names and attributes of the tree (entry and attr
 * timeouts above 0) and drops them whenever the core says a path changed.
 *
 * The core tells each changed path while holding its locks, and a FUSE request must
 * never wait for the kernel to drop a cache (the kernel may be waiting for that very
 * request), so the paths go to a queue and one thread of its own hands them to
 * the kernel (fuse_lowlevel_notify_inval_inode and _entry on the nodes the kernel holds).
 * That thread holds no lock of the core or of a request while it
 * does. The worker waits for the queue to drain when a job ends (bounded), so the end
 * of a job is seen at the next read. The same drop takes the kernel's copy of a view's
 * text (the page cache) for views whose every change is told (struct view's cacheable);
 * the others (a log being written, MOUNT/status) are read anew each time (direct_io). */
#ifndef WAZOFS_KERNEL_CACHE_H
#define WAZOFS_KERNEL_CACHE_H
#include "daemon/daemon.h"
#include <fuse_lowlevel.h>

/* How long the kernel may keep a name or attributes without asking (seconds). */
#define KERNEL_CACHE_TIMEOUT 10.0

/* From the init callback: starts the thread and registers the core's hooks. exists
 * says whether a path of the rendered tree is there now (a name gone is dropped too). */
int kernel_cache_start(struct fuse_session *se, struct daemon *p, int (*exists)(const char *path));
/* Whether changes told are still waiting to be dropped (a poll() then waits for them). */
int kernel_cache_pending(void);
/* Ends the thread (bounded: it gives up on a kernel that does not answer). */
void kernel_cache_stop(void);
#endif
