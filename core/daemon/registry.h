/* registry: the daemon's state (struct daemon) and its records, owned by the registry
 * module (registry*.c) alone:
 * - registry.c: copies of incoming/ (tracker, queue) and jobs: a job enters the list
 *   by registry_add_job only, and leaves it by drop_job only;
 * - registry_installed.c: installed plugins, from dpkg's database;
 * - registry_packages.c: the index of the kept packages;
 * - registry_cache.c: what changed, told to fs/ (daemon_cache_hooks);
 * - registry_events.c: what happened, told to MOUNT/events and STATE/history.
 * The other files of core/daemon include this header and their own, never each other's
 * (make check-layers): daemon.c (the life cycle, the loop and the worker) alone calls
 * them. Not for fs/: it uses daemon.h only. */
#ifndef WAZOFS_REGISTRY_H
#define WAZOFS_REGISTRY_H
#include "daemon.h"
#include "jobs/job.h"
#include "jobs/pipeline.h"
#include "plugin/apt_repo.h"
#include "plugin/dpkg.h"
#include "plugin/market.h"
#include "plugin/plugin_index.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define REINSTALL_SUFFIX ".reinstall"

struct rendered_text {
	char *text; /* NULL: not rendered yet */
	size_t len;
};

struct incoming_tracker;
struct event_log;
struct removal;

/* What dpkg's database does not say of an installed plugin: read with its record
 * (refresh_installed, without the lock) and kept beside it. */
struct installed_extra {
	char *min_wazo, *max_wazo; /* its plugin.yml's bounds; NULL: none */
	char origin[1024];	   /* its kept origin line; "" none (wazo-plugind's) */
	char source_sha256[65];	   /* from its installed wazofs-buildinfo; "" none */
	int has_source;		   /* its kept source tree is there: it can be rebuilt */
	int compatible;		   /* against the running Wazo version: 1, 0, -1 unknown */
	char reason[256];	   /* why not, when compatible is 0 */
};

struct daemon {
	struct wazofs_config cfg;
	/* The lock order, outermost first: files_lock, pkg_lock or repo_build (never
	 * two of them), then lock; the
	 * tracker's, the event log's and fs/'s (the cache hooks) own locks are taken inside lock,
	 * and nothing is taken inside them. lock is never held across a fork, a wait on a child or
	 * a directory read, and no file is written or removed under it; syslog is called without
	 * it. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled when the queue, a job, a removal or stopping change */
	int wake_fd;	     /* eventfd: wakes the loop (incoming/ changed, a close, stop) */
	pthread_mutex_t pkg_lock; /* one dpkg or apt run at a time (taken by the worker) */
	/* one refresh_installed at a time (it reads the old list without lock); taken
	 * inside pkg_lock, outside lock */
	pthread_mutex_t refresh_lock;
	/* the saved statuses and incoming logs on disk, written or removed by one thread
	 * at a time (persist_status, registry_flush_files); outermost of all */
	pthread_mutex_t files_lock;
	struct name_list gone_files;		 /* under lock: files of dropped jobs, to remove */
	struct job *jobs;			 /* newest first */
	struct installed_plugin *installed;	 /* sorted by namespace, then name */
	struct installed_extra *installed_extra; /* n_installed of them, beside installed */
	size_t n_installed;
	struct plugin_index installed_index;
	/* installed[i]'s status text, rendered at its first read and kept until the list is
	 * replaced (only a dpkg refresh changes it); NULL when it could not be allocated */
	struct rendered_text *installed_status;
	struct name_list queue;	   /* incoming entries waiting for the worker */
	struct name_list empty_ns; /* namespaces made with mkdir */
	/* history lines of jobs that ended under the lock, not yet in state/history */
	struct name_list history_pending;
	int stopping;
	struct incoming_tracker *tracker;
	pthread_t worker, remover, loop;
	int epoll_fd, timer_fd, watch_fd; /* the loop's (daemon.c); watch_fd -1: no inotify */
	struct removal *removals;	  /* rm -r of plugins, for the remover (under lock) */
	int started;
	struct stat dpkg_seen;	       /* under lock: dpkg's status file when last read */
	struct market *market;	       /* NULL without a (valid) market file */
	struct stat market_seen;       /* loop thread only */
	struct timespec market_loaded; /* under lock */
	int state_lock_fd;	       /* flock'd: one daemon per state dir */
	struct event_log *events;      /* MOUNT/events */
	/* under lock: the running Wazo version ("" unknown), and why the last read of
	 * WAZO-VERSION was refused ("" when it was not) */
	char wazo_version[64];
	char wazo_error[512];
	int wazo_fd; /* the loop's inotify on <root>/usr/share/wazo (daemon_wazo.c), -1 */
	int wazo_wd; /* its watch: on that directory (1), on a parent waiting for it (0) */
	struct timespec tree_changed; /* under lock: the last job change or dpkg refresh */
	char incoming[PATH_MAX], jobs_dir[PATH_MAX], logs_dir[PATH_MAX], work_dir[PATH_MAX];
	char packages_dir[PATH_MAX]; /* state/packages: the kept packages */
	struct pipeline_env env;
	struct daemon_cache_hooks cache; /* under lock */
	/* the kept packages (repo/, versions/): replaced under lock, and only by the
	 * thread holding repo_build (one rebuild at a time; outermost, taken alone) */
	struct apt_repo repo;
	int repo_built;
	pthread_mutex_t repo_build;
};

/* ---- registry.c: copies and jobs ---- */
/* Under p->lock: */
struct job *find_job_for_plugin(struct daemon *p, const char *ns, const char *name);
struct job *find_job_for_entry(struct daemon *p, const char *entry);
/* Under p->lock: job enters the list, first, in phase, asked for by asked_uid; named
 * ns/name/version when ns is given (version may be NULL). An ended job it replaces (the
 * same copy; the same plugin for a job without a copy) is dropped; the registry hears
 * its changes from now on. */
void registry_add_job(struct daemon *p, struct job *job, enum job_phase phase, uid_t asked_uid,
		      const char *ns, const char *name, const char *version);
/* Under p->lock: forgets a finished job: its record; its saved status (and its log
 * unless keep_log) go at the next registry_flush_files, which the caller makes once it
 * lets the lock go (no file I/O under the lock). */
void drop_job(struct daemon *p, struct job *job, int keep_log);
/* Without p->lock: removes the files of the jobs dropped, but for an entry that has a
 * job again (the files are the new job's). */
void registry_flush_files(struct daemon *p);
/* Without p->lock: the end of a job the calling thread ran (rc 0: installed) is seen:
 * its history line and the kernel's copy of its text go first; then a success is
 * forgotten (dpkg's database speaks for the plugin), a failure stays listed. The
 * caller must not touch job after. */
void registry_end_job(struct daemon *p, struct job *job, int rc);
/* Saves job's rendered status (incoming jobs only; takes p->lock to render). */
void persist_status(struct daemon *p, struct job *job);
/* The paths below (0, or -ENAMETOOLONG with out ""): */
/* state/logs/incoming/<entry>.log: the log of a job from incoming/ */
int incoming_log_path(struct daemon *p, const char *entry, char *out, size_t len);
/* state/logs/plugins/<ns>.<name>.log */
int plugin_log_path(struct daemon *p, const char *ns, const char *name, char *out, size_t len);
/* state/jobs/<entry>.status, where a failed incoming job's status is saved */
int status_file_path(struct daemon *p, const char *entry, char *out, size_t len);
/* At start: failed jobs come back from their saved status; other copies are queued. */
void registry_restore(struct daemon *p);
/* Queues the copies that are whole now (writers gone, settled). */
void registry_queue_complete(struct daemon *p);
/* How many changes incoming/ENTRY has had (tells whether it changed during a job). */
unsigned long registry_copy_generation(struct daemon *p, const char *entry);
/* incoming/ENTRY is gone or taken: no longer tracked. */
void registry_copy_forget(struct daemon *p, const char *entry);
/* For the loop: an fd readable when a writer of a copy has exited, and the ms until the
 * next copy may be whole (-1: none). */
int registry_writers_fd(struct daemon *p);
int registry_next_ms(struct daemon *p);
/* Wakes the loop (a copy changed, a close, stop). */
void registry_wake(struct daemon *p);

/* ---- registry_installed.c: installed plugins ---- */
/* Reads the dpkg database again (takes p->lock to swap the records). */
void refresh_installed(struct daemon *p);
/* Whether dpkg's status file (path status) changed since the last read. */
int registry_dpkg_changed(struct daemon *p, const char *status);
/* Under p->lock. */
const struct installed_plugin *find_installed(struct daemon *p, const char *ns, const char *name);
/* Frees the n kept status texts of an installed list (texts may be NULL). */
void rendered_texts_free(struct rendered_text *texts, size_t n);
/* Frees n extras (NULL allowed). */
void installed_extras_free(struct installed_extra *x, size_t n);
/* Under p->lock: the extra of an installed record. */
const struct installed_extra *installed_extra_of(struct daemon *p,
						 const struct installed_plugin *ip);
/* The running Wazo version into out ("" unknown); takes p->lock. */
void registry_wazo_version(struct daemon *p, char *out, size_t len);
/* A read of the running Wazo version: version (NULL: the read was refused, error says
 * why, and the last good one stays). Every plugin's compatibility follows; a change is
 * told (events, fs/). Returns 1 when a known version changed to another, else 0. Takes
 * p->lock. */
int registry_set_wazo_version(struct daemon *p, const char *version, const char *error);

/* ---- registry_packages.c: the kept packages ---- */
/* Without p->lock: indexes state/packages again (repo/ and versions/), when its files
 * changed. */
void daemon_repo_refresh(struct daemon *p);

/* ---- registry_cache.c: what changed, for fs/ ---- */
/* Under p->lock (daemon_cache_hooks): plugin ns/name; job j (and its plugin); the
 * market; the kept packages. */
void daemon_plugin_changed(struct daemon *p, const char *ns, const char *name);
void daemon_job_paths_changed(struct daemon *p, const struct job *j);
void daemon_market_changed(struct daemon *p);
void daemon_repo_changed(struct daemon *p);
/* Without p->lock: removes the copy incoming/ENTRY, then tells fs/ it is gone. Returns
 * rm_rf's result. */
int daemon_remove_copy(struct daemon *p, const char *entry);
/* Without any lock: waits until fs/ has dropped what it was told. */
void daemon_cache_flush(struct daemon *p);

/* ---- registry_events.c: events and history ---- */
/* Under p->lock: a change of job j (the job's on_change, set by registry_add_job). */
void daemon_job_changed(void *ctx, struct job *j);
/* Under p->lock: events of the running Wazo version's change, and of a plugin's
 * compatibility with it. */
void daemon_wazo_event(struct daemon *p, const char *old_version, const char *version);
void daemon_compat_event(struct daemon *p, const struct installed_plugin *ip,
			 const struct installed_extra *x);
/* Writes the history lines queued while the lock was held (call without it). */
void daemon_history_flush(struct daemon *p);
/* Appends one line to STATE/history (credentials in URLs redacted; without p->lock). */
void daemon_history_add(struct daemon *p, uid_t uid, const char *action, const char *ns,
			const char *name, const char *old_version, const char *new_version,
			const char *result);
/* The uid the current request runs for (set through daemon_set_caller). */
uid_t daemon_caller(void);
#endif
