/* poll_waiters: see poll_waiters.h. */
#include "poll_waiters.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fuse_pollhandle **waiting;
static size_t n_waiting, cap_waiting;
static pthread_t thread;
static int running;

void poll_waiters_add(struct fuse_pollhandle *ph)
{
	pthread_mutex_lock(&lock);
	if (n_waiting == cap_waiting) {
		size_t cap = cap_waiting ? cap_waiting * 2 : 16;
		struct fuse_pollhandle **g = realloc(waiting, cap * sizeof(*g));
		if (!g) {
			pthread_mutex_unlock(&lock);
			fuse_notify_poll(ph); /* cannot keep it: wake it now, it polls again */
			fuse_pollhandle_destroy(ph);
			return;
		}
		waiting = g;
		cap_waiting = cap;
	}
	waiting[n_waiting++] = ph;
	pthread_mutex_unlock(&lock);
}

void poll_waiters_wake(void)
{
	pthread_mutex_lock(&lock);
	struct fuse_pollhandle **list = waiting;
	size_t n = n_waiting;
	waiting = NULL;
	n_waiting = cap_waiting = 0;
	pthread_mutex_unlock(&lock);
	for (size_t i = 0; i < n; i++) {
		fuse_notify_poll(list[i]);
		fuse_pollhandle_destroy(list[i]);
	}
	free(list);
}

static void *notifier(void *arg)
{
	struct daemon *p = arg;
	unsigned long long seq = daemon_events_now(p);
	for (;;) {
		struct strbuf ignored = STRBUF_INIT;
		int n = daemon_events_read(p, &seq, 1000, &ignored);
		strbuf_release(&ignored);
		poll_waiters_wake(); /* an event, or a second gone by (dpkg changes made by others)
				      */
		if (n == -ESHUTDOWN)
			return NULL;
	}
}

int poll_waiters_start(struct daemon *p)
{
	int rc = pthread_create(&thread, NULL, notifier, p);
	running = rc == 0;
	return -rc;
}

void poll_waiters_stop(void)
{
	if (running)
		pthread_join(thread, NULL);
	running = 0;
	poll_waiters_wake();
}
