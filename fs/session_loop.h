/* session_loop: the multi-threaded FUSE loop. One thread at a time reads /dev/fuse (it
 * holds a lock while it waits), so a request wakes exactly one waiting thread, the same
 * one while requests come one by one. It answers a request served from memory itself
 * (lookups, attributes, opens, listings) and reads on; before any other request (a read
 * of MOUNT/events, which waits; an `rm -r` running dpkg; a write) it hands the reading
 * to another thread (starting one, up to max_threads, when none is free), so a request
 * that waits never holds up the others. While a request that write-locks a path in
 * libfuse (unlink, rmdir, rename) is under way, every request is handed over: one on
 * that path waits for the lock, and must not wait in the reading thread. Idle threads
 * beyond max_idle end. libfuse's own loop lets every idle thread wait on /dev/fuse: on
 * this 2-core machine that made `ls -l` and `cat` over 1000 status files ~20 % slower
 * (scripts/bench-tree.sh). */
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
