/* incoming_tracker: decides when a copy into incoming/ is complete. Every change to an
 * entry records the writing process (as a pidfd); the entry is complete when no file of
 * it is open and either every writer has exited and settle_ms passed with no change,
 * or quiet_ms passed with no change at all (a writer that stays alive). Thread-safe
 * (its own mutex); no callbacks. */
#ifndef WAZOFS_INCOMING_TRACKER_H
#define WAZOFS_INCOMING_TRACKER_H
#include "name_list.h"
#include <sys/types.h>

struct incoming_tracker;

struct incoming_tracker *tracker_new(unsigned settle_ms, unsigned quiet_ms);
void tracker_free(struct incoming_tracker *t);
/* A change to entry by process pid (0: unknown). */
void tracker_touch(struct incoming_tracker *t, const char *entry, pid_t pid);
void tracker_open(struct incoming_tracker *t, const char *entry, pid_t pid);
void tracker_close(struct incoming_tracker *t, const char *entry);
/* The entry is gone: forget it. */
void tracker_forget(struct incoming_tracker *t, const char *entry);
/* Count of changes seen for entry (to tell whether it changed during a job). */
unsigned long tracker_generation(struct incoming_tracker *t, const char *entry);
/* Moves every complete entry into out (they are no longer pending). Returns how many
 * entries are still pending (waiting to complete), or -ENOMEM. */
int tracker_take_complete(struct incoming_tracker *t, struct name_list *out);
#endif
