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
#endif
