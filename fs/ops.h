/* ops: the low-level FUSE operations of wazofs (fuse_lowlevel.h): each request names a
 * node (nodes.h), is routed, decides who may do it, and is answered from memory, by one
 * system call on a copy, or later (a parked read of MOUNT/events, an rm -r of a plugin).
 */
#ifndef WAZOFS_OPS_H
#define WAZOFS_OPS_H
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops wazofs_ops;
/* The session the operations tell the kernel through (before it is mounted). */
void wazofs_ops_session(struct fuse_session *se);
/* Stops the threads that call into libfuse on their own (kernel cache drops, events
 * and poll wake-ups); after the daemon's threads stopped, before the session is
 * destroyed. Idempotent. */
void wazofs_ops_stop_threads(void);
#endif
