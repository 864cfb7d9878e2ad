/* source_store: see source_store.h. */
#include "source_store.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/tree_copy.h"
#include "plugin_package.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* <package>_<version> */
static int entry_name(const char *ns, const char *name, const char *version, char *out, size_t len)
{
	char pkg[300];
	plugin_package_name(name, ns, pkg, sizeof(pkg));
	return snprintf(out, len, "%s_%s", pkg, version) >= (int)len ? -ENAMETOOLONG : 0;
}

int source_paths(const char *state, const char *ns, const char *name, const char *version,
		 char *kept, char *pending, size_t len)
{
	char entry[NAME_MAX + 1], pdir[PATH_MAX];
	kept[0] = pending[0] = 0;
	int rc = entry_name(ns, name, version, entry, sizeof(entry));
	if (!rc)
		rc = path_fmt(pdir, sizeof(pdir), "%s/" SOURCES_DIR "/" SOURCE_PENDING_DIR, state);
	if (!rc)
		rc = path_fmt(kept, len, "%s/" SOURCES_DIR "/%s", state, entry);
	if (!rc)
		rc = path_fmt(pending, len, "%s/%s", pdir, entry);
	if (!rc)
		rc = mkdir_p(pdir, 0700);
	if (!rc)
		rc = rm_rf(pending); /* a crashed job's */
	return rc == -ENOENT ? 0 : rc;
}

static int write_origin(const char *dir, const char *origin, time_t date, struct error *err)
{
	char path[PATH_MAX];
	int rc = path_fmt(path, sizeof(path), "%s/" SOURCE_ORIGIN, dir);
	struct strbuf line = STRBUF_INIT;
	strbuf_addf(&line, "%s\ndate %lld\n", origin, (long long)date);
	if (!rc)
		rc = line.oom ? -ENOMEM : write_file_atomic(path, line.buf, line.len, 0640);
	if (rc)
		error_addf(err, "cannot write %s: %s", path, strerror(-rc));
	strbuf_release(&line);
	return rc;
}

int source_keep_origin(const char *pending, const char *origin, time_t date, struct error *err)
{
	int rc = mkdir(pending, 0750) < 0 ? -errno : 0;
	if (rc)
		error_addf(err, "cannot create %s: %s", pending, strerror(-rc));
	else
		rc = write_origin(pending, origin, date, err);
	if (rc)
		rm_rf(pending);
	return rc;
}

int source_keep(const char *pending, const char *root, const char *origin, time_t date,
		unsigned long long max_bytes, struct error *err)
{
	char tree[PATH_MAX];
	int rc = source_keep_origin(pending, origin, date, err);
	if (!rc)
		rc = path_fmt(tree, sizeof(tree), "%s/" SOURCE_TREE, pending);
	/* owned by root (the copier's owners are not kept), modes and times as copied */
	if (!rc)
		rc = tree_copy_max(root, tree, TREE_COPY_NO_GIT, max_bytes, err);
	if (rc)
		rm_rf(pending);
	return rc;
}

int source_commit(const char *state, const char *package, const char *kept, const char *pending,
		  unsigned keep_versions)
{
	char dir[PATH_MAX];
	int rc = rm_rf(kept);
	if (rc && rc != -ENOENT)
		return rc;
	if (rename(pending, kept) < 0)
		return -errno;
	if (utimensat(AT_FDCWD, kept, NULL, 0) < 0)
		return -errno;
	if (path_fmt(dir, sizeof(dir), "%s/" SOURCES_DIR, state) == 0)
		plugin_prune_packages(dir, package, strrchr(kept, '/') + 1, keep_versions);
	return 0;
}

void source_remove_all(const char *state, const char *package)
{
	char dir[PATH_MAX];
	if (path_fmt(dir, sizeof(dir), "%s/" SOURCES_DIR, state) == 0)
		plugin_prune_packages(dir, package, NULL, 0);
}

int source_lookup(const char *state, const char *ns, const char *name, const char *version,
		  char *origin, size_t len, time_t *date, int *has_tree)
{
	char entry[NAME_MAX + 1], path[PATH_MAX];
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	origin[0] = 0;
	*has_tree = 0;
	int rc = entry_name(ns, name, version, entry, sizeof(entry));
	if (!rc)
		rc = path_fmt(path, sizeof(path), "%s/" SOURCES_DIR "/%s/" SOURCE_ORIGIN, state,
			      entry);
	if (!rc)
		rc = strbuf_read_file(&sb, path, 4096);
	if (date)
		*date = 0;
	if (!rc) {
		snprintf(origin, len, "%.*s", (int)strcspn(sb.buf, "\n"), sb.buf);
		const char *d = strstr(sb.buf, "\ndate ");
		if (date && d)
			*date = (time_t)strtoll(d + 6, NULL, 10);
		path[strlen(path) - strlen(SOURCE_ORIGIN)] = 0;
		strcat(path, SOURCE_TREE);
		*has_tree = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
	}
	strbuf_release(&sb);
	return rc;
}

int source_tree_path(const char *state, const char *ns, const char *name, const char *version,
		     char *out, size_t len)
{
	char entry[NAME_MAX + 1];
	struct stat st;
	int rc = entry_name(ns, name, version, entry, sizeof(entry));
	if (!rc)
		rc = path_fmt(out, len, "%s/" SOURCES_DIR "/%s/" SOURCE_TREE, state, entry);
	if (!rc && (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode)))
		rc = -ENOENT;
	return rc;
}
