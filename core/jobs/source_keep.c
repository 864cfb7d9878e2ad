/* source_keep: see source_keep.h. */
#include "source_keep.h"
#include "base/fsutil.h"
#include "plugin/plugin_meta.h"
#include "plugin/source_store.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

void source_keep_take(struct job *job, const struct wazofs_config *cfg, const char *ns,
		      const char *name, const char *version, const char *root, const char *origin,
		      time_t date, struct source_keep *sk)
{
	struct error err = ERROR_INIT;
	char had[8];
	int has_tree = 0;
	memset(sk, 0, sizeof(*sk));
	snprintf(sk->ns, sizeof(sk->ns), "%s", ns);
	snprintf(sk->name, sizeof(sk->name), "%s", name);
	snprintf(sk->version, sizeof(sk->version), "%s", version);
	if (!root &&
	    source_lookup(cfg->state, ns, name, version, had, sizeof(had), NULL, &has_tree) == 0 &&
	    has_tree)
		return; /* that version's package was built here: its source stays */
	int rc =
	    source_paths(cfg->state, ns, name, version, sk->kept, sk->pending, sizeof(sk->kept));
	if (rc)
		error_addf(&err, "%s", strerror(-rc));
	else if (root)
		rc = source_keep(sk->pending, root, origin, date, cfg->source_max_bytes, &err);
	else
		rc = source_keep_origin(sk->pending, origin, date, &err);
	if (rc == -EFBIG)
		job_logf(job,
			 "the source is not kept (no rebuild from it): it holds more than "
			 "source_max_bytes (%llu bytes)\n",
			 cfg->source_max_bytes);
	else if (rc)
		job_logf(job, "the source is not kept (no rebuild from it): %s\n", error_msg(&err));
	else
		sk->state = SOURCE_PENDING;
	error_release(&err);
}

void source_keep_commit(struct job *job, const struct wazofs_config *cfg, struct source_keep *sk)
{
	if (sk->state != SOURCE_PENDING)
		return;
	char pkg[300];
	plugin_package_name(sk->name, sk->ns, pkg, sizeof(pkg));
	int rc = source_commit(cfg->state, pkg, sk->kept, sk->pending, cfg->keep_versions);
	if (rc) {
		job_logf(job, "the source is not kept: cannot move it to %s: %s\n", sk->kept,
			 strerror(-rc));
		rm_rf(sk->pending);
		sk->state = SOURCE_NONE;
		return;
	}
	sk->state = SOURCE_KEPT;
}

void source_keep_end(struct source_keep *sk, int rc, const char *old_version)
{
	if (sk->state == SOURCE_PENDING)
		rm_rf(sk->pending);
	else if (sk->state == SOURCE_KEPT && rc < 0 && strcmp(sk->version, old_version))
		rm_rf(sk->kept);
	sk->state = SOURCE_NONE;
}
