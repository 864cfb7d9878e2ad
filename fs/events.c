/* events: see events.h. One lock guards the readers and what each holds; the notifier
 * takes it after the event log's wait (never inside it), and every reply is sent with
 * it let go. */
#include "events.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct events_reader {
	unsigned long long seq; /* the last event this reader has */
	struct strbuf pending;	/* events read but not yet returned */
	size_t off;
	fuse_req_t parked; /* a read waiting for the next event */
	size_t want;
	int armed; /* its interrupt callback is set: the notifier may answer it */
	struct events_reader *prev, *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct events_reader *readers;
static struct daemon *core;
static pthread_t thread;
static int running;

static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fuse_pollhandle **pollers;
static size_t n_pollers, cap_pollers;

/* An answer to send once the lock is let go: bytes, the end of the file, or an error. */
struct answer {
	fuse_req_t req;
	char *buf;
	ssize_t n; /* bytes, 0 for the end of the file, or -errno */
};

static void send_answer(struct answer *a)
{
	if (a->n < 0)
		fuse_reply_err(a->req, (int)-a->n);
	else
		fuse_reply_buf(a->req, a->buf, (size_t)a->n);
	free(a->buf);
}

/* Under lock: up to size bytes of what r has not read yet (new lines are fetched without
 * waiting): a->n > 0 with them, 0 when there is none, -ESHUTDOWN once the log is closed. */
static void take(struct events_reader *r, size_t size, struct answer *a)
{
	a->buf = NULL;
	a->n = 0;
	if (!core) {
		a->n = -ESHUTDOWN;
		return;
	}
	if (r->off >= r->pending.len) {
		strbuf_release(&r->pending);
		r->off = 0;
		int got = daemon_events_read(core, &r->seq, 0, &r->pending);
		if (got == -ESHUTDOWN) {
			a->n = -ESHUTDOWN;
			return;
		}
		if (got <= 0 || !r->pending.len)
			return;
	}
	size_t n = r->pending.len - r->off;
	n = n < size ? n : size;
	a->buf = malloc(n);
	if (!a->buf) {
		a->n = -ENOMEM;
		return;
	}
	memcpy(a->buf, r->pending.buf + r->off, n);
	r->off += n;
	a->n = (ssize_t)n;
}

/* A killed or interrupted reader: its parked read ends now (EINTR). r may be gone
 * already (answered and closed): it is looked for, not trusted. */
static void interrupted(fuse_req_t req, void *data)
{
	int found = 0;
	pthread_mutex_lock(&lock);
	for (struct events_reader *r = readers; r && !found; r = r->next)
		if (r == data && r->parked == req) {
			r->parked = NULL;
			found = 1;
		}
	pthread_mutex_unlock(&lock);
	if (found)
		fuse_reply_err(req, EINTR);
}

void events_read(fuse_req_t req, struct events_reader *r, size_t size)
{
	struct answer a = { .req = req };
	pthread_mutex_lock(&lock);
	if (r->parked) { /* one read at a time per open file */
		pthread_mutex_unlock(&lock);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	take(r, size, &a);
	int park = a.n == 0;
	if (park) { /* nothing yet: parked until the next event */
		r->parked = req;
		r->want = size;
		r->armed = 0;
	}
	pthread_mutex_unlock(&lock);
	if (a.n == -ESHUTDOWN)
		a.n = 0; /* unmounting: the end of the file */
	if (!park) {
		send_answer(&a);
		return;
	}
	/* may call interrupted() at once, for a reader killed already */
	fuse_req_interrupt_func(req, interrupted, r);
	int answer = 0;
	pthread_mutex_lock(&lock);
	if (r->parked == req) {
		r->armed = 1;
		take(r, size, &a); /* an event that came while it was being parked */
		answer = a.n != 0;
		if (answer)
			r->parked = NULL;
	}
	pthread_mutex_unlock(&lock);
	if (a.n == -ESHUTDOWN)
		a.n = 0; /* unmounting: the end of the file */
	if (answer)
		send_answer(&a);
}

/* Answers every armed parked read that has lines now (every one at the end: final). */
static void answer_parked(int final)
{
	struct answer *list = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&lock);
	for (struct events_reader *r = readers; r; r = r->next) {
		if (!r->parked || (!r->armed && !final))
			continue;
		struct answer a = { .req = r->parked };
		take(r, r->want, &a);
		if (a.n == 0 && !final)
			continue;
		if (a.n == -ESHUTDOWN)
			a.n = 0; /* the end of the file */
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct answer *g = realloc(list, c * sizeof(*g));
			if (!g) {
				free(a.buf);
				r->off = r->pending.len; /* answered next time */
				continue;
			}
			list = g;
			cap = c;
		}
		r->parked = NULL;
		list[n++] = a;
	}
	pthread_mutex_unlock(&lock);
	for (size_t i = 0; i < n; i++)
		send_answer(&list[i]);
	free(list);
}

static void *notifier(void *arg)
{
	(void)arg;
	unsigned long long seq = daemon_events_now(core);
	for (;;) {
		struct strbuf ignored = STRBUF_INIT;
		/* no timeout: nothing wakes this thread while nothing happens */
		int n = daemon_events_read(core, &seq, UINT_MAX, &ignored);
		strbuf_release(&ignored);
		answer_parked(n == -ESHUTDOWN);
		events_wake_pollers();
		if (n == -ESHUTDOWN)
			return NULL;
	}
}

int events_start(struct daemon *p)
{
	core = p;
	int rc = pthread_create(&thread, NULL, notifier, NULL);
	running = rc == 0;
	return -rc;
}

void events_stop(void)
{
	if (running)
		pthread_join(thread, NULL);
	running = 0;
	answer_parked(1);
	core = NULL;
	events_wake_pollers();
}

struct events_reader *events_open(struct daemon *p)
{
	struct events_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->seq = daemon_events_now(p);
	pthread_mutex_lock(&lock);
	r->next = readers;
	if (readers)
		readers->prev = r;
	readers = r;
	pthread_mutex_unlock(&lock);
	return r;
}

void events_close(struct events_reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		readers = r->next;
	if (r->next)
		r->next->prev = r->prev;
	pthread_mutex_unlock(&lock);
	strbuf_release(&r->pending);
	free(r);
}

int events_ready(struct events_reader *r)
{
	pthread_mutex_lock(&lock);
	int ready = r->off < r->pending.len || (core && daemon_events_now(core) > r->seq);
	pthread_mutex_unlock(&lock);
	return ready;
}

void events_poll_wait(struct fuse_pollhandle *ph)
{
	pthread_mutex_lock(&poll_lock);
	if (n_pollers == cap_pollers) {
		size_t cap = cap_pollers ? cap_pollers * 2 : 16;
		struct fuse_pollhandle **g = realloc(pollers, cap * sizeof(*g));
		if (!g) {
			pthread_mutex_unlock(&poll_lock);
			fuse_lowlevel_notify_poll(ph); /* cannot keep it: it polls again now */
			fuse_pollhandle_destroy(ph);
			return;
		}
		pollers = g;
		cap_pollers = cap;
	}
	pollers[n_pollers++] = ph;
	pthread_mutex_unlock(&poll_lock);
}

void events_wake_pollers(void)
{
	pthread_mutex_lock(&poll_lock);
	struct fuse_pollhandle **list = pollers;
	size_t n = n_pollers;
	pollers = NULL;
	n_pollers = cap_pollers = 0;
	pthread_mutex_unlock(&poll_lock);
	for (size_t i = 0; i < n; i++) {
		fuse_lowlevel_notify_poll(list[i]);
		fuse_pollhandle_destroy(list[i]);
	}
	free(list);
}
