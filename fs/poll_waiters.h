/* poll_waiters: the poll() handles of files whose content has not changed yet. A thread
 * waits for the core's next event (or a second, for changes dpkg makes on its own) and
 * wakes them all; the kernel then polls again and each file says whether it changed. */
#ifndef WAZOFS_POLL_WAITERS_H
#define WAZOFS_POLL_WAITERS_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include "daemon/daemon.h"
#include <fuse.h>

int poll_waiters_start(struct daemon *p);
/* After daemon_stop (which ends the events the thread waits on). */
void poll_waiters_stop(void);
/* Wakes every waiting handle now (the kernel's cache of a change was just dropped). */
void poll_waiters_wake(void);
/* Takes ph: it is notified (and destroyed) at the next change. */
void poll_waiters_add(struct fuse_pollhandle *ph);
#endif
