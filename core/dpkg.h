/* dpkg: the only place that runs dpkg and dpkg-query. With a root other than "/",
 * dpkg runs as `dpkg --root=DIR --force-script-chrootless` (maintainer scripts run on
 * the host with DPKG_ROOT set). Upgrades never prompt (--force-confdef/confold). */
#ifndef WAZOFS_DPKG_H
#define WAZOFS_DPKG_H
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>

struct installed_plugin {
	char ns[64], name[128], version[128], package[256];
	char status[4];	    /* dpkg's Status-Abbrev: selection, then state ('i' installed) */
	char depends[2048]; /* the Depends field */
};

/* Installs deb. Returns dpkg's exit status or -errno. Output goes to log_fd. */
int dpkg_install(const char *root, const char *deb, int log_fd, atomic_int *cancel);
/* apt-get update, then apt-get install of deb (resolving its Depends). With a root other
 * than "/", apt works inside it: -o Dir=ROOT and dpkg's root options. */
int apt_update(const char *root, int log_fd, atomic_int *cancel);
int apt_install(const char *root, const char *deb, int log_fd, atomic_int *cancel);
/* 1 when the Depends field deps names package (alternatives and versions allowed). */
int dpkg_depends_on(const char *deps, const char *package);
/* Purges the packages (NULL-terminated); -E2BIG past about 120 of them. */
int dpkg_purge(const char *root, const char *const *packages, int log_fd);
/* Every package of section wazo-plugind-plugin named wazo-plugind-<name>-<ns> known to
 * the dpkg database under root (installed or half-installed). *out is malloc'd. */
int dpkg_list_plugins(const char *root, struct installed_plugin **out, size_t *n);
/* Path of the dpkg status file under root (to notice changes made by others). */
void dpkg_status_path(const char *root, char *out, size_t outlen);
/* 1 when dpkg's state for it is "installed", whatever the selection ("ii", "pi", "hi"). */
int dpkg_is_installed(const struct installed_plugin *p);
/* 1 when a dpkg run holds the database lock under root (its states are in flux). */
int dpkg_busy(const char *root);
/* Splits a plugin package name; returns 0 when it has the wazo-plugind form. */
int dpkg_split_package(const char *package, char *name, size_t nlen, char *ns, size_t nslen);
#endif
