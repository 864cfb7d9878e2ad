/* incoming_tracker: completion of copies into incoming/ (see incoming_tracker.h). */
#include "incoming_tracker.h"
#include "base/monotonic.h"
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITERS 8

struct track {
	struct track *next;
	char entry[NAME_MAX + 1];
	int open_count;
	pid_t pids[MAX_WRITERS];
	int pidfds[MAX_WRITERS];
	int n_writers;
	int untracked_writer; /* a writer we could not get a pidfd for */
	long last_change;
	int pending;
	unsigned long gen;
};

struct incoming_tracker {
	pthread_mutex_t lock; /* protects tracks */
	struct track *tracks;
	unsigned settle_ms, quiet_ms;
	int epfd; /* every writer's pidfd, readable when one has exited */
};

struct incoming_tracker *tracker_new(unsigned settle_ms, unsigned quiet_ms)
{
	struct incoming_tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->settle_ms = settle_ms;
	t->quiet_ms = quiet_ms;
	return t;
}

/* Out of the epoll set, then closed (a closed fd could be another file by the time
 * epoll_ctl looked). */
static void close_pidfd(struct incoming_tracker *t, int fd)
{
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static void drop_writers(struct incoming_tracker *t, struct track *tr)
{
	for (int i = 0; i < tr->n_writers; i++)
		close_pidfd(t, tr->pidfds[i]);
	tr->n_writers = 0;
	tr->untracked_writer = 0;
}

void tracker_free(struct incoming_tracker *t)
{
	if (!t)
		return;
	for (struct track *tr = t->tracks, *next; tr; tr = next) {
		next = tr->next;
		drop_writers(t, tr);
		free(tr);
	}
	close(t->epfd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct track *find(struct incoming_tracker *t, const char *entry, int create)
{
	for (struct track *tr = t->tracks; tr; tr = tr->next)
		if (strcmp(tr->entry, entry) == 0)
			return tr;
	if (!create)
		return NULL;
	struct track *tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	snprintf(tr->entry, sizeof(tr->entry), "%s", entry);
	tr->next = t->tracks;
	t->tracks = tr;
	return tr;
}

/* The process (thread group) of a kernel task id, as FUSE reports the caller's tid. */
static pid_t thread_group_of(pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	pid_t tgid = tid;
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Tgid:", 5) == 0) {
			tgid = (pid_t)atoi(line + 5);
			break;
		}
	fclose(f);
	return tgid;
}

/* Returns 1 when pid was not a writer of tr yet. */
static int add_writer(struct incoming_tracker *t, struct track *tr, pid_t pid)
{
	if (pid <= 0)
		return 0;
	for (int i = 0; i < tr->n_writers; i++)
		if (tr->pids[i] == pid)
			return 0;
	int fd = pidfd_open(pid, 0);
	if (fd < 0 && errno == EINVAL)
		fd = pidfd_open(thread_group_of(pid), 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	if (fd < 0 || tr->n_writers == MAX_WRITERS ||
	    epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (fd >= 0)
			close(fd);
		tr->untracked_writer = 1;
		return 1;
	}
	tr->pids[tr->n_writers] = pid;
	tr->pidfds[tr->n_writers++] = fd;
	return 1;
}

int tracker_touch(struct incoming_tracker *t, const char *entry, pid_t pid)
{
	int news = 1;
	pthread_mutex_lock(&t->lock);
	struct track *tr = find(t, entry, 1);
	if (tr) {
		news = add_writer(t, tr, pid) || !tr->pending;
		tr->last_change = monotonic_ms();
		tr->pending = 1;
		tr->gen++;
	}
	pthread_mutex_unlock(&t->lock);
	return news;
}

void tracker_open(struct incoming_tracker *t, const char *entry, pid_t pid)
{
	pthread_mutex_lock(&t->lock);
	struct track *tr = find(t, entry, 1);
	if (tr) {
		tr->open_count++;
		(void)pid;
	}
	pthread_mutex_unlock(&t->lock);
}

void tracker_close(struct incoming_tracker *t, const char *entry)
{
	pthread_mutex_lock(&t->lock);
	struct track *tr = find(t, entry, 0);
	if (tr && tr->open_count > 0)
		tr->open_count--;
	pthread_mutex_unlock(&t->lock);
}

void tracker_forget(struct incoming_tracker *t, const char *entry)
{
	pthread_mutex_lock(&t->lock);
	for (struct track **pp = &t->tracks; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->entry, entry) == 0) {
			struct track *tr = *pp;
			*pp = tr->next;
			drop_writers(t, tr);
			free(tr);
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

unsigned long tracker_generation(struct incoming_tracker *t, const char *entry)
{
	pthread_mutex_lock(&t->lock);
	struct track *tr = find(t, entry, 0);
	unsigned long g = tr ? tr->gen : 0;
	pthread_mutex_unlock(&t->lock);
	return g;
}

/* Drops writers that have exited; returns how many are still alive. */
static int live_writers(struct incoming_tracker *t, struct track *tr)
{
	for (int i = 0; i < tr->n_writers;) {
		struct pollfd p = { tr->pidfds[i], POLLIN, 0 };
		if (poll(&p, 1, 0) > 0) {
			close_pidfd(t, tr->pidfds[i]);
			tr->pidfds[i] = tr->pidfds[tr->n_writers - 1];
			tr->pids[i] = tr->pids[tr->n_writers - 1];
			tr->n_writers--;
		} else
			i++;
	}
	return tr->n_writers + tr->untracked_writer;
}

int tracker_take_complete(struct incoming_tracker *t, struct name_list *out,
			  int (*looks_complete)(void *ctx, const char *entry), void *ctx)
{
	long now = monotonic_ms();
	int rc = 0, pending = 0;
	pthread_mutex_lock(&t->lock);
	for (struct track *tr = t->tracks; tr; tr = tr->next) {
		pending += tr->pending;
		if (!tr->pending || tr->open_count > 0)
			continue;
		long quiet = now - tr->last_change;
		int writers_gone = live_writers(t, tr) == 0;
		if ((writers_gone && (quiet >= (long)t->settle_ms ||
				      (looks_complete && looks_complete(ctx, tr->entry)))) ||
		    quiet >= (long)t->quiet_ms) {
			rc = name_list_add(out, tr->entry);
			if (rc)
				break;
			tr->pending = 0;
			pending--;
			drop_writers(t, tr);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc ? rc : pending;
}

int tracker_fd(struct incoming_tracker *t)
{
	return t->epfd;
}

int tracker_next_ms(struct incoming_tracker *t)
{
	long now = monotonic_ms(), next = -1;
	pthread_mutex_lock(&t->lock);
	for (struct track *tr = t->tracks; tr; tr = tr->next) {
		if (!tr->pending)
			continue;
		/* exited writers leave the set here: tracker_fd is readable no longer */
		int alive = live_writers(t, tr);
		long deadline = tr->last_change + (long)(alive ? t->quiet_ms : t->settle_ms);
		if (tr->open_count > 0)
			deadline = -1; /* a close wakes the loop */
		if (deadline >= 0 && (next < 0 || deadline < next))
			next = deadline;
		if (tr->untracked_writer) {
			long q = tr->last_change + (long)t->quiet_ms;
			if (next < 0 || q < next)
				next = q;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
}
