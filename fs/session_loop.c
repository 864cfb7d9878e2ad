/* session_loop: see session_loop.h. */
#include "session_loop.h"
#include "base/monotonic.h"
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* Sent to the reading thread to end its read() of /dev/fuse at exit. */
#define WAKE_SIGNAL SIGUSR2
/* How often the main thread looks whether a signal ended the session. */
enum { EXIT_CHECK_MS = 100, DONE_MAX = 64 };

static struct {
	struct fuse_session *se;
	pthread_mutex_t read_lock; /* held by the one thread reading /dev/fuse */
	pthread_mutex_t lock;	   /* the counts below */
	pthread_cond_t gone;	   /* a thread ended */
	unsigned threads, free, max_threads, max_free;
	int reading;
	pthread_t reader;
	/* requests under way that hold a path's write lock in libfuse (counted by the
	 * reading thread before it hands the reading over) */
	atomic_uint locking;
	/* threads that have left, for the main thread to join: a thread's libfuse context
	 * is freed by its thread-specific destructor, after it returns, so only a join
	 * makes sure none is left when the session is destroyed */
	pthread_t done[DONE_MAX];
	unsigned n_done;
} sl = { .read_lock = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_wake(int sig)
{
	(void)sig;
}

static int start_thread(void);

static unsigned opcode(const struct fuse_buf *buf)
{
	if ((buf->flags & FUSE_BUF_IS_FD) || buf->size < sizeof(struct fuse_in_header))
		return 0;
	return ((const struct fuse_in_header *)buf->mem)->opcode;
}

/* A request for which libfuse's high-level API write-locks a path until it is answered
 * (an `rm -r` of a plugin holds its directory for the whole dpkg run). Any request on
 * that path waits meanwhile, in whichever thread answers it. */
static int locks_a_path(unsigned op)
{
	return op == FUSE_UNLINK || op == FUSE_RMDIR || op == FUSE_RENAME || op == FUSE_RENAME2;
}

/* A request answered from memory (a lookup, an attribute, a view's open, a listing):
 * the reading thread answers it itself and reads on, as a single-threaded loop would,
 * unless a request holding a path lock is under way (this one might wait for it, and
 * the whole mount with it). Any other (a read, which may wait for events; an rmdir,
 * which runs dpkg; a write) is answered after another thread has taken over the
 * reading. */
static int answered_at_once(unsigned op)
{
	if (atomic_load(&sl.locking))
		return 0;
	switch (op) {
	case FUSE_LOOKUP:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_GETATTR:
	case FUSE_OPEN:
	case FUSE_RELEASE:
	case FUSE_FLUSH:
	case FUSE_OPENDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_READLINK:
	case FUSE_STATFS:
	case FUSE_ACCESS:
	case FUSE_POLL: return 1;
	default: return 0;
	}
}

/* Under sl.read_lock: reads one request. 1: got one; 0: the session ends. */
static int receive(struct fuse_buf *buf)
{
	for (;;) {
		if (fuse_session_exited(sl.se))
			return 0;
		pthread_mutex_lock(&sl.lock);
		sl.reading = 1;
		sl.reader = pthread_self();
		pthread_mutex_unlock(&sl.lock);
		int res = fuse_session_receive_buf(sl.se, buf);
		pthread_mutex_lock(&sl.lock);
		sl.reading = 0;
		pthread_mutex_unlock(&sl.lock);
		if (res > 0)
			return 1;
		if (res == -EINTR || res == -EAGAIN)
			continue;
		fuse_session_exit(sl.se); /* unmounted (0) or a read error */
		return 0;
	}
}

/* Under sl.lock: the calling thread leaves; the main thread joins it (or, when the list
 * is full, it is detached: the main thread joins the others first). */
static void leaving(void)
{
	if (sl.n_done < DONE_MAX)
		sl.done[sl.n_done++] = pthread_self();
	else
		pthread_detach(pthread_self());
	sl.threads--;
	pthread_cond_broadcast(&sl.gone);
}

/* Under sl.lock: joins the threads that have left (the lock let go meanwhile). */
static void join_done(void)
{
	while (sl.n_done) {
		pthread_t t = sl.done[--sl.n_done];
		pthread_mutex_unlock(&sl.lock);
		pthread_join(t, NULL);
		pthread_mutex_lock(&sl.lock);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	struct fuse_buf buf = { 0 };
	int stay = 1;
	pthread_mutex_lock(&sl.read_lock);
	while (stay && receive(&buf)) {
		unsigned op = opcode(&buf);
		if (answered_at_once(op)) {
			fuse_session_process_buf(sl.se, &buf);
			continue;
		}
		int locking = locks_a_path(op);
		if (locking) /* before the next reader looks */
			atomic_fetch_add(&sl.locking, 1);
		/* hand the reading over (to a new thread if none is free) */
		pthread_mutex_lock(&sl.lock);
		if (--sl.free == 0 && sl.threads < sl.max_threads && start_thread() == 0)
			sl.free++, sl.threads++;
		pthread_mutex_unlock(&sl.lock);
		pthread_mutex_unlock(&sl.read_lock);
		fuse_session_process_buf(sl.se, &buf);
		if (locking)
			atomic_fetch_sub(&sl.locking, 1);
		pthread_mutex_lock(&sl.lock);
		sl.free++;
		if (sl.free > sl.max_free) { /* a burst is over: fewer idle threads */
			stay = 0;
			sl.free--;
			leaving();
		}
		pthread_mutex_unlock(&sl.lock);
		if (stay)
			pthread_mutex_lock(&sl.read_lock);
	}
	if (stay) {
		pthread_mutex_unlock(&sl.read_lock);
		pthread_mutex_lock(&sl.lock);
		sl.free--;
		leaving();
		pthread_mutex_unlock(&sl.lock);
	}
	free(buf.mem);
	return NULL;
}

/* Under sl.lock. Threads get every signal blocked but WAKE_SIGNAL: the main thread
 * takes the termination signals. */
static int start_thread(void)
{
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, WAKE_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t; /* joinable: it is joined once it has left (leaving, join_done) */
	int rc = pthread_create(&t, NULL, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		syslog(LOG_WARNING, "cannot start a FUSE thread: %s", strerror(rc));
	return -rc;
}

int session_loop_run(struct fuse_session *se, unsigned max_threads, unsigned max_idle)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake; /* no SA_RESTART: the read ends with EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(WAKE_SIGNAL, &sa, NULL) < 0)
		return -errno;
	if (monotonic_cond_init(&sl.gone))
		return -ENOMEM;
	sl.se = se;
	sl.max_threads = max_threads ? max_threads : 1;
	sl.max_free = max_idle ? max_idle : 1;
	pthread_mutex_lock(&sl.lock);
	int rc = start_thread();
	if (rc == 0)
		sl.threads = sl.free = 1;
	pthread_mutex_unlock(&sl.lock);
	if (rc)
		return rc;
	/* the termination signals come here (fuse_set_signal_handlers ends the session);
	 * an unmount ends it in the reading thread */
	pthread_mutex_lock(&sl.lock);
	while (sl.threads) {
		join_done();
		if (!sl.threads)
			break;
		if (fuse_session_exited(se) && sl.reading)
			pthread_kill(sl.reader, WAKE_SIGNAL);
		struct timespec until;
		monotonic_deadline(&until, EXIT_CHECK_MS);
		pthread_cond_timedwait(&sl.gone, &sl.lock, &until);
	}
	join_done(); /* every thread has ended, its destructors run, before fuse_destroy */
	pthread_mutex_unlock(&sl.lock);
	pthread_cond_destroy(&sl.gone);
	return 0;
}
