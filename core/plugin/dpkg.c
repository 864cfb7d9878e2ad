/* dpkg: argv builders for dpkg and apt, their runs, and the plugins of the dpkg database. */
#include "dpkg.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/subproc.h"
#include "dpkg_db.h"
#include "plugin_package.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 128

static int is_host_root(const char *root)
{
	return !root || !*root || strcmp(root, "/") == 0;
}

/* Root options of dpkg: paths into opts[0] and opts[1]. */
struct root_opts {
	char root[PATH_MAX + 16], log[PATH_MAX + 32];
};

/* Fills argv with dpkg and the root options; returns the count. */
static int dpkg_base(const char *root, const char **argv, struct root_opts *o)
{
	int n = 0;
	argv[n++] = "dpkg";
	if (!is_host_root(root)) {
		char dir[PATH_MAX];
		if (path_fmt(dir, sizeof(dir), "%s/var/log", root) == 0)
			mkdir_p(dir, 0755); /* else dpkg says the log cannot be opened */
		snprintf(o->root, sizeof(o->root), "--root=%s", root);
		snprintf(o->log, sizeof(o->log), "--log=%s/var/log/dpkg.log", root);
		argv[n++] = o->root;
		argv[n++] = "--force-script-chrootless";
		argv[n++] = o->log;
	}
	argv[n++] = "--force-confdef";
	argv[n++] = "--force-confold";
	return n;
}

/* The environment of every dpkg and apt run, built once (threads share it, read-only). */
static const char *dpkg_env_vars[3];
static pthread_once_t dpkg_env_once = PTHREAD_ONCE_INIT;

static void dpkg_env_build(void)
{
	dpkg_env_vars[0] = subproc_default_path();
	dpkg_env_vars[1] = "DEBIAN_FRONTEND=noninteractive";
	dpkg_env_vars[2] = NULL;
}

static const char *const *dpkg_env(void)
{
	pthread_once(&dpkg_env_once, dpkg_env_build);
	return dpkg_env_vars;
}

static int lock_held(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

int dpkg_busy(const char *root)
{
	static const char *const locks[] = { "lock-frontend", "lock" };
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX];
		if (path_fmt(path, sizeof(path), "%s/var/lib/dpkg/%s",
			     is_host_root(root) ? "" : root, locks[i]) == 0 &&
		    lock_held(path))
			return 1;
	}
	return 0;
}

/* Waits (bounded by ctl) until nobody holds dpkg's locks; -ETIMEDOUT, -ECANCELED. */
static int wait_for_lock(const char *root, struct dpkg_ctl *ctl)
{
	if (!dpkg_busy(root))
		return 0;
	if (ctl->log_fd >= 0)
		dprintf(ctl->log_fd,
			"dpkg's lock is held by another program (apt, "
			"unattended-upgrades, wazo-plugind): waiting up to %u s\n",
			ctl->lock_wait_sec);
	if (ctl->on_lock_wait)
		ctl->on_lock_wait(ctl->ctx, 1);
	int rc = 0;
	for (unsigned waited_ms = 0; dpkg_busy(root); waited_ms += 200) {
		if (cancel_requested(ctl->cancel)) {
			ctl->cancelled = 1;
			rc = -ECANCELED;
			break;
		}
		if (waited_ms >= ctl->lock_wait_sec * 1000u) {
			ctl->lock_timed_out = 1;
			rc = -ETIMEDOUT;
			break;
		}
		usleep(200000);
	}
	if (ctl->on_lock_wait)
		ctl->on_lock_wait(ctl->ctx, 0);
	return rc;
}

/* Runs argv (filled up to n, room for MAX_ARGS) with extra NULL-terminated arguments,
 * after waiting for dpkg's lock; a run that lost the race for the lock (dpkg exits 2
 * while another program holds it) waits and runs again. */
static int run_tool(const char *root, const char **argv, int n, const char *const *extra,
		    struct dpkg_ctl *ctl)
{
	for (; *extra; extra++) {
		if (n >= MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = *extra;
	}
	argv[n] = NULL;
	ctl->timed_out = ctl->cancelled = ctl->lock_timed_out = 0;
	for (int attempt = 0;; attempt++) {
		int rc = wait_for_lock(root, ctl);
		if (rc)
			return rc;
		struct subproc sp = { .argv = argv,
				      .env = dpkg_env(),
				      .log_fd = ctl->log_fd,
				      .capture = ctl->capture,
				      .cancel = ctl->cancel,
				      .timeout_sec = ctl->timeout_sec };
		rc = subproc_run(&sp);
		ctl->timed_out = sp.timed_out;
		ctl->cancelled = sp.cancelled;
		if (!(rc == 2 || rc == 100) || attempt >= 20 || !dpkg_busy(root))
			return rc;
	}
}

static int dpkg_run(const char *root, const char *const *args, struct dpkg_ctl *ctl)
{
	const char *argv[MAX_ARGS];
	struct root_opts o;
	return run_tool(root, argv, dpkg_base(root, argv, &o), args, ctl);
}

int dpkg_install(const char *root, const char *deb, struct dpkg_ctl *ctl)
{
	const char *args[] = { "--install", deb, NULL };
	return dpkg_run(root, args, ctl);
}

/* apt's argv prefix (tool: apt-get or apt-cache) for root; the dirs apt expects in a
 * bare root are created. */
static int apt_base(const char *tool, const char *root, const char **argv,
		    char opts[5][PATH_MAX + 40])
{
	int n = 0;
	argv[n++] = tool;
	if (strcmp(tool, "apt-get") == 0)
		argv[n++] = "-y";
	argv[n++] = "-o";
	argv[n++] = "Dpkg::Options::=--force-confdef";
	argv[n++] = "-o";
	argv[n++] = "Dpkg::Options::=--force-confold";
	/* apt runs dpkg with a PATH of its own; rules must see the daemon's */
	snprintf(opts[4], sizeof(opts[4]), "DPkg::Path=%s",
		 subproc_default_path() + strlen("PATH="));
	argv[n++] = "-o";
	argv[n++] = opts[4];
	if (is_host_root(root))
		return n;
	static const char *const dirs[] = {
		"var/log/apt",	      "var/lib/apt/lists/partial", "var/cache/apt/archives/partial",
		"etc/apt/apt.conf.d", "etc/apt/preferences.d",	   "etc/apt/sources.list.d"
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char d[PATH_MAX];
		if (path_fmt(d, sizeof(d), "%s/%s", root, dirs[i]) == 0)
			mkdir_p(d, 0755); /* else apt says what it misses */
	}
	snprintf(opts[0], sizeof(opts[0]), "Dir=%s", root);
	snprintf(opts[1], sizeof(opts[1]), "Dpkg::Options::=--root=%s", root);
	snprintf(opts[2], sizeof(opts[2]), "Dpkg::Options::=--force-script-chrootless");
	snprintf(opts[3], sizeof(opts[3]), "Dpkg::Options::=--log=%s/var/log/dpkg.log", root);
	for (int i = 0; i < 4; i++) {
		argv[n++] = "-o";
		argv[n++] = opts[i];
	}
	return n;
}

static int apt_run(const char *root, const char *const *args, struct dpkg_ctl *ctl)
{
	const char *argv[MAX_ARGS];
	char opts[5][PATH_MAX + 40];
	return run_tool(root, argv, apt_base("apt-get", root, argv, opts), args, ctl);
}

int apt_show(const char *root, const char *spec, struct dpkg_ctl *ctl)
{
	const char *argv[MAX_ARGS];
	char opts[5][PATH_MAX + 40];
	const char *args[] = { "show", "--no-all-versions", "--", spec, NULL };
	return run_tool(root, argv, apt_base("apt-cache", root, argv, opts), args, ctl);
}

int apt_update(const char *root, struct dpkg_ctl *ctl)
{
	const char *args[] = { "update", NULL };
	return apt_run(root, args, ctl);
}

int apt_install(const char *root, const char *deb, int reinstall, struct dpkg_ctl *ctl)
{
	const char *args[] = { "install", "--allow-downgrades", deb, NULL, NULL };
	if (reinstall) {
		args[2] = "--reinstall";
		args[3] = deb;
	}
	return apt_run(root, args, ctl);
}

int dpkg_depends_on(const char *deps, const char *package)
{
	size_t n = strlen(package);
	for (const char *c = deps; c && *c;) {
		c += strspn(c, " ,|\t");
		size_t len = strcspn(c, " ,|(:\t");
		if (len == n && strncmp(c, package, n) == 0)
			return 1;
		c += strcspn(c, ",|");
	}
	return 0;
}

/* dpkg ACTION PACKAGES... (NULL-terminated); -E2BIG past about 120 of them. */
static int dpkg_each(const char *root, const char *action, const char *const *packages,
		     struct dpkg_ctl *ctl)
{
	const char *args[MAX_ARGS];
	size_t n = 0;
	args[n++] = action;
	for (; *packages; packages++) {
		if (n >= MAX_ARGS - 1)
			return -E2BIG; /* never drop a name silently */
		args[n++] = *packages;
	}
	args[n] = NULL;
	return dpkg_run(root, args, ctl);
}

int dpkg_purge(const char *root, const char *const *packages, struct dpkg_ctl *ctl)
{
	return dpkg_each(root, "--purge", packages, ctl);
}

int dpkg_remove(const char *root, const char *const *packages, struct dpkg_ctl *ctl)
{
	return dpkg_each(root, "--remove", packages, ctl);
}

int dpkg_configure(const char *root, const char *const *packages, struct dpkg_ctl *ctl)
{
	return dpkg_each(root, "--configure", packages, ctl);
}

int dpkg_audit(const char *root, struct strbuf *out, struct dpkg_ctl *ctl)
{
	const char *args[] = { "--audit", NULL };
	struct strbuf *saved = ctl->capture;
	ctl->capture = out;
	int rc = dpkg_run(root, args, ctl);
	ctl->capture = saved;
	return rc < 0 ? rc : rc > 1 ? -EIO : 0;
}

void dpkg_status_path(const char *root, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/var/lib/dpkg/status", is_host_root(root) ? "" : root);
}

int dpkg_info_read(const char *root, const char *package, const char *what, size_t max,
		   struct strbuf *out, char *path, size_t path_len)
{
	int rc = path_fmt(path, path_len, "%s/var/lib/dpkg/info/%s.%s",
			  is_host_root(root) ? "" : root, package, what);
	return rc ? rc : strbuf_read_file(out, path, max);
}

int dpkg_is_installed(const struct installed_plugin *p)
{
	return p->status[1] == 'i';
}

int dpkg_split_package(const char *package, char *name, size_t nlen, char *ns, size_t nslen)
{
	static const char prefix[] = "wazo-plugind-";
	if (strncmp(package, prefix, sizeof(prefix) - 1))
		return -EINVAL;
	const char *rest = package + sizeof(prefix) - 1;
	const char *dash = strrchr(rest, '-');
	if (!dash || dash == rest || !dash[1])
		return -EINVAL;
	/* namespace is [a-z0-9]+ so the last dash separates it from the name */
	if (!plugin_token_valid(dash + 1, strlen(dash + 1), 0) ||
	    !plugin_token_valid(rest, (size_t)(dash - rest), 1))
		return -EINVAL;
	if ((size_t)(dash - rest) >= nlen || strlen(dash + 1) >= nslen)
		return -ENAMETOOLONG;
	snprintf(name, nlen, "%.*s", (int)(dash - rest), rest);
	snprintf(ns, nslen, "%s", dash + 1);
	return 0;
}

int dpkg_plugin_cmp(const char *ns_a, const char *name_a, const char *ns_b, const char *name_b)
{
	int c = strcmp(ns_a, ns_b);
	return c ? c : strcmp(name_a, name_b);
}

/* Copies the strings of a record into its one allocation. */
static int set_strings(struct installed_plugin *p, const char *ns, const char *name,
		       const char *version, const char *package, const char *depends)
{
	size_t l_ns = strlen(ns) + 1, l_name = strlen(name) + 1, l_ver = strlen(version) + 1,
	       l_pkg = strlen(package) + 1;
	char *s = malloc(l_ns + l_name + l_ver + l_pkg + strlen(depends) + 1);
	if (!s)
		return -ENOMEM;
	p->strings = s;
	p->ns = memcpy(s, ns, l_ns);
	p->name = memcpy(s += l_ns, name, l_name);
	p->version = memcpy(s += l_name, version, l_ver);
	p->package = memcpy(s += l_ver, package, l_pkg);
	p->depends = strcpy(s + l_pkg, depends);
	return 0;
}

int dpkg_copy_plugin(struct installed_plugin *dst, const struct installed_plugin *src)
{
	*dst = *src;
	return set_strings(dst, src->ns, src->name, src->version, src->package, src->depends);
}

static int plugin_order(const void *a, const void *b)
{
	const struct installed_plugin *x = a, *y = b;
	return dpkg_plugin_cmp(x->ns, x->name, y->ns, y->name);
}

struct plugin_list {
	const char *root;
	struct installed_plugin *v;
	size_t n, cap;
};

/* dpkg_db_read's callback: keeps the packages of wazo-plugind plugins. */
static int keep_plugin(const struct dpkg_record *rec, void *ctx)
{
	struct plugin_list *l = ctx;
	/* config-files only (removed, not purged) is not installed */
	if (strcmp(rec->section, PLUGIN_SECTION) || rec->status[1] == 'c')
		return 0;
	char name[NAME_MAX + 1], ns[NAME_MAX + 1];
	if (dpkg_split_package(rec->package, name, sizeof(name), ns, sizeof(ns)))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct installed_plugin *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct installed_plugin *p = &l->v[l->n];
	memset(p, 0, sizeof(*p));
	int rc = set_strings(p, ns, name, rec->version, rec->package, rec->depends);
	if (rc)
		return rc;
	memcpy(p->status, rec->status, sizeof(p->status));
	char list[PATH_MAX];
	struct stat st;
	if (path_fmt(list, sizeof(list), "%s/var/lib/dpkg/info/%s.list", l->root, p->package) ==
		0 &&
	    stat(list, &st) == 0)
		p->installed_at = st.st_mtim;
	l->n++;
	return 0;
}

int dpkg_list_plugins(const char *root, struct installed_plugin **out, size_t *n)
{
	struct plugin_list l = { .root = is_host_root(root) ? "" : root };
	char admindir[PATH_MAX];
	int rc = path_fmt(admindir, sizeof(admindir), "%s/var/lib/dpkg", l.root);
	if (!rc)
		rc = dpkg_db_read(admindir, keep_plugin, &l);
	if (rc) {
		dpkg_free_plugins(l.v, l.n);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), plugin_order);
	*out = l.v;
	*n = l.n;
	return 0;
}

void dpkg_free_plugins(struct installed_plugin *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].strings);
	free(list);
}
