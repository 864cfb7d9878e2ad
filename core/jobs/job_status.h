/* job_status: what `status` says about a plugin or a job, and its YAML rendering
 * (the contract's format: key: value lines, values quoted when YAML 1.1 would read
 * them as something other than a string). */
#ifndef WAZOFS_JOB_STATUS_H
#define WAZOFS_JOB_STATUS_H
#include "base/strbuf.h"
#include "plugin/plugin_meta.h"

/* What a job is doing (its status's `state`). Names: job_state_name. */
enum job_state {
	JOB_STATE_INSTALLING,
	JOB_STATE_INSTALLED,
	JOB_STATE_UNINSTALLING,
	JOB_STATE_ERROR,
	JOB_STATE_QUEUED, /* waiting for the worker (MOUNT/status, ENTRY.status) */
};

/* wazo-plugind's install steps, in order, then the removal's (its status's `step`).
 * Names: job_step_name. */
enum job_step {
	STEP_STARTING,
	STEP_DOWNLOADING, /* git and market installs */
	STEP_EXTRACTING,
	STEP_VALIDATING,
	STEP_DEPENDENCIES,
	STEP_BUILDING,
	STEP_PACKAGING,
	STEP_UPDATING,
	STEP_INSTALLING,
	STEP_CHECKING, /* the health checks (wazofs's own step) */
	STEP_CLEANING,
	STEP_COMPLETED,
	STEP_REMOVING,
};

/* The names a status file and MOUNT/events use. */
const char *job_state_name(enum job_state state);
const char *job_step_name(enum job_step step);
/* The value of a name: 0, or -EINVAL for none. */
int job_state_parse(const char *name, enum job_state *out);
int job_step_parse(const char *name, enum job_step *out);

struct job_status {
	enum job_state state;
	enum job_step step;
	char waiting[128]; /* while the job waits on something outside it, what; else "" */
	char ns[64], name[128], version[128], package[256];
	char error_id[32], message[64];
	char reason[1024]; /* one human sentence on what went wrong and where */
	char *details;	   /* rendered body of `details:` (malloc'd) or NULL: step only */
	/* a failed install that was undone: the version installed again, or "none" (a
	 * first install, purged); "" when nothing was undone */
	char rolled_back_to[128];
	char rollback_error[512]; /* the undo failed too: why; else "" */
	/* the plugins this job installed as its dependencies ("ns/name, ..."), which stay
	 * installed when the job fails; else "" */
	char dependencies_added[512];
	/* where the plugin came from ("copy ENTRY", "git URL REF COMMIT", "market",
	 * "package", "apt", credentials redacted); "" when not known */
	char origin[1024];
	char source_sha256[65]; /* the source's (source_digest), "" when not known */
	/* an installed plugin against the running Wazo version: 1 compatible, 0 not (and
	 * why), -1 not said (no running version known, or not an installed plugin) */
	int compatible;
	char incompatible_reason[256];
};

void job_status_init(struct job_status *st);
void job_status_destroy(struct job_status *st);
/* Marks st as failed at its current step. details_report may be NULL. */
void job_status_fail(struct job_status *st, const char *error_id, const char *message,
		     const struct error *details_report, const char *reason_fmt, ...)
    __attribute__((format(printf, 5, 6)));
void job_status_render(const struct job_status *st, struct strbuf *out);
/* Reads back a rendered status (for jobs that failed before a restart). */
int job_status_parse(const char *text, size_t len, struct job_status *st);
#endif
