/* daemon: the daemon's state, its worker and monitor threads, and the jobs they run
 * (see daemon.h; the struct and the locking rules are in daemon_internal.h). */
#include "base/fsutil.h"
#include "daemon_internal.h"
#include "incoming_tracker.h"
#include "jobs/job.h"
#include "jobs/pipeline.h"
#include "jobs/tree_import.h"
#include "plugin/archive_helper.h"
#include "plugin/dpkg.h"
#include "plugin/install_request.h"
#include "plugin/market.h"
#include "plugin/plugin_package.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* ---- the installed cache ---- */

static int same_record(const struct installed_plugin *a, const struct installed_plugin *b)
{
	return strcmp(a->version, b->version) == 0 && strcmp(a->status, b->status) == 0 &&
	       a->installed_at.tv_sec == b->installed_at.tv_sec &&
	       a->installed_at.tv_nsec == b->installed_at.tv_nsec;
}

/* Under p->lock: tells fs/ about every plugin that differs between two sorted lists. */
static void installed_changed(struct daemon *p, const struct installed_plugin *a, size_t na,
			      const struct installed_plugin *b, size_t nb)
{
	size_t i = 0, k = 0;
	while (i < na || k < nb) {
		int c = i == na	  ? 1
			: k == nb ? -1
				  : dpkg_plugin_cmp(a[i].ns, a[i].name, b[k].ns, b[k].name);
		if (c < 0) {
			daemon_plugin_changed(p, a[i].ns, a[i].name);
			i++;
		} else if (c > 0) {
			daemon_plugin_changed(p, b[k].ns, b[k].name);
			k++;
		} else {
			if (!same_record(&a[i], &b[k])) {
				daemon_plugin_changed(p, a[i].ns, a[i].name);
				daemon_plugin_changed(p, b[k].ns, b[k].name);
			}
			i++, k++;
		}
	}
}

/* Frees the n kept status texts of an installed list that was replaced (texts may be
 * NULL). */
static void rendered_texts_free(struct rendered_text *texts, size_t n)
{
	for (size_t i = 0; texts && i < n; i++)
		free(texts[i].text);
	free(texts);
}

void refresh_installed(struct daemon *p)
{
	/* the status file as it was before the query: a change made during it is seen
	 * by the monitor's next look, and the state read here is not read twice */
	struct stat before;
	char status[PATH_MAX];
	dpkg_status_path(p->cfg.root, status, sizeof(status));
	int have_before = stat(status, &before) == 0;
	struct installed_plugin *list;
	size_t n;
	int rc = dpkg_list_plugins(p->cfg.root, &list, &n);
	if (rc) {
		syslog(LOG_WARNING, "reading the dpkg database under %s failed: %s", p->cfg.root,
		       strerror(-rc));
		return;
	}
	struct plugin_index idx;
	plugin_index_build(&idx, list, n); /* without it, a binary search */
	struct rendered_text *texts = calloc(n ? n : 1, sizeof(*texts)); /* NULL: not kept */
	pthread_mutex_lock(&p->lock);
	struct installed_plugin *old = p->installed;
	size_t n_old = p->n_installed;
	struct plugin_index old_idx = p->installed_index;
	struct rendered_text *old_texts = p->installed_status;
	p->installed = list;
	p->n_installed = n;
	p->installed_index = idx;
	p->installed_status = texts;
	installed_changed(p, old, n_old, list, n);
	if (have_before) {
		p->dpkg_seen = before;
		if (before.st_mtim.tv_sec > p->tree_changed.tv_sec)
			p->tree_changed = before.st_mtim;
	}
	pthread_mutex_unlock(&p->lock);
	rendered_texts_free(old_texts, n_old);
	dpkg_free_plugins(old, n_old);
	plugin_index_free(&old_idx);
}

/* Whether dpkg's status file changed since the last read of the database. */
static int dpkg_changed_since_read(struct daemon *p, const char *status)
{
	struct stat st;
	if (stat(status, &st) < 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	int changed = !file_state_same(&st, &p->dpkg_seen);
	pthread_mutex_unlock(&p->lock);
	return changed;
}

struct timespec daemon_tree_mtime(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct timespec t = p->tree_changed;
	pthread_mutex_unlock(&p->lock);
	return t;
}

static void on_dpkg_changed(void *ctx)
{
	refresh_installed(ctx);
}

/* Under p->lock. */
const struct installed_plugin *find_installed(struct daemon *p, const char *ns, const char *name)
{
	size_t i = plugin_index_find(&p->installed_index, p->installed, p->n_installed, ns, name);
	return i < p->n_installed ? &p->installed[i] : NULL;
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

/* ---- jobs (all under p->lock) ---- */

struct job *find_job_for_plugin(struct daemon *p, const char *ns, const char *name)
{
	for (struct job *j = p->jobs; j; j = j->next)
		if (strcmp(j->st.ns, ns) == 0 && strcmp(j->st.name, name) == 0)
			return j;
	return NULL;
}

struct job *find_job_for_entry(struct daemon *p, const char *entry)
{
	for (struct job *j = p->jobs; j; j = j->next)
		if (j->entry[0] && strcmp(j->entry, entry) == 0)
			return j;
	return NULL;
}

static void unlink_job(struct daemon *p, struct job *job)
{
	for (struct job **pp = &p->jobs; *pp; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			return;
		}
}

/* Names job after ns/name (version may be NULL) and puts it first in the list. */
void attach_job(struct daemon *p, struct job *job, const char *ns, const char *name,
		const char *version)
{
	snprintf(job->st.ns, sizeof(job->st.ns), "%s", ns);
	snprintf(job->st.name, sizeof(job->st.name), "%s", name);
	snprintf(job->st.version, sizeof(job->st.version), "%s", version ? version : "");
	job->next = p->jobs;
	p->jobs = job;
	daemon_job_paths_changed(p, job);
}

int status_file_path(struct daemon *p, const char *entry, char *out, size_t len)
{
	return path_fmt(out, len, "%s/%s.status", p->jobs_dir, entry);
}

/* Forgets a finished job: record, persisted status (and the incoming log). */
void drop_job(struct daemon *p, struct job *job, int keep_log)
{
	char path[PATH_MAX];
	unlink_job(p, job);
	daemon_job_paths_changed(p, job);
	if (job->entry[0] && status_file_path(p, job->entry, path, sizeof(path)) == 0)
		unlink(path);
	if (!keep_log)
		unlink(job->log_path);
	job_free(job);
}

void persist_status(struct daemon *p, struct job *job)
{
	if (!job->entry[0])
		return;
	struct strbuf sb = STRBUF_INIT;
	char path[PATH_MAX];
	pthread_mutex_lock(&p->lock);
	job_status_render(&job->st, &sb);
	pthread_mutex_unlock(&p->lock);
	if (status_file_path(p, job->entry, path, sizeof(path)) ||
	    (!sb.oom && write_file_atomic(path, sb.buf, sb.len, 0644)))
		syslog(LOG_WARNING, "cannot save the status of incoming/%s: %m", job->entry);
	strbuf_release(&sb);
}

/* ---- the worker ---- */

int incoming_log_path(struct daemon *p, const char *entry, char *out, size_t len)
{
	return path_fmt(out, len, "%s/incoming/%s.log", p->logs_dir, entry);
}

int plugin_log_path(struct daemon *p, const char *ns, const char *name, char *out, size_t len)
{
	return path_fmt(out, len, "%s/plugins/%s.%s.log", p->logs_dir, ns, name);
}

static void *worker_main(void *arg)
{
	struct daemon *p = arg;
	/* reads and hashes every kept package: here, not before the mount */
	daemon_repo_refresh(p);
	daemon_reconcile(p);
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		char *entry = name_list_shift(&p->queue);
		struct job *queued = NULL;
		for (struct job *j = p->jobs; !entry && j; j = j->next)
			if (j->phase == JOB_QUEUED)
				queued = j;
		if (queued) {
			queued->phase = JOB_RUNNING;
			char ns[64], name[128];
			snprintf(ns, sizeof(ns), "%s", queued->st.ns);
			snprintf(name, sizeof(name), "%s", queued->st.name);
			pthread_mutex_unlock(&p->lock);
			struct error err = ERROR_INIT; /* the job's status says it too */
			run_market_job(p, queued, ns, name, NULL, &err);
			error_release(&err);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (!entry) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		struct stat st;
		char src[PATH_MAX];
		if (path_fmt(src, sizeof(src), "%s/%s", p->incoming, entry) == 0 &&
		    lstat(src, &st) == 0)
			run_install(p, entry);
		free(entry);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int entry_is_candidate(const char *entry)
{
	return entry[0] && entry[0] != '.';
}

/* An empty directory (`mkdir incoming/x` before the copy) is nothing to validate yet:
 * it starts no job; what is copied into it later does. */
static int empty_dir(struct daemon *p, const char *entry)
{
	char path[PATH_MAX];
	DIR *d = path_fmt(path, sizeof(path), "%s/%s", p->incoming, entry) ? NULL : opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int empty = 1;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

enum { MONITOR_MAX_PIDFDS = 256, MONITOR_LOOK_MS = 250 };

static void wake_monitor(struct daemon *p)
{
	uint64_t one = 1;
	ssize_t r = write(p->wake_fd, &one, sizeof(one));
	(void)r; /* a full counter means it is awake already */
}

/* Whether a copy whose writers have exited is whole, so its job may start without the
 * settle wait: a plugin tree (wazo/plugin.yml and an executable wazo/rules, at the top
 * or in one directory below), or a single file (an archive, a request, a package). */
static int entry_looks_complete(void *ctx, const char *entry)
{
	struct daemon *p = ctx;
	char path[PATH_MAX * 2];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", p->incoming, entry);
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return 1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	/* the plugin root as the job will find it, with its rules executable */
	char root[PATH_MAX * 2], rules[PATH_MAX * 2 + 16];
	struct error r = ERROR_INIT;
	int found = tree_find_plugin_root(path, root, sizeof(root), &r) == 0;
	error_release(&r);
	if (!found)
		return 0;
	snprintf(rules, sizeof(rules), "%s/wazo/rules", root);
	return access(rules, X_OK) == 0;
}

/* inotify on dpkg's admin dir and on the market file's dir: a change there wakes the
 * monitor, which otherwise sleeps until a copy's deadline (no timer while nothing
 * happens). -1 when inotify cannot watch them: the monitor then looks every
 * MONITOR_LOOK_MS. */
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
		       MONITOR_LOOK_MS);
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
		if (dpkg_changed_since_read(p, status_path))
			refresh_installed(p);
		pthread_mutex_unlock(&p->pkg_lock);
		rc = 0;
	}
	refresh_market(p, 0);
	return rc;
}

/* Queues the copies the tracker says are whole. */
static void queue_complete(struct daemon *p)
{
	struct name_list done = { 0 }, runnable = { 0 };
	tracker_take_complete(p->tracker, &done, entry_looks_complete, p);
	/* which may start a job, read before the lock (no directory is read under it) */
	for (size_t i = 0; i < done.n; i++)
		if (entry_is_candidate(done.v[i]) && !empty_dir(p, done.v[i]))
			name_list_add(&runnable, done.v[i]);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < done.n; i++) {
		struct job *j = find_job_for_entry(p, done.v[i]);
		if (j && j->phase == JOB_RUNNING) /* changed during its job: run again after it */
			tracker_touch(p->tracker, done.v[i], 0);
		else if (name_list_has(&runnable, done.v[i]))
			name_list_add_unique(&p->queue, done.v[i]);
	}
	name_list_free(&runnable);
	if (done.n)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	name_list_free(&done);
}

static void drain(int fd)
{
	char buf[4096];
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *monitor_main(void *arg)
{
	struct daemon *p = arg;
	char status_path[PATH_MAX];
	dpkg_status_path(p->cfg.root, status_path, sizeof(status_path));
	int watch = watch_sources(p, status_path);
	int look = 1; /* dpkg's database and the market are to be looked at */
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int stop = p->stopping;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		if (look || watch < 0)
			look = look_at_sources(p, status_path) == -EAGAIN;
		queue_complete(p);
		/* sleep until a writer exits (its pidfd), a change or a close (wake_fd), the
		 * next settle deadline, or a change of dpkg's database or the market file */
		struct pollfd fds[2 + MONITOR_MAX_PIDFDS];
		int timeout;
		fds[0] = (struct pollfd){ p->wake_fd, POLLIN, 0 };
		fds[1] = (struct pollfd){ watch, POLLIN, 0 }; /* -1: ignored by poll */
		int n = 2 + tracker_poll_set(p->tracker, fds + 2, MONITOR_MAX_PIDFDS, &timeout);
		if ((watch < 0 || look) && (timeout < 0 || timeout > MONITOR_LOOK_MS))
			timeout = MONITOR_LOOK_MS;
		if (poll(fds, (nfds_t)n, timeout) > 0) {
			if (fds[0].revents & POLLIN) {
				uint64_t drained;
				ssize_t r = read(p->wake_fd, &drained, sizeof(drained));
				(void)r;
			}
			if (fds[1].revents & POLLIN) {
				drain(watch);
				look = 1;
			}
		}
	}
	if (watch >= 0)
		close(watch);
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
	rm_rf(p->work_dir); /* whatever a stopped job left */
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

/* Failed jobs come back as they were; other copies are queued again. */
static void restore_incoming(struct daemon *p)
{
	DIR *d = opendir(p->incoming);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!entry_is_candidate(de->d_name))
			continue;
		char path[PATH_MAX], log[PATH_MAX];
		struct strbuf sb = STRBUF_INIT;
		if (status_file_path(p, de->d_name, path, sizeof(path)) ||
		    incoming_log_path(p, de->d_name, log, sizeof(log)))
			continue; /* no name of incoming/ is that long */
		struct job_status st;
		int saved = strbuf_read_file(&sb, path, 1 << 20) == 0;
		int parsed = saved && job_status_parse(sb.buf, sb.len, &st) == 0;
		if (saved && !parsed) {
			/* a failed job whose status cannot be read is still a failed job: never
			 * run it again by itself */
			job_status_init(&st);
			job_status_fail(&st, "install-error", "Installation error", NULL,
					"the saved status of this failed job could not be read; "
					"change the copy to run it again");
		}
		if (saved && st.state == JOB_STATE_ERROR) {
			struct job *j = job_restore(&p->lock, de->d_name, log, &st);
			if (j) {
				daemon_watch_job(p, j, 0);
				j->next = p->jobs;
				p->jobs = j;
			} else
				job_status_destroy(&st);
		} else {
			if (saved)
				job_status_destroy(&st);
			name_list_add_unique(&p->queue, de->d_name);
		}
		strbuf_release(&sb);
	}
	closedir(d);
}

/* What the pipeline may ask of the daemon. */
static const struct pipeline_host pipeline_host = {
	.installed_version = installed_version,
	.dpkg_changed = on_dpkg_changed,
	.install_dependency = install_dependency,
};

int daemon_new(struct daemon **out, const struct wazofs_config *cfg, struct error *err)
{
	struct daemon *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->state_lock_fd = -1;
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&p->pkg_lock, NULL);
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
	restore_incoming(p);
	refresh_installed(p);
	refresh_market(p, 1);
	*out = p;
	return 0;
}

int daemon_start(struct daemon *p)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = pthread_create(&p->worker, NULL, worker_main, p);
	if (!rc) {
		rc = pthread_create(&p->monitor, NULL, monitor_main, p);
		if (!rc && (rc = pthread_create(&p->remover, NULL, remover_main, p))) {
			pthread_mutex_lock(&p->lock);
			p->stopping = 1;
			pthread_cond_broadcast(&p->cond);
			wake_monitor(p);
			pthread_mutex_unlock(&p->lock);
			pthread_join(p->monitor, NULL);
		}
		if (rc) {
			pthread_mutex_lock(&p->lock);
			p->stopping = 1;
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->lock);
			pthread_join(p->worker, NULL);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	p->started = 1;
	return 0;
}

void daemon_stop(struct daemon *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	for (struct job *j = p->jobs; j; j = j->next)
		if (j->phase == JOB_RUNNING)
			cancel_request(&j->cancel);
	event_log_close(p->events);
	pthread_cond_broadcast(&p->cond);
	wake_monitor(p);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->worker, NULL);
	pthread_join(p->monitor, NULL);
	pthread_join(p->remover, NULL); /* a removal under way ends (cancelled), queued ones
					   are answered -EINTR */
	daemon_history_flush(p);	/* lines of jobs that ended as it stopped */
	p->started = 0;
}

void daemon_free(struct daemon *p)
{
	if (!p)
		return;
	daemon_stop(p);
	for (struct job *j = p->jobs, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	rendered_texts_free(p->installed_status, p->n_installed);
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
	apt_repo_free(&p->repo);
	pthread_mutex_destroy(&p->repo_build);
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

void daemon_incoming_touch(struct daemon *p, const char *entry, pid_t pid)
{
	if (tracker_touch(p->tracker, entry, pid))
		wake_monitor(p); /* else the wait it is in ends early enough */
}

void daemon_incoming_open(struct daemon *p, const char *entry, pid_t pid)
{
	tracker_open(p->tracker, entry, pid);
}

void daemon_incoming_close(struct daemon *p, const char *entry)
{
	tracker_close(p->tracker, entry);
	wake_monitor(p); /* the last close may complete it */
}

/* A job may be cancelled by the removal of its copy until dpkg or apt may run for it:
 * a step of its own (no dependency installs, no dpkg run left half done). */
static int cancellable_step(enum job_step step)
{
	return step <= STEP_VALIDATING || step == STEP_BUILDING || step == STEP_PACKAGING;
}

void daemon_incoming_gone(struct daemon *p, const char *entry)
{
	tracker_forget(p->tracker, entry);
	pthread_mutex_lock(&p->lock);
	name_list_remove(&p->queue, entry);
	struct job *j = find_job_for_entry(p, entry);
	if (j && j->phase != JOB_RUNNING)
		drop_job(p, j, 0);
	else if (j && cancellable_step(j->st.step))
		cancel_request(&j->cancel); /* a clone that stalls, a long build */
	pthread_mutex_unlock(&p->lock);
}
