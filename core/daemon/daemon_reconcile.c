/* daemon_reconcile: at start, before any job, finish what a crash (of wazofs, of dpkg,
 * of the machine) left half done in dpkg's database, as an administrator would by hand:
 * a plugin package marked for removal is removed, one left unpacked or half-configured
 * is configured, one left half-installed is installed again from the package kept in
 * state/packages. What cannot be repaired stays in the mount as an error that says what
 * dpkg reports. `dpkg --audit` findings go to syslog. */
#include "base/fsutil.h"
#include "daemon_internal.h"
#include "plugin/plugin_meta.h"
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

/* One repair of a half-installed plugin package; 0 when dpkg now has it right. */
static int repair(struct daemon *p, const struct installed_plugin *ip)
{
	char log[PATH_MAX], deb[PATH_MAX + 512], file[512];
	plugin_log_path(p, ip->ns, ip->name, log, sizeof(log));
	char sel = ip->status[0], state = ip->status[1];
	if (sel == 'r' || sel == 'p') {
		syslog(LOG_NOTICE, "%s/%s: finishing its interrupted removal (dpkg: %s)", ip->ns,
		       ip->name, ip->status);
		return daemon_remove(p, ip->ns, ip->name);
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
		plugin_deb_filename(ip->name, ip->ns, ip->version, file, sizeof(file));
		snprintf(deb, sizeof(deb), "%s/packages/%s", p->cfg.state, file);
		if (access(deb, R_OK) == 0) {
			if (fd >= 0)
				dprintf(fd,
					"at start: dpkg reports %s as '%s': installing %s again\n",
					ip->package, ip->status, file);
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

void daemon_reconcile(struct daemon *p)
{
	log_audit(p);
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
}
