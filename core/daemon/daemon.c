/* daemon: the daemon's life cycle, its event loop and its worker (see daemon.h; the
 * state, its records and the lock order are in registry.h). */
#include "base/fsutil.h"
#include "daemon_jobs.h"
#include "daemon_reconcile.h"
#include "daemon_remove.h"
#include "daemon_wazo.h"
#include "event_log.h"
#include "incoming_tracker.h"
#include "plugin/archive_helper.h"
#include "registry.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* ---- what the pipeline asks of the daemon ---- */

static void on_dpkg_changed(void *ctx)
{
	refresh_installed(ctx);
}

static void host_wazo_version(void *ctx, char *out, size_t len)
{
	registry_wazo_version(ctx, out, len);
}

static int installed_version(void *ctx, const char *ns, const char *name, char *ver, size_t len)
{
	struct daemon *p = ctx;
	pthread_mutex_lock(&p->lock);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	int ok = ip && dpkg_is_installed(ip);
	if (ok)
		snprintf(ver, len, "%s", ip->version);
	pthread_mutex_unlock(&p->lock);
	return ok ? 0 : -ENOENT;
}

/* ---- the market ---- */

struct timespec daemon_market_mtime(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct timespec t = p->market_loaded;
	pthread_mutex_unlock(&p->lock);
	return t;
}

/* (Re)loads the market file when it changed; a bad file keeps the previous index. */
static void refresh_market(struct daemon *p, int force)
{
	if (!p->cfg.market[0] || (!file_changed(p->cfg.market, &p->market_seen) && !force))
		return;
	struct market *m = NULL;
	struct error err = ERROR_INIT;
	if (market_load(p->cfg.market, &m, &err)) {
		/* a bad market never keeps the mount from serving: the previous index
		 * stays, or the market is empty */
		syslog(LOG_WARNING, "market %s not (re)loaded: %s", p->cfg.market,
		       err.msg.buf ? err.msg.buf : "error");
		error_release(&err);
		pthread_mutex_lock(&p->lock);
		int have = p->market != NULL;
		pthread_mutex_unlock(&p->lock);
		static const char empty[] = "{\"items\": []}";
		if (have || market_parse(empty, sizeof(empty) - 1, "empty", &m, &err)) {
			error_release(&err);
			return;
		}
	}
	pthread_mutex_lock(&p->lock);
	struct market *old = p->market;
	p->market = m;
	clock_gettime(CLOCK_REALTIME, &p->market_loaded);
	daemon_market_changed(p);
	pthread_mutex_unlock(&p->lock);
	market_free(old);
	error_release(&err);
}

/* ---- the worker: one job at a time, of every kind ---- */

/* Under p->lock: the queued job (a market install, a rebuild) to run next, marked running; NULL:
 * none. */
static struct job *take_queued(struct daemon *p)
{
	struct job *queued = NULL;
	for (struct job *j = p->jobs; j; j = j->next)
		if (j->phase == JOB_QUEUED)
			queued = j; /* the oldest */
	if (queued)
		queued->phase = JOB_RUNNING;
	return queued;
}

/* Without p->lock: runs the market job taken by take_queued. */
static void run_queued(struct daemon *p, struct job *job)
{
	char ns[64], name[128];
	pthread_mutex_lock(&p->lock);
	snprintf(ns, sizeof(ns), "%s", job->st.ns);
	snprintf(name, sizeof(name), "%s", job->st.name);
	int rebuild = job->rebuild;
	pthread_mutex_unlock(&p->lock);
	if (rebuild) {
		run_rebuild_job(p, job, ns, name);
		return;
	}
	struct error err = ERROR_INIT; /* the job's status says it too */
	run_market_job(p, job, ns, name, NULL, &err);
	error_release(&err);
}

/* Without p->lock: runs the job of the copy incoming/ENTRY, when it is still there. */
static void run_copy(struct daemon *p, const char *entry)
{
	struct stat st;
	char src[PATH_MAX];
	if (path_fmt(src, sizeof(src), "%s/%s", p->incoming, entry) == 0 && lstat(src, &st) == 0)
		run_install(p, entry);
}

/* The worker runs the install jobs: market installs asked with mkdir, then copies in
 * the order they became whole. */
static void *worker_main(void *arg)
{
	struct daemon *p = arg;
	/* reads and hashes every kept package: here, not before the mount */
	daemon_repo_refresh(p);
	daemon_reconcile(p);
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		struct job *queued = take_queued(p);
		char *entry = queued ? NULL : name_list_shift(&p->queue);
		if (!queued && !entry) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		if (queued)
			run_queued(p, queued);
		else
			run_copy(p, entry);
		free(entry);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* The remover runs the removals, one at a time, beside the worker: an `rmdir` holds its
 * parent directory in the kernel until it is answered, so a removal that waited behind
 * another plugin's install would block every lookup in that namespace meanwhile. dpkg
 * runs stay one at a time (pkg_lock). */
static void *remover_main(void *arg)
{
	struct daemon *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (!p->removals) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		removal_run_next(p);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	removal_cancel_all(p); /* what was not begun is answered -EINTR */
	return NULL;
}

/* ---- the loop: what happens outside the jobs ---- */

/* While dpkg's database or the market cannot be watched (no inotify), or a dpkg run of
 * ours keeps the database from being read now, they are looked at every LOOK_MS. */
enum { LOOK_MS = 250 };

/* What woke the loop. */
enum loop_source { SRC_WAKE, SRC_SOURCES, SRC_WRITERS, SRC_TIMER, SRC_WAZO };
/* What loop_wait saw. */
enum { SAW_SOURCES = 1, SAW_WAZO = 2 };

/* inotify on dpkg's admin dir and on the market file's dir. -1 when inotify cannot
 * watch them. */
static int watch_sources(struct daemon *p, const char *status_path)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", status_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	int ok = inotify_add_watch(fd, dir, mask) >= 0;
	if (ok && p->cfg.market[0]) {
		snprintf(dir, sizeof(dir), "%s", p->cfg.market);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), "%s", slash ? "/" : ".");
		ok = inotify_add_watch(fd, dir, mask) >= 0;
	}
	if (!ok) {
		syslog(LOG_INFO,
		       "no inotify watch (%m): dpkg and market changes are looked for "
		       "every %d ms",
		       LOOK_MS);
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads dpkg's database again when it changed, and the market file: 0 when done, -EAGAIN
 * when a dpkg run of ours holds the lock (it reads the database when it ends, but a
 * change by others meanwhile is looked at again shortly). */
static int look_at_sources(struct daemon *p, const char *status_path)
{
	int rc = -EAGAIN;
	if (pthread_mutex_trylock(&p->pkg_lock) == 0) {
		if (registry_dpkg_changed(p, status_path))
			refresh_installed(p);
		pthread_mutex_unlock(&p->pkg_lock);
		rc = 0;
	}
	refresh_market(p, 0);
	return rc;
}

/* Takes an eventfd's or a timerfd's count: it is quiet again. */
static void consume(int fd)
{
	uint64_t count;
	ssize_t r = read(fd, &count, sizeof(count));
	(void)r; /* EAGAIN: taken already */
}

static void drain(int fd)
{
	char buf[4096];
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Arms the loop's one timer ms from now; -1 disarms it. */
static void arm_timer(int fd, int ms)
{
	struct itimerspec its = { 0 };
	if (ms >= 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L + (ms == 0); /* 0 would disarm */
	}
	timerfd_settime(fd, 0, &its, NULL);
}

/* The loop's fds in its epoll set; -errno when one cannot be made. */
static int loop_open(struct daemon *p)
{
	char status_path[PATH_MAX];
	dpkg_status_path(p->cfg.root, status_path, sizeof(status_path));
	p->watch_fd = watch_sources(p, status_path);
	p->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->epoll_fd < 0 || p->timer_fd < 0)
		return -errno;
	const struct {
		int fd;
		enum loop_source what;
	} srcs[] = { { p->wake_fd, SRC_WAKE },
		     { p->watch_fd, SRC_SOURCES },
		     { registry_writers_fd(p), SRC_WRITERS },
		     { p->timer_fd, SRC_TIMER },
		     { p->wazo_fd, SRC_WAZO } };
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = srcs[i].what };
		if (srcs[i].fd >= 0 && epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, srcs[i].fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

static void loop_close(struct daemon *p)
{
	int *fds[] = { &p->watch_fd, &p->epoll_fd, &p->timer_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

/* Sleeps until something happens; returns what changed: SAW_SOURCES (dpkg's database
 * or the market), SAW_WAZO (WAZO-VERSION's directory). */
static int loop_wait(struct daemon *p)
{
	struct epoll_event ev[5];
	int n = epoll_wait(p->epoll_fd, ev, 5, -1), changed = 0;
	for (int i = 0; i < n; i++) {
		switch ((enum loop_source)ev[i].data.u32) {
		case SRC_WAKE: consume(p->wake_fd); break;
		case SRC_TIMER: consume(p->timer_fd); break;
		case SRC_WAZO: changed |= SAW_WAZO; break;
		case SRC_SOURCES:
			drain(p->watch_fd);
			changed |= SAW_SOURCES;
			break;
		case SRC_WRITERS: break; /* registry_next_ms drops the writers that exited */
		}
	}
	return changed;
}

/* rebuild_on_wazo_upgrade: the running Wazo version changed; every plugin that has a
 * kept source is rebuilt, each its own job (queued for the worker). */
static void rebuild_after_upgrade(struct daemon *p)
{
	struct strbuf said = STRBUF_INIT;
	int n = daemon_rebuild_all(p, 0, &said);
	syslog(LOG_INFO, "the Wazo version changed: %d plugin(s) queued for a rebuild", n);
	strbuf_release(&said);
}

/* The loop: one thread, one epoll set: the eventfd fs/ writes to (a copy changed, a
 * close, stop), the pidfds of the copies' writers (through the registry), inotify on
 * dpkg's database and the market file, and one timerfd for the next deadline. Nothing
 * wakes it while nothing happens. */
static void *loop_main(void *arg)
{
	struct daemon *p = arg;
	char status_path[PATH_MAX];
	dpkg_status_path(p->cfg.root, status_path, sizeof(status_path));
	int look = 1; /* dpkg's database and the market are to be looked at */
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int stop = p->stopping;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		if (look || p->watch_fd < 0)
			look = look_at_sources(p, status_path) == -EAGAIN;
		registry_queue_complete(p);
		int ms = registry_next_ms(p);
		if ((p->watch_fd < 0 || look) && (ms < 0 || ms > LOOK_MS))
			ms = LOOK_MS;
		arm_timer(p->timer_fd, ms);
		int saw = loop_wait(p);
		if (saw & SAW_SOURCES)
			look = 1;
		if ((saw & SAW_WAZO) && wazo_version_event(p) && p->cfg.rebuild_on_wazo_upgrade)
			rebuild_after_upgrade(p);
	}
	return NULL;
}

/* ---- life cycle ---- */

/* One daemon per state dir: an exclusive lock on state/lock for the daemon's life (the
 * fd is inherited across the daemonizing fork). A second daemon fails before touching
 * anything. */
static int lock_state_dir(struct daemon *p, struct error *err)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/lock", p->cfg.state)) {
		error_addf(err, "state dir %s: path too long", p->cfg.state);
		return -ENAMETOOLONG;
	}
	p->state_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (p->state_lock_fd < 0) {
		int e = errno;
		error_addf(err, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (flock(p->state_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK)
			error_addf(err, "state dir %s is in use by another wazofs", p->cfg.state);
		else
			error_addf(err, "cannot lock %s: %s", path, strerror(e));
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return 0;
}

/* The build user must be able to reach STATE/work: state gets o+x (not r); a parent
 * that the build user cannot cross is an error that says which. */
static int build_user_reaches(struct daemon *p, struct error *err)
{
	struct stat st;
	if (stat(p->cfg.state, &st) < 0 || chmod(p->cfg.state, (st.st_mode & 07777) | 0001) < 0) {
		error_addf(err, "state '%s': %s", p->cfg.state, strerror(errno));
		return -errno;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", p->cfg.state);
	for (char *slash; (slash = strrchr(dir, '/')) && slash != dir;) {
		*slash = 0;
		if (stat(dir, &st) < 0)
			continue;
		int x = (st.st_mode & S_IXOTH) ||
			(st.st_uid == p->cfg.build_uid && (st.st_mode & S_IXUSR)) ||
			(st.st_gid == p->cfg.build_gid && (st.st_mode & S_IXGRP));
		if (!x) {
			error_addf(err,
				   "the build user (uid %u) cannot reach %s: %s has mode %04o "
				   "(chmod o+x it, or choose another state)",
				   (unsigned)p->cfg.build_uid, p->work_dir, dir,
				   (unsigned)(st.st_mode & 07777));
			return -EACCES;
		}
	}
	return 0;
}

static int make_dirs(struct daemon *p, struct error *err)
{
	char logs_in[PATH_MAX], logs_pl[PATH_MAX];
	char *pkgs = p->packages_dir;
	const char *st = p->cfg.state;
	if (path_fmt(p->incoming, sizeof(p->incoming), "%s/incoming", st) ||
	    path_fmt(p->jobs_dir, sizeof(p->jobs_dir), "%s/jobs", st) ||
	    path_fmt(p->logs_dir, sizeof(p->logs_dir), "%s/logs", st) ||
	    path_fmt(p->work_dir, sizeof(p->work_dir), "%s/work", st) ||
	    path_fmt(logs_in, sizeof(logs_in), "%s/logs/incoming", st) ||
	    path_fmt(logs_pl, sizeof(logs_pl), "%s/logs/plugins", st) ||
	    path_fmt(pkgs, sizeof(p->packages_dir), "%s/packages", st)) {
		error_addf(err, "state dir %s: path too long", st);
		return -ENAMETOOLONG;
	}
	int rc = lock_state_dir(p, err);
	if (rc)
		return rc;
	rm_rf(p->work_dir);	/* whatever a stopped job left */
	char pending[PATH_MAX]; /* and the sources it had not kept yet */
	if (path_fmt(pending, sizeof(pending), "%s/sources/.pending", st) == 0)
		rm_rf(pending);
	/* copies, logs and jobs may hold secrets: root only (the mount decides who sees
	 * what); work is traversable so the build user reaches its own job dir */
	const char *dirs[] = { p->incoming, p->jobs_dir, p->logs_dir, logs_in,
			       logs_pl,	    pkgs,	 p->work_dir };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		mode_t mode = dirs[i] == p->work_dir ? 0711 : 0700;
		rc = mkdir_p(dirs[i], mode);
		if (!rc && chmod(dirs[i], mode) < 0)
			rc = -errno;
		if (rc) {
			error_addf(err, "cannot create %s: %s", dirs[i], strerror(-rc));
			return rc;
		}
	}
	return p->cfg.build_as_root ? 0 : build_user_reaches(p, err);
}

/* What the pipeline may ask of the daemon. */
static const struct pipeline_host pipeline_host = {
	.installed_version = installed_version,
	.dpkg_changed = on_dpkg_changed,
	.install_dependency = install_dependency,
	.wazo_version = host_wazo_version,
};

int daemon_new(struct daemon **out, const struct wazofs_config *cfg, struct error *err)
{
	struct daemon *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->state_lock_fd = -1;
	p->watch_fd = p->epoll_fd = p->timer_fd = p->wazo_fd = p->wazo_wd = -1;
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&p->pkg_lock, NULL);
	pthread_mutex_init(&p->refresh_lock, NULL);
	pthread_mutex_init(&p->files_lock, NULL);
	pthread_mutex_init(&p->repo_build, NULL);
	p->env = (struct pipeline_env){ &p->cfg, &p->pkg_lock, &pipeline_host, p };
	/* reading, writing or extracting an archive is bounded as a rules step is */
	archive_helper_set_timeout(cfg->job_timeout);
	job_set_log_max(cfg->log_max_bytes);
	int rc = p->wake_fd < 0 ? -errno : make_dirs(p, err);
	if (rc && p->wake_fd < 0)
		error_addf(err, "cannot create an eventfd: %s", strerror(-rc));
	if (!rc && !(p->tracker = tracker_new(cfg->settle_ms, cfg->quiet_ms)))
		rc = -ENOMEM;
	if (!rc && !(p->events = event_log_new(1024)))
		rc = -ENOMEM;
	if (rc) {
		daemon_free(p);
		return rc;
	}
	registry_restore(p);
	wazo_version_start(p); /* before the installed list: compatibility is judged with it */
	refresh_installed(p);
	refresh_market(p, 1);
	*out = p;
	return 0;
}

/* Stops the threads daemon_start started (each flag: that one was). */
static void stop_threads(struct daemon *p, int worker, int remover, int loop)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	for (struct job *j = p->jobs; j; j = j->next)
		if (j->phase == JOB_RUNNING)
			cancel_request(&j->cancel);
	pthread_cond_broadcast(&p->cond);
	registry_wake(p);
	pthread_mutex_unlock(&p->lock);
	if (worker)
		pthread_join(p->worker, NULL);
	if (remover)
		pthread_join(p->remover, NULL); /* queued removals are answered -EINTR */
	if (loop)
		pthread_join(p->loop, NULL);
}

int daemon_start(struct daemon *p)
{
	int rc = loop_open(p);
	if (rc) {
		syslog(LOG_ERR, "cannot set up the daemon's event loop: %s", strerror(-rc));
		loop_close(p);
		return rc;
	}
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_mutex_lock(&p->lock);
	p->started = 1; /* removals may be queued (the repairs at start queue some) */
	pthread_mutex_unlock(&p->lock);
	int rc_worker = pthread_create(&p->worker, NULL, worker_main, p);
	int rc_remover = rc_worker ? -1 : pthread_create(&p->remover, NULL, remover_main, p);
	int rc_loop = rc_remover ? -1 : pthread_create(&p->loop, NULL, loop_main, p);
	rc = rc_worker ? rc_worker : rc_remover ? rc_remover : rc_loop;
	if (rc) {
		stop_threads(p, !rc_worker, !rc_remover, 0);
		p->started = 0;
		loop_close(p);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

void daemon_stop(struct daemon *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->lock);
	event_log_close(p->events);
	pthread_mutex_unlock(&p->lock);
	stop_threads(p, 1, 1, 1);
	loop_close(p);
	daemon_history_flush(p); /* lines of jobs that ended as it stopped */
	registry_flush_files(p);
	p->started = 0;
}

void daemon_free(struct daemon *p)
{
	if (!p)
		return;
	daemon_stop(p);
	wazo_version_stop(p);
	for (struct job *j = p->jobs, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	rendered_texts_free(p->installed_status, p->n_installed);
	installed_extras_free(p->installed_extra, p->n_installed);
	dpkg_free_plugins(p->installed, p->n_installed);
	plugin_index_free(&p->installed_index);
	market_free(p->market);
	name_list_free(&p->queue);
	name_list_free(&p->empty_ns);
	name_list_free(&p->history_pending);
	tracker_free(p->tracker);
	event_log_free(p->events);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	pthread_mutex_destroy(&p->pkg_lock);
	pthread_mutex_destroy(&p->refresh_lock);
	pthread_mutex_destroy(&p->files_lock);
	pthread_mutex_destroy(&p->repo_build);
	name_list_free(&p->gone_files);
	apt_repo_free(&p->repo);
	if (p->state_lock_fd >= 0)
		close(p->state_lock_fd);
	free(p);
}

/* ---- incoming/ ---- */

const struct wazofs_config *daemon_config(struct daemon *p)
{
	return &p->cfg;
}

const char *daemon_incoming_dir(struct daemon *p)
{
	return p->incoming;
}
