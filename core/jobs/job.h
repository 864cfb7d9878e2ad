/* job: one install or removal in progress or failed, with its status and log. The
 * status fields are protected by the core state lock (*lock); the job's log fd belongs
 * to the thread that runs the job. */
#ifndef WAZOFS_JOB_H
#define WAZOFS_JOB_H
#include "base/cancel.h"
#include "job_status.h"
#include "plugin/plugin_meta.h"
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

enum job_kind { JOB_INSTALL, JOB_REMOVE };
/* Where a job is: waiting for the worker, being run by a thread (which alone may free
 * it then), or ended (finished or failed: its status says which). */
enum job_phase { JOB_ENDED, JOB_QUEUED, JOB_RUNNING };

struct job {
	struct job *next;      /* in the core's job list; protected by *lock */
	pthread_mutex_t *lock; /* the core state lock */
	enum job_kind kind;
	char entry[NAME_MAX + 1]; /* incoming entry it came from, "" otherwise */
	struct job_status st;	  /* protected by *lock */
	enum job_phase phase;	  /* protected by *lock */
	char *plugin_yml;	  /* the metadata as read; protected by *lock */
	size_t plugin_yml_len;
	char log_path[PATH_MAX];
	int log_fd;	      /* -1 when closed */
	struct cancel cancel; /* rm -r of its plugin or copy, the daemon stopping */
	/* protected by *lock: */
	struct timespec changed; /* when st last changed (CLOCK_REALTIME) */
	uid_t asked_uid;	 /* who asked for it: the copier, or who ran rm -r/mkdir */
	char old_version[128];	 /* installed when the job learnt its plugin; "" none */
	int old_known, reached_install, recorded; /* for the history line */
	/* a failure from now on is undone (install_guard): its end (and history line)
	 * waits for the undo */
	int undo_pending;
	int failed_pending; /* it failed, and shows state installing until the undo ends */
	int rebuild; /* a queued rebuild of its plugin from the kept source (not the market) */
	/* called under *lock after every change of st (set by the owner of the job) */
	void (*on_change)(void *ctx, struct job *j);
	void *on_change_ctx;
};

/* Allocates a job (caller frees with job_free) with its log opened at log_path
 * (truncated). Returns NULL and sets errno on failure. */
struct job *job_new(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
		    const char *log_path);
/* The same, its log appended to (a job a restart finishes). */
struct job *job_resume(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
		       const char *log_path);
/* A failed install job saved before a restart: status st (taken over on success), log
 * left as it is (closed). NULL on allocation failure (st then stays the caller's). */
struct job *job_restore(pthread_mutex_t *lock, const char *entry, const char *log_path,
			struct job_status *st);
void job_free(struct job *j);
/* Closes the log (cut to log_max as job_step cuts it). */
void job_close_log(struct job *j);
/* The most a job's log keeps (its head and tail, half each; job_step and job_close_log
 * cut it). The daemon sets log_max_bytes. */
void job_set_log_max(size_t bytes);
/* Under *lock: after a change of j->st made by the caller; stamps and notifies. */
void job_changed(struct job *j);

/* Records the step (under the lock) and writes it as a heading in the log. */
void job_step(struct job *j, enum job_step step);
/* Records namespace, name, version and package (a method apt job, before any metadata). */
void job_name(struct job *j, const char *ns, const char *name, const char *version);
/* The same once the metadata is valid, with the metadata as read. */
void job_identify(struct job *j, const struct plugin_meta *m, const char *yml, size_t len);
/* Fails the job at its current step; the reason goes to the log too. */
void job_fail(struct job *j, const char *error_id, const char *message, const struct error *report,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void job_logf(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the state (installing, installed, uninstalling) under the lock. */
void job_set_state(struct job *j, enum job_state state);
/* Where the plugin comes from (status's origin:, redacted by the caller). */
void job_set_origin(struct job *j, const char *origin);
/* The SHA-256 of the source it builds (status's source_sha256:). */
void job_set_source_sha256(struct job *j, const char *hex);
/* A dependency (ns/name) this job installed: its status lists it. */
void job_dependency_added(struct job *j, const char *key);
/* From the installing step on, a failure is undone: the job's end waits for it. */
void job_undo_pending(struct job *j, int pending);
/* The undo of the failed job is over: the version installed again ("none": purged),
 * or why it failed (error not ""). */
void job_rolled_back(struct job *j, const char *version, const char *error);
#endif
