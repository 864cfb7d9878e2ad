/* install_guard: what keeps a failed install from breaking the server (the contract's
 * "Upgrades that cannot break the server"): the health checks of the `checking` step,
 * and the undo of an install whose `installing` or `checking` step failed. */
#ifndef WAZOFS_INSTALL_GUARD_H
#define WAZOFS_INSTALL_GUARD_H
#include "job.h"
#include "pipeline.h"

/* The checking step of ns/name at version, just installed: the plugin's own
 * wazo/health (as installed under root) when it is executable, then every executable
 * of the config's checks_dir in name order; each run as root with NAMESPACE NAME
 * VERSION as arguments and DPKG_ROOT set, bounded by job_timeout, its output in the
 * log. 0, or -EIO with the job failed at `checking` saying which check failed. */
int guard_check(struct job *job, const struct pipeline_env *env, const char *ns, const char *name,
		const char *version);
/* Undoes the failed install of ns/name (the job has failed already): with old_version
 * "" (a first install) the package is purged; else the kept package of old_version is
 * installed again with dpkg (no rebuild; its postinst runs `rules install` as dpkg
 * does). The status then says rolled_back_to (or rollback_error when the undo fails
 * too, both outputs in the log). */
void guard_undo(struct job *job, const struct pipeline_env *env, const char *ns, const char *name,
		const char *old_version);

/* The journal of installs under way (STATE/undo/NS.NAME: the version before the job,
 * the new one, the job's incoming/ entry or ""), so a restart after a crash (kill -9, a power loss)
 * finishes what the job could not: written (synced) before dpkg runs, removed when the job has
 * ended (checks passed, or undone). 0 or -errno. */
int guard_begin(const struct wazofs_config *cfg, const char *ns, const char *name,
		const char *old_version, const char *new_version, const char *entry);
void guard_end(const struct wazofs_config *cfg, const char *ns, const char *name);
/* One entry of the journal. */
struct guard_entry {
	char ns[64], name[128], old_version[128], new_version[128], entry[256];
};
/* The entries of the journal (one that is not an entry wazofs wrote is removed): how
 * many, into *out (free() it), or -errno. */
int guard_list(const struct wazofs_config *cfg, struct guard_entry **out);
/* After a restart, the install of e that a crash interrupted, for job (named after it,
 * running): dpkg has version of the package in status (its Status-Abbrev; version ""
 * when it has none). When dpkg has the new version cleanly installed, its checks run (a
 * failure is undone); when it has the old one, nothing is left to do but say so; any
 * other state is undone. 0 when the plugin ends at the new version, checked; else the
 * job has failed (state error, rolled_back_to). The journal entry is removed. */
int guard_recover(struct job *job, const struct pipeline_env *env, const struct guard_entry *e,
		  const char *version, const char *status);
#endif
