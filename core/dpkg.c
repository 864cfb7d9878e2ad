/* dpkg: argv builders for dpkg/dpkg-query and the parsing of their output. */
#include "dpkg.h"
#include "fsutil.h"
#include "plugin_package.h"
#include "strbuf.h"
#include "subproc.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Fills argv with dpkg and the root options; returns the count. */
static int dpkg_base(const char *root, const char **argv, char *rootopt, size_t len)
{
	int n = 0;
	argv[n++] = "dpkg";
	if (!is_host_root(root)) {
		snprintf(rootopt, len, "--root=%s", root);
		argv[n++] = rootopt;
		argv[n++] = "--force-script-chrootless";
	}
	argv[n++] = "--force-confdef";
	argv[n++] = "--force-confold";
	return n;
}

static const char *const *dpkg_env(void)
{
	static const char *env[3];
	env[0] = subproc_default_path();
	env[1] = "DEBIAN_FRONTEND=noninteractive";
	env[2] = NULL;
	return env;
}

/* Runs argv (filled up to n, room for MAX_ARGS) with extra NULL-terminated arguments. */
static int run_tool(const char **argv, int n, const char *const *extra, int log_fd,
		    atomic_int *cancel)
{
	for (; *extra; extra++) {
		if (n >= MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = *extra;
	}
	argv[n] = NULL;
	struct subproc sp = { .argv = argv, .env = dpkg_env(), .log_fd = log_fd, .cancel = cancel };
	return subproc_run(&sp);
}

static int dpkg_run(const char *root, const char *const *args, int log_fd, atomic_int *cancel)
{
	const char *argv[MAX_ARGS];
	char rootopt[PATH_MAX + 16];
	return run_tool(argv, dpkg_base(root, argv, rootopt, sizeof(rootopt)), args, log_fd,
			cancel);
}

int dpkg_install(const char *root, const char *deb, int log_fd, atomic_int *cancel)
{
	const char *args[] = { "--install", deb, NULL };
	return dpkg_run(root, args, log_fd, cancel);
}

/* apt's argv prefix for root; the dirs apt expects in a bare root are created. */
static int apt_base(const char *root, const char **argv, char opts[4][PATH_MAX + 40])
{
	int n = 0;
	argv[n++] = "apt-get";
	argv[n++] = "-y";
	argv[n++] = "-o";
	argv[n++] = "Dpkg::Options::=--force-confdef";
	argv[n++] = "-o";
	argv[n++] = "Dpkg::Options::=--force-confold";
	if (is_host_root(root))
		return n;
	static const char *const dirs[] = {
		"var/log/apt",	      "var/lib/apt/lists/partial", "var/cache/apt/archives/partial",
		"etc/apt/apt.conf.d", "etc/apt/preferences.d",	   "etc/apt/sources.list.d"
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char d[PATH_MAX + 64];
		snprintf(d, sizeof(d), "%s/%s", root, dirs[i]);
		mkdir_p(d, 0755);
	}
	snprintf(opts[0], sizeof(opts[0]), "Dir=%s", root);
	snprintf(opts[1], sizeof(opts[1]), "Dpkg::Options::=--root=%s", root);
	snprintf(opts[2], sizeof(opts[2]), "Dpkg::Options::=--force-script-chrootless");
	for (int i = 0; i < 3; i++) {
		argv[n++] = "-o";
		argv[n++] = opts[i];
	}
	return n;
}

static int apt_run(const char *root, const char *const *args, int log_fd, atomic_int *cancel)
{
	const char *argv[MAX_ARGS];
	char opts[4][PATH_MAX + 40];
	return run_tool(argv, apt_base(root, argv, opts), args, log_fd, cancel);
}

int apt_update(const char *root, int log_fd, atomic_int *cancel)
{
	const char *args[] = { "update", NULL };
	return apt_run(root, args, log_fd, cancel);
}

int apt_install(const char *root, const char *deb, int log_fd, atomic_int *cancel)
{
	const char *args[] = { "install", deb, NULL };
	return apt_run(root, args, log_fd, cancel);
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

int dpkg_purge(const char *root, const char *const *packages, int log_fd)
{
	const char *args[MAX_ARGS];
	size_t n = 0;
	args[n++] = "--purge";
	for (; *packages; packages++) {
		if (n >= MAX_ARGS - 1)
			return -E2BIG; /* never drop a name silently */
		args[n++] = *packages;
	}
	args[n] = NULL;
	return dpkg_run(root, args, log_fd, NULL);
}

void dpkg_status_path(const char *root, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/var/lib/dpkg/status", is_host_root(root) ? "" : root);
}

int dpkg_is_installed(const struct installed_plugin *p)
{
	return p->status[1] == 'i';
}

int dpkg_busy(const char *root)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/lock", is_host_root(root) ? "" : root);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return busy;
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

int dpkg_list_plugins(const char *root, struct installed_plugin **out, size_t *n)
{
	char admindir[PATH_MAX + 32];
	snprintf(admindir, sizeof(admindir), "--admindir=%s/var/lib/dpkg",
		 is_host_root(root) ? "" : root);
	const char *argv[] = {
		"dpkg-query",
		admindir,
		"--show",
		"--showformat",
		"${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Section}\t${Depends}\n",
		NULL
	};
	struct strbuf sb = STRBUF_INIT;
	struct subproc sp = { .argv = argv, .env = dpkg_env(), .log_fd = -1, .capture = &sb };
	*out = NULL;
	*n = 0;
	int rc = subproc_run(&sp);
	/* dpkg-query exits 1 when the database is empty: not an error for us */
	if (rc < 0 || rc > 1) {
		strbuf_release(&sb);
		return rc < 0 ? rc : -EIO;
	}
	size_t cap = 0;
	for (char *line = sb.buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *f[5] = { line, NULL, NULL, NULL, NULL };
		for (int i = 1; i < 5 && f[i - 1]; i++) {
			f[i] = strchr(f[i - 1], '\t');
			if (f[i])
				*f[i]++ = 0;
		}
		/* the state letter: n(ot-installed) and c(onfig-files) are not listed */
		if (!f[3] || strcmp(f[3], PLUGIN_SECTION) || !f[0][0] || f[0][1] == 'n' ||
		    f[0][1] == 'c')
			continue;
		struct installed_plugin p;
		memset(&p, 0, sizeof(p));
		if (dpkg_split_package(f[1], p.name, sizeof(p.name), p.ns, sizeof(p.ns)))
			continue;
		snprintf(p.package, sizeof(p.package), "%s", f[1]);
		snprintf(p.version, sizeof(p.version), "%s", f[2]);
		snprintf(p.status, sizeof(p.status), "%.2s", f[0]);
		snprintf(p.depends, sizeof(p.depends), "%s", f[4] ? f[4] : "");
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct installed_plugin *g = realloc(*out, cap * sizeof(**out));
			if (!g) {
				free(*out);
				*out = NULL;
				*n = 0;
				strbuf_release(&sb);
				return -ENOMEM;
			}
			*out = g;
		}
		(*out)[(*n)++] = p;
	}
	strbuf_release(&sb);
	return 0;
}
