/* dpkg: the only place that runs dpkg and apt (the database itself is read in process,
 * core/plugin/dpkg_db). With a root other than "/",
 * dpkg runs as `dpkg --root=DIR --force-script-chrootless --log=DIR/var/log/dpkg.log`
 * (maintainer scripts run on the host with DPKG_ROOT set; everything dpkg writes stays
 * under DIR). Upgrades never prompt (--force-confdef/confold). A run that finds the dpkg
 * lock held waits for it (bounded) instead of failing. */
#ifndef WAZOFS_DPKG_H
#define WAZOFS_DPKG_H
#include "base/cancel.h"
#include "base/strbuf.h"
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

struct installed_plugin {
	/* each points into strings, the record's one allocation */
	const char *ns, *name, *version, *package;
	const char *depends; /* the Depends field */
	/* dpkg's Status-Abbrev: selection (i, r, p, h), state (i installed, U unpacked,
	 * F half-configured, H half-installed, W/t triggers), then 'R' when it needs
	 * reinstalling */
	char status[4];
	struct timespec
	    installed_at; /* mtime of its file list (when dpkg installed it); 0 unknown */
	char *strings;
};

/* How one dpkg or apt run is controlled: its output, how long it may take, how it is
 * cancelled, and what to do while another program holds dpkg's lock. */
struct dpkg_ctl {
	int log_fd;		/* stdout and stderr; -1: /dev/null */
	struct cancel *cancel;	/* NULL: cannot be cancelled */
	unsigned timeout_sec;	/* 0: none; the whole process group is killed past it */
	unsigned lock_wait_sec; /* how long to wait for another program's dpkg lock */
	/* called (when set) once when the run starts waiting for the lock, and once with
	 * waiting 0 when it stops waiting */
	void (*on_lock_wait)(void *ctx, int waiting);
	void *ctx;
	struct strbuf *capture; /* when set, stdout goes here instead of log_fd */
	/* out */
	int timed_out, cancelled, lock_timed_out;
};

/* Installs deb. Returns dpkg's exit status or -errno. */
int dpkg_install(const char *root, const char *deb, struct dpkg_ctl *ctl);
/* apt-get update, then apt-get install of deb (resolving its Depends). With a root other
 * than "/", apt works inside it: -o Dir=ROOT and dpkg's root options. dpkg runs with
 * the daemon's PATH (DPkg::Path), so `rules install` finds what it would under dpkg. */
int apt_update(const char *root, struct dpkg_ctl *ctl);
/* apt-get install of deb (a package name, name=version or a .deb path); reinstall:
 * --reinstall, so a version already installed is installed again. */
int apt_install(const char *root, const char *deb, int reinstall, struct dpkg_ctl *ctl);
/* apt-cache show of spec ("package" or "package=version") from the APT sources of root:
 * 0 when apt knows it (its record goes to the log or the capture), 100 when not. */
int apt_show(const char *root, const char *spec, struct dpkg_ctl *ctl);
/* 1 when the Depends field deps names package (alternatives and versions allowed). */
int dpkg_depends_on(const char *deps, const char *package);
/* Purges the packages (NULL-terminated); -E2BIG past about 120 of them. */
int dpkg_purge(const char *root, const char *const *packages, struct dpkg_ctl *ctl);
/* The same with --remove (maintainer scripts see `remove` only). */
int dpkg_remove(const char *root, const char *const *packages, struct dpkg_ctl *ctl);
/* dpkg --configure of the packages (finishes an interrupted install). */
int dpkg_configure(const char *root, const char *const *packages, struct dpkg_ctl *ctl);
/* dpkg --audit: what dpkg itself calls broken, into out ("" when nothing). Returns 0
 * (dpkg exits 1 when it finds something) or -errno. */
int dpkg_audit(const char *root, struct strbuf *out, struct dpkg_ctl *ctl);
/* Every package of section wazo-plugind-plugin named wazo-plugind-<name>-<ns> known to
 * the dpkg database under root (installed or half-installed), sorted by namespace then
 * name (dpkg_plugin_cmp). Free *out with dpkg_free_plugins. */
int dpkg_list_plugins(const char *root, struct installed_plugin **out, size_t *n);
void dpkg_free_plugins(struct installed_plugin *list, size_t n);
/* A copy of src that lives on after its list is freed (free dst->strings). */
int dpkg_copy_plugin(struct installed_plugin *dst, const struct installed_plugin *src);
/* The order of dpkg_list_plugins: namespace, then name. */
int dpkg_plugin_cmp(const char *ns_a, const char *name_a, const char *ns_b, const char *name_b);
/* Path of the dpkg status file under root (to notice changes made by others). */
void dpkg_status_path(const char *root, char *out, size_t outlen);
/* The file dpkg keeps for package under root (var/lib/dpkg/info/PACKAGE.WHAT: md5sums,
 * postrm, ...) into out, at most max bytes; its path into path. 0, -ENOENT, -errno. */
int dpkg_info_read(const char *root, const char *package, const char *what, size_t max,
		   struct strbuf *out, char *path, size_t path_len);
/* 1 when dpkg's state for it is "installed", whatever the selection ("ii", "pi", "hi"). */
int dpkg_is_installed(const struct installed_plugin *p);
/* 1 when a program holds dpkg's database lock (or apt's front-end lock) under root. */
int dpkg_busy(const char *root);
/* Splits a plugin package name; returns 0 when it has the wazo-plugind form. */
int dpkg_split_package(const char *package, char *name, size_t nlen, char *ns, size_t nslen);
#endif
