/* daemon_jobs: running install jobs, in the worker thread (see daemon_jobs.c). */
#ifndef WAZOFS_DAEMON_JOBS_H
#define WAZOFS_DAEMON_JOBS_H
#include "registry.h"

/* A copy or an install request incoming/ENTRY. */
void run_install(struct daemon *p, const char *entry);
/* job: a queued market job, or NULL to make one (a dependency). */
int run_market_job(struct daemon *p, struct job *job, const char *ns, const char *name,
		   struct name_list *chain, struct error *err);
/* A queued rebuild of ns/name from its kept source (job->rebuild), in this thread. */
int run_rebuild_job(struct daemon *p, struct job *job, const char *ns, const char *name);
/* Queues a rebuild of every plugin that has a kept source, dependencies first, each as
 * its own job, asked for by uid; said gets a line per plugin. Returns how many. */
int daemon_rebuild_all(struct daemon *p, uid_t uid, struct strbuf *said);
/* The pipeline's install_dependency hook. */
int install_dependency(void *ctx, const char *ns, const char *name, struct name_list *chain,
		       struct error *err);
#endif
