/* daemon_internal: the core state shared by daemon.c (state, threads, jobs),
 * daemon_views.c (the read-only tree), daemon_remove.c (removal with dependents) and
 * daemon_reconcile.c (repairs at start).
 * Not for fs/: it uses daemon.h only.
 *
 * Locking: p->lock protects jobs, installed, market, queue, empty_ns and stopping; it is never held
 * across a fork, a dpkg run or a wait. p->pkg_lock serializes dpkg runs and is never taken while
 * p->lock is held. The tracker has its own lock. */
#ifndef WAZOFS_DAEMON_INTERNAL_H
#define WAZOFS_DAEMON_INTERNAL_H
#include "daemon.h"
#include "event_log.h"
#include "incoming_tracker.h"
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

struct daemon {
	struct wazofs_config cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled when the queue, a job or stopping change */
	int wake_fd;	     /* eventfd: wakes the monitor (incoming/ changed, a close, stop) */
	pthread_mutex_t pkg_lock;
	struct job *jobs;		    /* newest first */
	struct installed_plugin *installed; /* sorted by namespace, then name */
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
	pthread_t worker, monitor, remover;
	struct removal *removals; /* rm -r of plugins, for the remover (under lock) */
	int removing;		  /* the remover runs one now */
	int started;
	struct stat dpkg_seen;	       /* under lock: dpkg's status file when last read */
	struct market *market;	       /* NULL without a (valid) market file */
	struct stat market_seen;       /* monitor thread only */
	struct timespec market_loaded; /* under lock */
	int state_lock_fd;	       /* flock'd: one daemon per state dir */
	struct event_log *events;      /* MOUNT/events */
	struct timespec tree_changed;  /* under lock: the last job change or dpkg refresh */
	char incoming[PATH_MAX], jobs_dir[PATH_MAX], logs_dir[PATH_MAX], work_dir[PATH_MAX];
	char packages_dir[PATH_MAX]; /* state/packages: the kept packages */
	struct pipeline_env env;
	struct daemon_cache_hooks cache; /* under lock */
	/* the kept packages (repo/, versions/): replaced under lock, and only by the
	 * thread holding repo_build */
	struct apt_repo repo;
	int repo_built;
	pthread_mutex_t repo_build;
};

/* daemon_events.c: job changes as events and history lines. */
void daemon_job_changed(void *ctx, struct job *j); /* under p->lock */
/* Makes p hear j's changes; asked_uid: who asked for the job. */
void daemon_watch_job(struct daemon *p, struct job *j, uid_t asked_uid);
/* Appends one line to STATE/history (credentials in URLs redacted). */
/* Writes the history lines queued while the lock was held (call without it). */
void daemon_history_flush(struct daemon *p);
void daemon_history_add(struct daemon *p, uid_t uid, const char *action, const char *ns,
			const char *name, const char *old_version, const char *new_version,
			const char *result);
/* Under p->lock: tells fs/ what changed (daemon_cache_hooks): plugin ns/name; job j
 * (and its plugin); the market; the kept packages. */
void daemon_plugin_changed(struct daemon *p, const char *ns, const char *name);
void daemon_job_paths_changed(struct daemon *p, const struct job *j);
void daemon_market_changed(struct daemon *p);
void daemon_repo_changed(struct daemon *p);
/* Without p->lock: removes the copy incoming/ENTRY, then tells fs/ it is gone. Returns
 * rm_rf's result. */
int daemon_remove_copy(struct daemon *p, const char *entry);
/* Without any lock: waits until fs/ has dropped what it was told (daemon_cache_hooks). */
void daemon_cache_flush(struct daemon *p);
/* The uid the current FUSE request runs for (set by fs through daemon_set_caller). */
uid_t daemon_caller(void);
/* The remover thread: runs the queued removals, one at a time (daemon_remove.c). */
void *remover_main(void *arg);
/* Without p->lock: indexes state/packages again (repo/ and versions/), when its files
 * changed (daemon_repo.c). */
void daemon_repo_refresh(struct daemon *p);
/* At start, in the worker before any job: repairs plugin packages a crash left half
 * installed or half removed in dpkg's database (daemon_reconcile.c). */
void daemon_reconcile(struct daemon *p);
/* Reads the dpkg database again (takes p->lock to swap the cache). */
void refresh_installed(struct daemon *p);
/* Under p->lock: */
const struct installed_plugin *find_installed(struct daemon *p, const char *ns, const char *name);
struct job *find_job_for_plugin(struct daemon *p, const char *ns, const char *name);
struct job *find_job_for_entry(struct daemon *p, const char *entry);
/* Names job after ns/name (version may be NULL) and puts it first in the list. */
void attach_job(struct daemon *p, struct job *job, const char *ns, const char *name,
		const char *version);
/* Forgets a finished job: record, saved status (and its log unless keep_log). */
void drop_job(struct daemon *p, struct job *job, int keep_log);
/* The paths below (0, or -ENAMETOOLONG with out ""): */
/* state/logs/incoming/<entry>.log: the log of a job from incoming/ */
int incoming_log_path(struct daemon *p, const char *entry, char *out, size_t len);
/* state/logs/plugins/<ns>.<name>.log */
int plugin_log_path(struct daemon *p, const char *ns, const char *name, char *out, size_t len);
/* state/jobs/<entry>.status, where a failed incoming job's status is saved */
int status_file_path(struct daemon *p, const char *entry, char *out, size_t len);
/* Saves job's rendered status (incoming jobs only). */
void persist_status(struct daemon *p, struct job *job);

/* Job runners (daemon_jobs.c), called from the worker thread: */
void run_install(struct daemon *p, const char *entry);
/* job: a queued market job, or NULL to make one (a dependency). */
int run_market_job(struct daemon *p, struct job *job, const char *ns, const char *name,
		   struct name_list *chain, struct error *err);
/* The pipeline's install_dependency hook. */
int install_dependency(void *ctx, const char *ns, const char *name, struct name_list *chain,
		       struct error *err);
#endif
