/* daemon_jobs: running install jobs, in the worker thread (see daemon_jobs.c). */
#ifndef WAZOFS_DAEMON_JOBS_H
#define WAZOFS_DAEMON_JOBS_H
#include "registry.h"

/* A copy or an install request incoming/ENTRY. */
void run_install(struct daemon *p, const char *entry);
/* job: a queued market job, or NULL to make one (a dependency). */
int run_market_job(struct daemon *p, struct job *job, const char *ns, const char *name,
		   struct name_list *chain, struct error *err);
/* The pipeline's install_dependency hook. */
int install_dependency(void *ctx, const char *ns, const char *name, struct name_list *chain,
		       struct error *err);
#endif
