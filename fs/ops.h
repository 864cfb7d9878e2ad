/* ops: the FUSE operations table of wazofs. Each operation routes the path, calls one
 * core function (or the incoming/ backing store) and returns 0 or -errno. */
#ifndef WAZOFS_OPS_H
#define WAZOFS_OPS_H
#define FUSE_USE_VERSION 314
#include <fuse.h>

extern const struct fuse_operations wazofs_ops;
/* Stops the threads that call into libfuse on their own (kernel cache drops, poll
 * wake-ups); after the daemon's threads stopped, before fuse_destroy. Idempotent. */
void wazofs_ops_stop_threads(void);
#endif
