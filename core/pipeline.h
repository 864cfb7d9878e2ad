/* pipeline: the steps of an install and of a removal, top to bottom, with
 * wazo-plugind's step names. Runs in a worker thread (install) or the caller's thread
 * (removal); never touches the mount. */
#ifndef WAZOFS_PIPELINE_H
#define WAZOFS_PIPELINE_H
#include "config.h"
#include "job.h"
#include <pthread.h>

struct pipeline_env {
	const struct wazofs_config *cfg;
	pthread_mutex_t *pkg_lock; /* serializes every dpkg run */
	void *ctx;
	/* 0 and the version when ns/name is installed, -ENOENT when not */
	int (*installed_version)(void *ctx, const char *ns, const char *name, char *ver,
				 size_t len);
	/* called after every dpkg run, so the listing follows the dpkg database */
	void (*dpkg_changed)(void *ctx);
};

/* Installs the plugin dropped at src (a directory or an archive). Work happens in
 * workdir (created, then removed). Returns 0 (state installed) or -errno (job failed,
 * its status says why). reinstall: rebuild even when the same version is installed. */
int pipeline_install(struct job *job, const struct pipeline_env *env, const char *src,
		     const char *workdir, int reinstall);
/* Purges the packages (dependents first). Returns 0 or -errno (job failed). */
int pipeline_remove(struct job *job, const struct pipeline_env *env,
		    const char *const *packages);
#endif
