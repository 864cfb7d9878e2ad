/* incoming_tracker: decides when a copy into incoming/ is complete. Every change to an
 * entry records the writing process (as a pidfd); the entry is complete when no file of
 * it is open and either every writer has exited and settle_ms passed with no change,
 * or quiet_ms passed with no change at all (a writer that stays alive). Thread-safe
 * (its own mutex); no callbacks. */
#ifndef WAZOFS_INCOMING_TRACKER_H
#define WAZOFS_INCOMING_TRACKER_H
#include "base/name_list.h"
#include <sys/types.h>

struct incoming_tracker;

struct incoming_tracker *tracker_new(unsigned settle_ms, unsigned quiet_ms);
void tracker_free(struct incoming_tracker *t);
/* A change to entry by process pid (0: unknown). Returns 1 when it is news to the one
 * waiting on tracker_poll_set (a new entry, a pending one again, a new writer to wait
 * for); 0 when it only moves the entry's deadline later, which that waiter finds when
 * it wakes for the earlier one. */
int tracker_touch(struct incoming_tracker *t, const char *entry, pid_t pid);
void tracker_open(struct incoming_tracker *t, const char *entry, pid_t pid);
void tracker_close(struct incoming_tracker *t, const char *entry);
/* The entry is gone: forget it. */
void tracker_forget(struct incoming_tracker *t, const char *entry);
/* Count of changes seen for entry (to tell whether it changed during a job). */
unsigned long tracker_generation(struct incoming_tracker *t, const char *entry);
/* Moves every complete entry into out (they are no longer pending). An entry whose
 * writers have all exited is complete at once when looks_complete(ctx, entry) says so
 * (a whole plugin tree, an archive, a request file), else after settle_ms without a
 * change. Returns how many entries are still pending, or -ENOMEM. */
int tracker_take_complete(struct incoming_tracker *t, struct name_list *out,
			  int (*looks_complete)(void *ctx, const char *entry), void *ctx);
/* What to wait on for the next completion: an fd (epoll's) that is readable while a
 * writer of a pending entry has exited, and the ms until the next deadline (-1: none;
 * the call drops exited writers, so the fd is quiet again until the next exit). */
int tracker_fd(struct incoming_tracker *t);
int tracker_next_ms(struct incoming_tracker *t);
#endif
