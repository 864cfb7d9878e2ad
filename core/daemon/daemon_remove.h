/* daemon_remove: removals of plugins, queued by daemon_remove_async and run by the
 * remover thread one at a time (see daemon_remove.c). */
#ifndef WAZOFS_DAEMON_REMOVE_H
#define WAZOFS_DAEMON_REMOVE_H
#include "registry.h"

/* Remover thread only: runs the first queued removal and answers it; 0 when none was
 * queued, 1 when one ran. */
int removal_run_next(struct daemon *p);
/* Remover thread only, once it stops: answers every queued removal -EINTR. */
void removal_cancel_all(struct daemon *p);
#endif
