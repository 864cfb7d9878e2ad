/* pipeline: the steps of an install and of a removal, top to bottom, with
 * wazo-plugind's step names. Runs in a worker thread (install) or the caller's thread
 * (removal); never touches the mount. */
#ifndef WAZOFS_PIPELINE_H
#define WAZOFS_PIPELINE_H
#include "base/name_list.h"
#include "config/config.h"
#include "job.h"
#include <pthread.h>

/* Where the plugin comes from: a copy in incoming/ (a directory, an archive or a plugin
 * package), a git repository (the market's method), or the host's APT sources (apt_name
 * set: the package wazo-plugind-<apt_name>-<apt_ns>, at apt_version when not empty). */
struct install_source {
	const char *path;
	/* what the status's origin says; NULL: made from the source ("copy ENTRY", "git URL
	 * REF COMMIT", "package", "apt") */
	const char *origin;
	/* the source's date (a rebuild: the kept one's); 0: its commit's, else the newest
	 * mtime of its files */
	time_t source_date;
	const char *git_url, *git_ref, *git_subdir;
	const char *apt_ns, *apt_name, *apt_version;
};

/* What the pipeline asks of whoever runs it (the daemon: one const table of its
 * operations). The pipeline knows nothing above itself: installing a dependency goes
 * through install_dependency, which may run the pipeline again for it. */
struct pipeline_host {
	/* 0 and the version when ns/name is installed, -ENOENT when not */
	int (*installed_version)(void *ctx, const char *ns, const char *name, char *ver,
				 size_t len);
	/* called after every dpkg run, so the listing follows the dpkg database */
	void (*dpkg_changed)(void *ctx);
	/* installs the dependency ns/name (from the market) as its own job; chain holds the
	 * "ns/name" being installed, outermost first. 0, or -errno with err saying why. */
	int (*install_dependency)(void *ctx, const char *ns, const char *name,
				  struct name_list *chain, struct error *err);
	/* the running Wazo version now into out ("" when not known) */
	void (*wazo_version)(void *ctx, char *out, size_t len);
};

struct pipeline_env {
	const struct wazofs_config *cfg;
	pthread_mutex_t *pkg_lock; /* serializes every dpkg run */
	const struct pipeline_host *host;
	void *ctx; /* handed to every host operation */
};

/* Installs the plugin from src. Work happens in workdir (created, then removed).
 * Returns 0 (state installed) or -errno (job failed, its status says why).
 * reinstall: rebuild even when the same version is installed. chain: the plugins whose
 * installation led to this one (NULL for none), to report dependency cycles. */
int pipeline_install(struct job *job, const struct pipeline_env *env,
		     const struct install_source *src, const char *workdir, int reinstall,
		     struct name_list *chain);
/* Purges the packages (dependents first). Returns 0 or -errno (job failed). */
int pipeline_remove(struct job *job, const struct pipeline_env *env, const char *const *packages);
#endif
