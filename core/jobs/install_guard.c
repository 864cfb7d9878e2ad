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
	/* a checks_dir that exists but cannot be read fails the step: its checks would not
	 * run, and an unchecked install is what the step is there to prevent */
	int rc = cfg->checks_dir[0] ? list_checks(cfg->checks_dir, &checks) : 0;
	if (rc) {
		job_fail(job, INSTALL_ERROR, NULL, "cannot read the health checks in %s: %s",
			 cfg->checks_dir, strerror(-rc));
		rc = -EIO;
	}
	for (size_t i = 0; !rc && i < checks.n; i++)
		rc = run_check(job, env, checks.v[i], i < own ? "wazo/health" : checks.v[i], ns,
			       name, version);
	if (!rc && !checks.n)
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

/* STATE/undo, or STATE/undo/NS.NAME when ns is given. */
static int journal_path(const struct wazofs_config *cfg, const char *ns, const char *name,
			char *out, size_t len)
{
	return ns ? path_fmt(out, len, "%s/undo/%s.%s", cfg->state, ns, name)
		  : path_fmt(out, len, "%s/undo", cfg->state);
}

int guard_begin(const struct wazofs_config *cfg, const char *ns, const char *name,
		const char *old_version, const char *new_version, const char *entry)
{
	char dir[PATH_MAX], path[PATH_MAX], text[600];
	int rc = journal_path(cfg, NULL, NULL, dir, sizeof(dir));
	if (!rc)
		rc = mkdir_p(dir, 0700);
	if (!rc)
		rc = journal_path(cfg, ns, name, path, sizeof(path));
	int n = snprintf(text, sizeof(text), "%s\n%s\n%s\n", old_version, new_version, entry);
	if (!rc)
		rc = write_file_atomic(path, text, (size_t)n, 0600);
	return rc;
}

void guard_end(const struct wazofs_config *cfg, const char *ns, const char *name)
{
	char path[PATH_MAX];
	if (journal_path(cfg, ns, name, path, sizeof(path)) == 0)
		unlink(path);
}

/* Reads STATE/undo/FILE into e: 0, or -EINVAL when it is not an entry. */
static int read_entry(const char *dir, const char *file, struct guard_entry *e)
{
	char path[PATH_MAX];
	struct strbuf sb = STRBUF_INIT;
	memset(e, 0, sizeof(*e));
	const char *dot = strchr(file, '.');
	int rc = !dot || path_fmt(path, sizeof(path), "%s/%s", dir, file)
		     ? -EINVAL
		     : strbuf_read_file(&sb, path, 1024);
	char *nl = rc || !sb.buf ? NULL : strchr(sb.buf, '\n');
	char *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
	if (!rc &&
	    (!nl2 || (size_t)(dot - file) >= sizeof(e->ns) || strlen(dot + 1) >= sizeof(e->name) ||
	     (size_t)(nl - sb.buf) >= sizeof(e->old_version) ||
	     (size_t)(nl2 - nl - 1) >= sizeof(e->new_version) || nl2 == nl + 1))
		rc = -EINVAL;
	char *nl3 = nl2 ? strchr(nl2 + 1, '\n') : NULL;
	if (!rc && nl3 && (size_t)(nl3 - nl2 - 1) < sizeof(e->entry))
		snprintf(e->entry, sizeof(e->entry), "%.*s", (int)(nl3 - nl2 - 1), nl2 + 1);
	if (!rc) {
		snprintf(e->ns, sizeof(e->ns), "%.*s", (int)(dot - file), file);
		snprintf(e->name, sizeof(e->name), "%s", dot + 1);
		snprintf(e->old_version, sizeof(e->old_version), "%.*s", (int)(nl - sb.buf),
			 sb.buf);
		snprintf(e->new_version, sizeof(e->new_version), "%.*s", (int)(nl2 - nl - 1),
			 nl + 1);
	}
	strbuf_release(&sb);
	return rc;
}

int guard_list(const struct wazofs_config *cfg, struct guard_entry **out)
{
	char dir[PATH_MAX];
	*out = NULL;
	int rc = journal_path(cfg, NULL, NULL, dir, sizeof(dir));
	struct dirent **list;
	int n = rc ? -1 : scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return rc ? rc : errno == ENOENT ? 0 : -errno;
	struct guard_entry *v = calloc((size_t)n + 1, sizeof(*v));
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (v && list[i]->d_name[0] != '.' && read_entry(dir, list[i]->d_name, &v[k]) == 0)
			k++;
		else if (list[i]->d_name[0] != '.') {
			char path[PATH_MAX]; /* not an entry wazofs wrote: it says nothing */
			if (path_fmt(path, sizeof(path), "%s/%s", dir, list[i]->d_name) == 0)
				unlink(path);
		}
		free(list[i]);
	}
	free(list);
	if (!v)
		return -ENOMEM;
	*out = v;
	return k;
}

int guard_recover(struct job *job, const struct pipeline_env *env, const struct guard_entry *e,
		  const char *version, const char *status)
{
	int clean = version[0] && status[1] == 'i' && status[2] != 'R';
	job_logf(job,
		 "at start: the install of %s/%s %s was interrupted (before it: %s); dpkg "
		 "reports %s %s\n",
		 e->ns, e->name, e->new_version, e->old_version[0] ? e->old_version : "none",
		 version[0] ? version : "nothing", status);
	int rc = -EINTR;
	job_undo_pending(job, 1);
	if (clean && strcmp(version, e->new_version) == 0) {
		job_step(job, STEP_CHECKING); /* installed, not checked */
		rc = guard_check(job, env, e->ns, e->name, e->new_version);
	} else if (clean && strcmp(version, e->old_version) == 0) {
		job_fail(job, INSTALL_ERROR, NULL,
			 "interrupted by a restart before dpkg changed it");
		job_rolled_back(job, e->old_version, ""); /* nothing to undo */
	} else {
		job_step(job, STEP_INSTALLING);
		job_fail(job, INSTALL_ERROR, NULL, "interrupted by a restart (dpkg reported %s %s)",
			 version[0] ? version : "nothing", status);
		rc = -EIO;
	}
	if (rc == -EIO)
		guard_undo(job, env, e->ns, e->name, e->old_version);
	else
		job_undo_pending(job, 0);
	guard_end(env->cfg, e->ns, e->name);
	return rc;
}
