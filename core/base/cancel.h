/* cancel: a request to stop, made by one thread and heard by another that may be
 * asleep in poll() on a child: a flag to look at between steps, and an eventfd that
 * becomes readable when the request is made (so a wait ends at once, with no timer). */
#ifndef WAZOFS_CANCEL_H
#define WAZOFS_CANCEL_H
#include <stdatomic.h>

struct cancel {
	atomic_int requested;
	int fd; /* eventfd, readable once requested; -1: none (cancel_init not called or
		   failed: waits then look at the flag every CANCEL_POLL_MS) */
};

enum { CANCEL_POLL_MS = 200 };

#define CANCEL_INIT   \
	{             \
		0, -1 \
	}

/* Makes the eventfd: 0, or -errno (the flag works all the same). */
int cancel_init(struct cancel *c);
void cancel_destroy(struct cancel *c);
/* Makes the request (async-signal-safe; any thread). */
void cancel_request(struct cancel *c);
/* Whether it was made; c may be NULL (never). */
int cancel_requested(const struct cancel *c);
/* The fd to poll for POLLIN, or -1. */
int cancel_fd(const struct cancel *c);
#endif
