/* session_loop: the multi-threaded FUSE loop. One thread at a time reads /dev/fuse (it
 * holds a lock while it waits), so a request wakes exactly one waiting thread, the same
 * one while requests come one by one; a thread that takes a request while no other is
 * left to read starts one more (up to max_threads), so a request that waits (a read of
 * MOUNT/events, an `rm -r` running dpkg) never holds up the others. Idle threads beyond
 * max_idle end. libfuse's own loop lets every idle thread wait on /dev/fuse: on this
 * 2-core machine that made each request of `cat` over 1000 status files cost ~40 %
 * more (scripts/bench-tree.sh). */
#ifndef WAZOFS_SESSION_LOOP_H
#define WAZOFS_SESSION_LOOP_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>

/* Runs until the session ends (unmount, or a termination signal handled by
 * fuse_set_signal_handlers) and every thread has finished its request. */
int session_loop_run(struct fuse_session *se, unsigned max_threads, unsigned max_idle);
#endif
