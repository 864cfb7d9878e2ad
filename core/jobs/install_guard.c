/* install_guard: the health checks and the undo of a failed install (install_guard.h). */
#include "install_guard.h"
#include "base/fsutil.h"
#include "base/subproc.h"
#include "plugin/dpkg.h"
#include "plugin/plugin_package.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTALL_ERROR "install-error", "Installation error"

/* One check: program with NS NAME VERSION, as root, DPKG_ROOT set, cwd /, output in
 * the log, bounded by job_timeout. 0, or the job failed (-EIO). */
static int run_check(struct job *job, const struct pipeline_env *env, const char *program,
		     const char *shown, const char *ns, const char *name, const char *version)
{
	const struct wazofs_config *cfg = env->cfg;
	char dpkg_root[PATH_MAX + 16];
	snprintf(dpkg_root, sizeof(dpkg_root), "DPKG_ROOT=%s",
		 strcmp(cfg->root, "/") ? cfg->root : "");
	const char *vars[] = { subproc_default_path(), dpkg_root, NULL };
	const char *argv[] = { program, ns, name, version, NULL };
	job_logf(job, "$ %s %s %s %s\n", shown, ns, name, version);
	struct subproc sp = { .argv = argv,
			      .env = vars,
			      .log_fd = job->log_fd,
			      .timeout_sec = cfg->job_timeout,
			      .cancel = NULL }; /* a check runs to its end or its timeout */
	int rc = subproc_run(&sp);
	if (rc == 0)
		return 0;
	if (sp.timed_out)
		job_fail(job, INSTALL_ERROR, NULL,
			 "health check %s did not finish within %u seconds (job_timeout) and was "
			 "killed",
			 shown, cfg->job_timeout);
	else if (rc < 0)
		job_fail(job, INSTALL_ERROR, NULL, "cannot run health check %s: %s", shown,
			 strerror(-rc));
	else
		job_fail(job, INSTALL_ERROR, NULL, "health check %s failed (exit %d, see log)",
			 shown, rc);
	return -EIO;
}

/* The executables of dir, in name order (hidden names left out). */
static int list_checks(const char *dir, struct name_list *out)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		if (list[i]->d_name[0] != '.' &&
		    path_fmt(path, sizeof(path), "%s/%s", dir, list[i]->d_name) == 0 &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			name_list_add(out, path);
		free(list[i]);
	}
	free(list);
	return 0;
}

int guard_check(struct job *job, const struct pipeline_env *env, const char *ns, const char *name,
		const char *version)
{
	const struct wazofs_config *cfg = env->cfg;
	char health[PATH_MAX];
	struct stat st;
	struct name_list checks = { 0 };
	if (path_fmt(health, sizeof(health), "%s/" PLUGINS_DIR "/%s/%s/wazo/health",
		     strcmp(cfg->root, "/") ? cfg->root : "", ns, name) == 0 &&
	    lstat(health, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
		name_list_add(&checks, health);
	size_t own = checks.n;
	if (cfg->checks_dir[0] && list_checks(cfg->checks_dir, &checks) < 0)
		job_logf(job, "cannot read %s: %s\n", cfg->checks_dir, strerror(errno));
	int rc = 0;
	for (size_t i = 0; !rc && i < checks.n; i++)
		rc = run_check(job, env, checks.v[i], i < own ? "wazo/health" : checks.v[i], ns,
			       name, version);
	if (!checks.n)
		job_logf(job, "no health check to run\n");
	name_list_free(&checks);
	return rc;
}

/* dpkg's runs of the undo: bounded as the job's, never cancelled (it must finish). */
static struct dpkg_ctl undo_ctl(struct job *job, const struct pipeline_env *env)
{
	return (struct dpkg_ctl){ .log_fd = job->log_fd,
				  .timeout_sec = env->cfg->job_timeout,
				  .lock_wait_sec = env->cfg->dpkg_lock_timeout };
}

/* Why a dpkg run of the undo failed (rc not 0), into why. */
static void undo_failed(const struct dpkg_ctl *c, int rc, const char *what, char *why, size_t len)
{
	if (c->timed_out)
		snprintf(why, len, "%s did not finish within its time and was killed", what);
	else if (c->lock_timed_out)
		snprintf(why, len, "%s: dpkg's lock stayed held by another program", what);
	else if (rc < 0)
		snprintf(why, len, "cannot run %s: %s", what, strerror(-rc));
	else
		snprintf(why, len, "%s failed (exit %d, see log)", what, rc);
}

/* Installs the kept package of ns/name at old: 0, or why it did not into why. */
static int reinstall_kept(struct job *job, const struct pipeline_env *env, const char *ns,
			  const char *name, const char *old, char *why, size_t len)
{
	char dir[PATH_MAX], kept[PATH_MAX], pending[PATH_MAX];
	struct stat st;
	int rc = path_fmt(dir, sizeof(dir), "%s/packages", env->cfg->state);
	if (!rc)
		rc = plugin_package_paths(dir, ns, name, old, kept, pending, sizeof(kept));
	if (rc || lstat(kept, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "no kept package of %s/%s %s (state/packages)", ns, name, old);
		return -ENOENT;
	}
	job_logf(job, "undo: installing the kept package of %s again: %s\n", old, kept);
	struct dpkg_ctl c = undo_ctl(job, env);
	pthread_mutex_lock(env->pkg_lock);
	rc = dpkg_install(env->cfg->root, kept, &c);
	pthread_mutex_unlock(env->pkg_lock);
	if (rc)
		undo_failed(&c, rc, "dpkg --install of the kept package", why, len);
	return rc ? -EIO : 0;
}

/* Purges the package of a first install: 0, or why it did not into why. */
static int purge_new(struct job *job, const struct pipeline_env *env, const char *ns,
		     const char *name, char *why, size_t len)
{
	char pkg[300];
	plugin_package_name(name, ns, pkg, sizeof(pkg));
	const char *pkgs[] = { pkg, NULL };
	job_logf(job, "undo: purging %s (a first install)\n", pkg);
	struct dpkg_ctl c = undo_ctl(job, env);
	pthread_mutex_lock(env->pkg_lock);
	int rc = dpkg_purge(env->cfg->root, pkgs, &c);
	pthread_mutex_unlock(env->pkg_lock);
	if (rc)
		undo_failed(&c, rc, "dpkg --purge", why, len);
	return rc ? -EIO : 0;
}

void guard_undo(struct job *job, const struct pipeline_env *env, const char *ns, const char *name,
		const char *old_version)
{
	char why[512] = "";
	job_logf(job, "== undo ==\n");
	int rc = old_version[0] ? reinstall_kept(job, env, ns, name, old_version, why, sizeof(why))
				: purge_new(job, env, ns, name, why, sizeof(why));
	env->host->dpkg_changed(env->ctx);
	if (rc)
		job_logf(job, "undo failed: %s\n", why);
	job_rolled_back(job, rc ? "" : old_version[0] ? old_version : "none", rc ? why : "");
}
