/* verify: see verify.h. */
#include "verify.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

struct waiting {
	struct waiting *next;
	fuse_req_t req;
	struct fuse_file_info fi; /* a copy: libfuse's is gone once the open returned */
	char path[PATH_MAX], ns[NAME_MAX + 1], name[NAME_MAX + 1];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct waiting *head, **tail;
	unsigned n;
	int running, stopping;
	pthread_t thread;
	struct daemon *core;
	verify_answer_fn *answer;
} q = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, &q.head, 0, 0, 0, 0, NULL, NULL
};

/* Under q.lock: the oldest waiting open, taken off the queue. */
static struct waiting *take(void)
{
	struct waiting *w = q.head;
	if (w && !(q.head = w->next))
		q.tail = &q.head;
	if (w)
		q.n--;
	return w;
}

static void *verify_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		struct waiting *w = take();
		if (!w && q.stopping)
			break;
		if (!w) {
			pthread_cond_wait(&q.cond, &q.lock);
			continue;
		}
		pthread_mutex_unlock(&q.lock);
		struct view v;
		int rc = daemon_verify(q.core, w->ns, w->name, &v);
		q.answer(w->req, w->path, &v, &w->fi, rc);
		free(w);
		pthread_mutex_lock(&q.lock);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

int verify_start(struct daemon *p, verify_answer_fn *answer)
{
	q.core = p;
	q.answer = answer;
	q.stopping = 0;
	int rc = pthread_create(&q.thread, NULL, verify_main, NULL);
	q.running = rc == 0;
	return -rc;
}

void verify_stop(void)
{
	pthread_mutex_lock(&q.lock);
	q.stopping = 1;
	struct waiting *left = q.head;
	q.head = NULL, q.tail = &q.head, q.n = 0;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	for (struct waiting *w = left, *next; w; w = next) {
		next = w->next;
		q.answer(w->req, w->path, NULL, &w->fi, -EINTR);
		free(w);
	}
	if (q.running)
		pthread_join(q.thread, NULL);
	q.running = 0;
}

int verify_open(fuse_req_t req, const char *path, const char *ns, const char *name,
		const struct fuse_file_info *fi)
{
	struct waiting *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct waiting){ NULL, req, *fi, "", "", "" };
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->ns, sizeof(w->ns), "%s", ns);
	snprintf(w->name, sizeof(w->name), "%s", name);
	pthread_mutex_lock(&q.lock);
	int rc = !q.running || q.stopping ? -EIO : q.n >= VERIFY_WAITING ? -EAGAIN : 0;
	if (!rc) {
		*q.tail = w;
		q.tail = &w->next;
		q.n++;
		pthread_cond_signal(&q.cond);
	}
	pthread_mutex_unlock(&q.lock);
	if (rc)
		free(w);
	return rc;
}
