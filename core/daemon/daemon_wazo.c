/* daemon_wazo: see daemon_wazo.h. */
#include "daemon_wazo.h"
#include "base/fsutil.h"
#include "plugin/wazo_version.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <syslog.h>
#include <unistd.h>

enum {
	WATCH_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
		     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF
};

/* Watches <root>/usr/share/wazo, or while it does not exist the nearest parent that
 * does (its creation is then seen, and the watch moves down). */
static void arm(struct daemon *p)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/" WAZO_VERSION_DIR,
		     strcmp(p->cfg.root, "/") ? p->cfg.root : ""))
		return;
	for (;;) {
		int wd = inotify_add_watch(p->wazo_fd, path, WATCH_MASK);
		if (wd >= 0) {
			if (p->wazo_wd >= 0 && p->wazo_wd != wd)
				inotify_rm_watch(p->wazo_fd, p->wazo_wd);
			p->wazo_wd = wd;
			return;
		}
		char *slash = strrchr(path, '/');
		if (errno != ENOENT || !slash || slash == path)
			return;
		*slash = 0;
	}
}

/* Reads the file: the version, or why it was refused (the last good one stays). */
static int read_now(struct daemon *p)
{
	char version[64], last[64];
	struct error err = ERROR_INIT;
	int rc = wazo_version_read(p->cfg.root, version, sizeof(version), &err);
	registry_wazo_version(p, last, sizeof(last));
	int changed = 0;
	if (rc == -ENOENT && !last[0]) {
		changed = registry_set_wazo_version(p, NULL, ""); /* not a Wazo server (yet) */
	} else if (rc) {
		char why[512];
		snprintf(why, sizeof(why), "%s%s%s%s",
			 rc == -ENOENT ? WAZO_VERSION_FILE " is gone" : error_msg(&err),
			 last[0] ? "; Wazo " : "", last,
			 last[0] ? " is kept as the running version" : "");
		syslog(LOG_WARNING, "the running Wazo version is not read: %s", why);
		registry_set_wazo_version(p, NULL, why);
	} else {
		changed = registry_set_wazo_version(p, version, "");
		if (strcmp(version, last))
			syslog(LOG_INFO, "the running Wazo version is %s%s%s%s", version,
			       last[0] ? " (it was " : "", last, last[0] ? ")" : "");
	}
	error_release(&err);
	return changed;
}

void wazo_version_start(struct daemon *p)
{
	p->wazo_fd = p->wazo_wd = -1;
	if (p->cfg.wazo_version[0]) {
		registry_set_wazo_version(p, p->cfg.wazo_version, "");
		return;
	}
	p->wazo_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->wazo_fd < 0)
		syslog(LOG_WARNING,
		       "no inotify for " WAZO_VERSION_FILE " (%m): read at start only");
	else
		arm(p);
	read_now(p);
}

int wazo_version_event(struct daemon *p)
{
	char buf[4096];
	while (p->wazo_fd >= 0 && read(p->wazo_fd, buf, sizeof(buf)) > 0)
		;
	arm(p); /* the directory may have been made, or replaced */
	return read_now(p);
}

void wazo_version_stop(struct daemon *p)
{
	if (p->wazo_fd >= 0)
		close(p->wazo_fd);
	p->wazo_fd = -1;
}
