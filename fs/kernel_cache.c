/* kernel_cache: see kernel_cache.h. */
#include "kernel_cache.h"
#include "base/monotonic.h"
#include "base/name_list.h"
#include "events.h"
#include "nodes.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
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
	struct fuse_session *se;
	int (*exists)(const char *path);
	pthread_t thread;
} kc = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Queues a path whose node changed; with a '+' first, the path and every node the
 * kernel holds below it. Called with the core's locks held: only queues. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(path))
		return; /* no node of the mount has so long a path */
	pthread_mutex_lock(&kc.lock);
	/* the same path told twice in a row (each step of a job) is queued once */
	if (kc.running && !(kc.queue.n && strcmp(kc.queue.v[kc.queue.n - 1], path) == 0) &&
	    name_list_add(&kc.queue, path) == 0) {
		kc.told++;
		pthread_cond_broadcast(&kc.cond);
	}
	pthread_mutex_unlock(&kc.lock);
}

/* What shows plugin ns/name: the top, MOUNT/status, its namespace, its market info, and
 * its directory with all below it (leaves, versions/, the package's name). */
static void on_plugin(void *ctx, const char *ns, const char *name)
{
	(void)ctx;
	note("/");
	note("/status");
	note("/%s", ns);
	if (!name[0])
		return;
	note("/market/%s/%s/info", ns, name);
	note("+/%s/%s", ns, name);
}

/* What shows the job of incoming/entry: MOUNT/status, history, its files and its copy. */
static void on_job(void *ctx, const char *entry)
{
	(void)ctx;
	note("/status");
	note("/history");
	if (!entry[0])
		return;
	note("/incoming");
	note("/incoming/%s.status", entry);
	note("/incoming/%s.log", entry);
	note("+/incoming/%s", entry);
}

static void on_copy_gone(void *ctx, const char *entry)
{
	(void)ctx;
	note("/incoming");
	note("+/incoming/%s", entry);
}

static void on_market(void *ctx)
{
	(void)ctx;
	note("+/market");
}

static void on_repo(void *ctx)
{
	(void)ctx;
	note("+/repo");
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

/* The kernel's attributes and text of path's node; and, when the name is gone, the name
 * in its directory (a name that went must not be found in the cache). A name that is
 * still there keeps its entry: dropping it waits for its directory, which an rmdir
 * holds for a whole removal (the plugin's `status` shows the removal meanwhile). Names
 * in incoming/ are never kept (an entry timeout of 0), so none is dropped there: the
 * drop would wait for the directory an unlink in it holds, while that unlink waits for
 * this drop. */
static void drop_path(const char *path)
{
	fuse_ino_t ino, parent;
	nodes_path_inos(path, &ino, &parent);
	if (ino)
		fuse_lowlevel_notify_inval_inode(kc.se, ino, 0, 0);
	const char *base = strrchr(path, '/');
	if (parent && base && base[1] && strncmp(path, "/incoming/", 10) != 0 && !kc.exists(path))
		fuse_lowlevel_notify_inval_entry(kc.se, parent, base + 1, strlen(base + 1));
}

/* A queued path, or with '+' a path and every node the kernel holds below it. */
static void drop(const char *queued)
{
	if (queued[0] != '+') {
		drop_path(queued);
		return;
	}
	struct name_list below = { 0 };
	nodes_below(queued + 1, &below);
	drop_path(queued + 1);
	for (size_t i = 0; i < below.n; i++)
		drop_path(below.v[i]);
	name_list_free(&below);
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
		for (size_t i = 0; i < batch.n; i++)
			drop(batch.v[i]);
		pthread_mutex_lock(&kc.lock);
		kc.dropped += batch.n;
		name_list_free(&batch);
		pthread_cond_broadcast(&kc.cond);
		/* a poll() that waited for these to be dropped may now say "changed" */
		pthread_mutex_unlock(&kc.lock);
		events_wake_pollers();
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

int kernel_cache_start(struct fuse_session *se, struct daemon *p, int (*exists)(const char *path))
{
	monotonic_cond_init(&kc.cond);
	kc.se = se;
	kc.exists = exists;
	kc.stopping = 0;
	kc.running = 1;
	int rc = pthread_create(&kc.thread, NULL, dropper, NULL);
	if (rc) {
		kc.running = 0;
		return -rc;
	}
	struct daemon_cache_hooks h = { .plugin = on_plugin,
					.job = on_job,
					.copy_gone = on_copy_gone,
					.market = on_market,
					.repo = on_repo,
					.flush = on_flush };
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
