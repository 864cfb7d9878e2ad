/* job_status: what `status` says about a plugin or a job, and its YAML rendering
 * (the contract's format: key: value lines, values quoted when YAML 1.1 would read
 * them as something other than a string). */
#ifndef WAZOFS_JOB_STATUS_H
#define WAZOFS_JOB_STATUS_H
#include "base/strbuf.h"
#include "plugin/plugin_meta.h"

/* wazo-plugind's install steps, in order. */
#define STEP_STARTING	  "starting"
#define STEP_DOWNLOADING  "downloading" /* git and market installs */
#define STEP_EXTRACTING	  "extracting"
#define STEP_VALIDATING	  "validating"
#define STEP_DEPENDENCIES "installing dependencies"
#define STEP_BUILDING	  "building"
#define STEP_PACKAGING	  "packaging"
#define STEP_UPDATING	  "updating"
#define STEP_INSTALLING	  "installing"
#define STEP_CLEANING	  "cleaning"
#define STEP_COMPLETED	  "completed"
/* removal steps */
#define STEP_REMOVING "removing"

struct job_status {
	char state[16]; /* installing | installed | uninstalling | error */
	char step[32];
	char waiting[128]; /* while the job waits on something outside it, what; else "" */
	char ns[64], name[128], version[128], package[256];
	char error_id[32], message[64];
	char reason[1024]; /* one human sentence on what went wrong and where */
	char *details;	   /* rendered body of `details:` (malloc'd) or NULL: step only */
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
