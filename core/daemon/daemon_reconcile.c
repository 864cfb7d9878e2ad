/* daemon_reconcile: at start, before any job, finish what a crash (of wazofs, of dpkg,
 * of the machine) left half done in dpkg's database, as an administrator would by hand:
 * a plugin package marked for removal is removed, one left unpacked or half-configured
 * is configured, one left half-installed is installed again from the package its job
 * left pending (state/packages/.pending) or else the one kept in state/packages. Then a
 * pending package is kept when dpkg has that version installed, and dropped otherwise.
 * What cannot be repaired stays in the mount as an error that says what dpkg reports.
 * `dpkg --audit` findings go to syslog. */
#include "daemon_reconcile.h"
#include "base/fsutil.h"
#include "jobs/install_guard.h"
#include "plugin/plugin_meta.h"
#include "plugin/plugin_package.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static void log_audit(struct daemon *p)
{
	struct strbuf out = STRBUF_INIT;
	struct dpkg_ctl ctl = { .log_fd = -1,
				.timeout_sec = p->cfg.job_timeout,
				.lock_wait_sec = p->cfg.dpkg_lock_timeout };
	int rc = dpkg_audit(p->cfg.root, &out, &ctl);
	if (rc)
		syslog(LOG_WARNING, "dpkg --audit under %s failed: %s", p->cfg.root, strerror(-rc));
	int lines = 0;
	for (char *l = out.buf, *next; l && *l && lines < 40; l = next, lines++) {
		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		if (*l)
			syslog(LOG_WARNING, "dpkg --audit: %s", l);
	}
	strbuf_release(&out);
}

/* The kept and the pending package of ip's version: 0 or -ENAMETOOLONG. */
static int package_paths(const struct daemon *p, const struct installed_plugin *ip, char *kept,
			 char *pending, size_t len)
{
	return plugin_package_paths(p->packages_dir, ip->ns, ip->name, ip->version, kept, pending,
				    len);
}

/* One repair of a half-installed plugin package; 0 when dpkg now has it right. */
static int repair(struct daemon *p, const struct installed_plugin *ip)
{
	char log[PATH_MAX], kept[PATH_MAX], pending[PATH_MAX];
	plugin_log_path(p, ip->ns, ip->name, log, sizeof(log));
	char sel = ip->status[0], state = ip->status[1];
	if (sel == 'r' || sel == 'p') {
		syslog(LOG_NOTICE, "%s/%s: finishing its interrupted removal (dpkg: %s)", ip->ns,
		       ip->name, ip->status);
		return daemon_remove(p, ip->ns, ip->name); /* by the remover, waited for */
	}
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	struct dpkg_ctl ctl = { .log_fd = fd,
				.timeout_sec = p->cfg.job_timeout,
				.lock_wait_sec = p->cfg.dpkg_lock_timeout };
	int rc;
	pthread_mutex_lock(&p->pkg_lock);
	if (strchr("UFWt", state)) {
		if (fd >= 0)
			dprintf(fd, "at start: dpkg reports %s as '%s': dpkg --configure\n",
				ip->package, ip->status);
		const char *pkgs[] = { ip->package, NULL };
		rc = dpkg_configure(p->cfg.root, pkgs, &ctl);
	} else {
		/* the package being installed when the crash came, else the kept one */
		rc = package_paths(p, ip, kept, pending, sizeof(kept));
		const char *deb = rc			       ? NULL
				  : access(pending, R_OK) == 0 ? pending
				  : access(kept, R_OK) == 0    ? kept
							       : NULL;
		if (deb) {
			if (fd >= 0)
				dprintf(fd,
					"at start: dpkg reports %s as '%s': installing %s again\n",
					ip->package, ip->status, deb);
			rc = dpkg_install(p->cfg.root, deb, &ctl);
		} else {
			rc = -ENOENT;
		}
	}
	pthread_mutex_unlock(&p->pkg_lock);
	if (fd >= 0)
		close(fd);
	if (rc)
		syslog(LOG_WARNING,
		       "%s/%s: dpkg reports '%s' and it could not be repaired (%s); copy the "
		       "plugin again to reinstall it, or rm -r it",
		       ip->ns, ip->name, ip->status,
		       rc == -ENOENT ? "no kept package of that version"
		       : rc < 0	     ? strerror(-rc)
				     : "dpkg failed, see its log");
	else
		syslog(LOG_NOTICE, "%s/%s: repaired (dpkg reported '%s')", ip->ns, ip->name,
		       ip->status);
	return rc;
}

/* dpkg has it half done: not installed, or installed but marked for reinstalling. */
static int half_done(const struct installed_plugin *ip)
{
	return !dpkg_is_installed(ip) || ip->status[2] == 'R';
}

/* A pending package whose version dpkg has installed (a crash came between dpkg's end and
 * its keeping, or it was repaired above) is kept; every other pending one is dropped.
 * Returns how many were kept. */
static int settle_pending(struct daemon *p)
{
	const char *dir = p->packages_dir;
	char pdir[PATH_MAX];
	if (path_fmt(pdir, sizeof(pdir), "%s/" PLUGIN_PENDING_DIR, dir) || access(pdir, F_OK) < 0)
		return 0;
	struct name_list files = { 0 }; /* the package file of each version dpkg has */
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_installed; i++) {
		const struct installed_plugin *ip = &p->installed[i];
		char file[512];
		if (half_done(ip))
			continue;
		plugin_deb_filename(ip->name, ip->ns, ip->version, file, sizeof(file));
		name_list_add(&files, file);
	}
	pthread_mutex_unlock(&p->lock);
	int n = 0;
	for (size_t i = 0; i < files.n; i++) {
		char kept[PATH_MAX], pending[PATH_MAX];
		if (path_fmt(kept, sizeof(kept), "%s/%s", dir, files.v[i]) ||
		    path_fmt(pending, sizeof(pending), "%s/%s", pdir, files.v[i]) ||
		    access(pending, F_OK) < 0)
			continue;
		if (rename(pending, kept) == 0) {
			syslog(LOG_NOTICE, "keeping %s, which dpkg has installed", files.v[i]);
			n++;
		} else
			syslog(LOG_WARNING, "cannot keep %s: %m", pending);
	}
	name_list_free(&files);
	int rc = rm_rf(pdir); /* what never installed */
	if (rc)
		syslog(LOG_WARNING, "cannot remove %s: %s", pdir, strerror(-rc));
	return n;
}

/* A job for the interrupted install of e, running, as the pipeline's would be after
 * its installing step: the job of its copy in incoming/ when that is still there (taken
 * off the queue: it does not run again), its log appended to; NULL (logged). */
static struct job *recovery_job(struct daemon *p, struct guard_entry *e)
{
	char log[PATH_MAX], copy[PATH_MAX];
	struct stat st;
	if (e->entry[0] &&
	    (path_fmt(copy, sizeof(copy), "%s/%s", p->incoming, e->entry) || lstat(copy, &st) < 0))
		e->entry[0] = 0; /* removed meanwhile */
	int rc = e->entry[0] ? incoming_log_path(p, e->entry, log, sizeof(log))
			     : plugin_log_path(p, e->ns, e->name, log, sizeof(log));
	struct job *job =
	    rc ? NULL : job_resume(&p->lock, JOB_INSTALL, e->entry[0] ? e->entry : NULL, log);
	if (!job) {
		syslog(LOG_ERR, "%s/%s: cannot finish its interrupted install: %m", e->ns, e->name);
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	if (e->entry[0])
		name_list_remove(&p->queue, e->entry);
	registry_add_job(p, job, JOB_RUNNING, 0, e->ns, e->name, e->new_version);
	snprintf(job->old_version, sizeof(job->old_version), "%s", e->old_version);
	job->old_known = job->reached_install = 1; /* for its history line */
	pthread_mutex_unlock(&p->lock);
	return job;
}

/* The end of a recovery job (rc as guard_recover's): installed and forgotten (its copy
 * goes, as after any install), or failed and listed (its status says what was undone,
 * and is saved: the copy does not run again by itself). */
static void end_recovery(struct daemon *p, struct job *job, const struct guard_entry *e, int rc)
{
	if (rc == 0) {
		job_set_state(job, JOB_STATE_INSTALLED);
		job_step(job, STEP_COMPLETED);
	}
	job_close_log(job);
	if (rc && e->entry[0])
		persist_status(p, job);
	char plugin_log[PATH_MAX];
	if (rc == 0 && e->entry[0]) { /* as after any install from a copy */
		if (plugin_log_path(p, e->ns, e->name, plugin_log, sizeof(plugin_log)) == 0)
			rename(job->log_path, plugin_log);
		daemon_remove_copy(p, e->entry);
		registry_copy_forget(p, e->entry);
	}
	pthread_mutex_lock(&p->lock);
	char why[sizeof(job->st.reason)];
	snprintf(why, sizeof(why), "%s", job->st.reason);
	pthread_mutex_unlock(&p->lock);
	registry_end_job(p, job, rc);
	if (rc == 0)
		syslog(LOG_NOTICE, "%s/%s %s: its interrupted install is checked and kept", e->ns,
		       e->name, e->new_version);
	else
		syslog(LOG_WARNING, "%s/%s %s: its interrupted install is undone: %s", e->ns,
		       e->name, e->new_version, why);
}

/* Installs a crash interrupted (the undo journal): each ends at the version before it
 * or at the new one with its checks passed. */
static void recover_interrupted(struct daemon *p)
{
	struct guard_entry *v = NULL;
	int n = guard_list(&p->cfg, &v);
	if (n < 0)
		syslog(LOG_WARNING, "cannot read the undo journal: %s", strerror(-n));
	for (int i = 0; i < n; i++) {
		char version[128] = "", status[4] = "";
		pthread_mutex_lock(&p->lock);
		const struct installed_plugin *ip = find_installed(p, v[i].ns, v[i].name);
		if (ip) {
			snprintf(version, sizeof(version), "%s", ip->version);
			memcpy(status, ip->status, sizeof(status));
		}
		pthread_mutex_unlock(&p->lock);
		struct job *job = recovery_job(p, &v[i]);
		if (job)
			end_recovery(p, job, &v[i],
				     guard_recover(job, &p->env, &v[i], version, status));
	}
	free(v);
	if (n > 0)
		refresh_installed(p);
}

void daemon_reconcile(struct daemon *p)
{
	log_audit(p);
	recover_interrupted(p);
	struct installed_plugin *half = NULL;
	size_t n = 0;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_installed; i++)
		n += half_done(&p->installed[i]);
	half = n ? calloc(n, sizeof(*half)) : NULL;
	n = 0;
	/* copies: each repair reads the database again, which frees the list */
	for (size_t i = 0; half && i < p->n_installed; i++)
		if (half_done(&p->installed[i]) &&
		    dpkg_copy_plugin(&half[n], &p->installed[i]) == 0)
			n++;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&p->lock);
		int stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);
		if (stopping)
			break;
		repair(p, &half[i]);
	}
	dpkg_free_plugins(half, n);
	if (n)
		refresh_installed(p);
	if (settle_pending(p))
		daemon_repo_refresh(p); /* versions/ and repo/ show what is kept now */
}
