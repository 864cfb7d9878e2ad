/* monotonic: the clock of timed waits and elapsed times (CLOCK_MONOTONIC, which a
 * change of the wall clock does not move). */
#ifndef WAZOFS_MONOTONIC_H
#define WAZOFS_MONOTONIC_H
#include <pthread.h>
#include <time.h>

/* Milliseconds since an arbitrary start. */
long monotonic_ms(void);
/* The time ms milliseconds from now, for pthread_cond_timedwait on a condition made by
 * monotonic_cond_init. */
void monotonic_deadline(struct timespec *ts, unsigned ms);
/* Initializes a condition whose timed waits use the monotonic clock. */
int monotonic_cond_init(pthread_cond_t *cond);
#endif
