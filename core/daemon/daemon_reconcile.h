/* daemon_reconcile: repairs at start (see daemon_reconcile.c). */
#ifndef WAZOFS_DAEMON_RECONCILE_H
#define WAZOFS_DAEMON_RECONCILE_H
#include "registry.h"

/* In the worker, before any job: repairs plugin packages a crash left half installed;
 * a half-removed one is removed (by the remover thread, waited for). */
void daemon_reconcile(struct daemon *p);
#endif
