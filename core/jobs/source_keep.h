/* source_keep: what a job keeps of the source it builds from (plugin/source_store):
 * taken at validating (the tree as copied, extracted or cloned, before any rules step),
 * kept for good just before dpkg installs the package, forgotten when an install of a
 * new version fails. A source that cannot be kept (past source_max_bytes, a full disk)
 * is said in the log; the install goes on. */
#ifndef WAZOFS_SOURCE_KEEP_H
#define WAZOFS_SOURCE_KEEP_H
#include "config/config.h"
#include "job.h"

struct source_keep {
	char kept[PATH_MAX], pending[PATH_MAX];
	char ns[64], name[128], version[128];
	int state; /* SOURCE_NONE, SOURCE_PENDING, SOURCE_KEPT */
};
enum { SOURCE_NONE, SOURCE_PENDING, SOURCE_KEPT };

/* Copies root (NULL: a package or apt install, origin alone; then an entry that holds
 * a tree already is left as it is) as the pending source of ns/name at version, with
 * its origin and date (SOURCE_DATE_EPOCH). */
void source_keep_take(struct job *job, const struct wazofs_config *cfg, const char *ns,
		      const char *name, const char *version, const char *root, const char *origin,
		      time_t date, struct source_keep *sk);
/* The pending source becomes the kept one (before dpkg runs, so the installed plugin's
 * origin is there when its status is read). */
void source_keep_commit(struct job *job, const struct wazofs_config *cfg, struct source_keep *sk);
/* The job ended (rc): a pending source goes; a kept one of a version that is not the
 * one installed before (old_version) goes when the job failed. */
void source_keep_end(struct source_keep *sk, int rc, const char *old_version);
#endif
