/* kernel_cache: see kernel_cache.h. */
#include "kernel_cache.h"
#include "base/monotonic.h"
#include "base/name_list.h"
#include "poll_waiters.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

enum { FLUSH_WAIT_MS = 2000, STOP_WAIT_MS = 2000 };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC: the queue grew, was drained, or stop */
	struct name_list queue;
	unsigned long long told, dropped; /* paths queued and handed to the kernel so far */
	int stopping, running;
	struct fuse *fuse;
	pthread_t thread;
} kc = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Called with the core's locks held: only queues the path. */
static void on_changed(void *ctx, const char *path)
{
	(void)ctx;
	pthread_mutex_lock(&kc.lock);
	/* the same path told twice in a row (each step of a job) is queued once */
	if (kc.running && !(kc.queue.n && strcmp(kc.queue.v[kc.queue.n - 1], path) == 0) &&
	    name_list_add(&kc.queue, path) == 0) {
		kc.told++;
		pthread_cond_broadcast(&kc.cond);
	}
	pthread_mutex_unlock(&kc.lock);
}

/* Called by the worker with no lock held: waits until what was told is dropped. */
static void on_flush(void *ctx)
{
	(void)ctx;
	struct timespec until;
	monotonic_deadline(&until, FLUSH_WAIT_MS);
	pthread_mutex_lock(&kc.lock);
	unsigned long long target = kc.told;
	while (kc.running && !kc.stopping && kc.dropped < target)
		if (pthread_cond_timedwait(&kc.cond, &kc.lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&kc.lock);
}

static void *dropper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&kc.lock);
	while (!kc.stopping) {
		if (!kc.queue.n) {
			pthread_cond_wait(&kc.cond, &kc.lock);
			continue;
		}
		struct name_list batch = kc.queue;
		memset(&kc.queue, 0, sizeof(kc.queue));
		pthread_mutex_unlock(&kc.lock);
		/* -ENOENT: the kernel never looked that path up, nothing to drop */
		for (size_t i = 0; i < batch.n; i++)
			fuse_invalidate_path(kc.fuse, batch.v[i]);
		pthread_mutex_lock(&kc.lock);
		kc.dropped += batch.n;
		name_list_free(&batch);
		pthread_cond_broadcast(&kc.cond);
		/* a poll() that waited for these to be dropped may now say "changed" */
		pthread_mutex_unlock(&kc.lock);
		poll_waiters_wake();
		pthread_mutex_lock(&kc.lock);
	}
	pthread_mutex_unlock(&kc.lock);
	return NULL;
}

int kernel_cache_pending(void)
{
	pthread_mutex_lock(&kc.lock);
	int pending = kc.running && !kc.stopping && kc.dropped < kc.told;
	pthread_mutex_unlock(&kc.lock);
	return pending;
}

int kernel_cache_start(struct fuse *f, struct daemon *p)
{
	monotonic_cond_init(&kc.cond);
	kc.fuse = f;
	kc.stopping = 0;
	kc.running = 1;
	int rc = pthread_create(&kc.thread, NULL, dropper, NULL);
	if (rc) {
		kc.running = 0;
		return -rc;
	}
	struct daemon_cache_hooks h = { .changed = on_changed, .flush = on_flush };
	daemon_set_cache_hooks(p, &h);
	return 0;
}

void kernel_cache_stop(void)
{
	pthread_mutex_lock(&kc.lock);
	int running = kc.running;
	kc.stopping = 1;
	if (running) /* the condition exists only once started */
		pthread_cond_broadcast(&kc.cond);
	pthread_mutex_unlock(&kc.lock);
	if (!running)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_MS / 1000;
	/* a kernel that no longer answers (unmounted under a pending read) must not keep
	 * the daemon from exiting */
	if (pthread_timedjoin_np(kc.thread, NULL, &until)) {
		syslog(LOG_WARNING, "cache thread did not stop; leaving it");
		pthread_detach(kc.thread);
	}
	pthread_mutex_lock(&kc.lock);
	kc.running = 0;
	name_list_free(&kc.queue);
	pthread_mutex_unlock(&kc.lock);
}
