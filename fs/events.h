/* events: readers of MOUNT/events and poll() waiters, answered when things change.
 *
 * A read of MOUNT/events with nothing new is parked (its fuse_req_t kept, no thread
 * held) and answered by the notifier thread when the core's event log grows; a reader
 * killed meanwhile is answered EINTR through libfuse's interrupt callback, so it ends at
 * once. A poll() of a file whose content has not changed yet keeps its handle here until
 * the next change (an event, or kernel_cache's drop of a path). */
#ifndef WAZOFS_EVENTS_H
#define WAZOFS_EVENTS_H
#include "daemon/daemon.h"
#include <fuse_lowlevel.h>

struct events_reader;

/* Starts the notifier thread (after the daemon's threads). */
int events_start(struct daemon *p);
/* After daemon_stop (which closes the event log): parked reads get the end of the file,
 * the thread ends, waiting poll() handles are woken. */
void events_stop(void);

/* A reader of the events after now; NULL when out of memory. */
struct events_reader *events_open(struct daemon *p);
void events_close(struct events_reader *r);
/* Answers req now with the lines r has not read (up to size bytes), or once one comes. */
void events_read(fuse_req_t req, struct events_reader *r, size_t size);
/* Whether a read of r would answer at once (poll). */
int events_ready(struct events_reader *r);

/* Takes ph: it is notified (and destroyed) at the next change. */
void events_poll_wait(struct fuse_pollhandle *ph);
/* Wakes every waiting poll() handle now. */
void events_wake_pollers(void);
#endif
