/* tree_import: a dropped plugin copied (a directory, in process) or extracted (an
 * archive, by wazofs-archive: see archive_extract.h) into a work directory, and where the
 * plugin is in the result (tree_import.h). */
#include "tree_import.h"
#include "base/fsutil.h"
#include "base/tree_copy.h"
#include "plugin/archive_helper.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const archive_exts[] = { ".tar",	".tar.gz", ".tgz", ".tar.xz",
					    ".tar.zst", ".zip",	   NULL };

int tree_is_archive_name(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *e = archive_exts; *e; e++) {
		size_t l = strlen(*e);
		if (n > l && strcmp(name + n - l, *e) == 0)
			return 1;
	}
	return 0;
}

int tree_import(const char *src, const char *dest, const struct import_limits *lim,
		struct error *err)
{
	struct stat st;
	if (lstat(src, &st) < 0) {
		error_addf(err, "%s: %s", src, strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode)) {
		struct error why = ERROR_INIT;
		int rc = tree_copy(src, dest, TREE_COPY_OWNERS, &why);
		if (rc)
			error_addf(err, "copying the plugin tree failed: %s",
				   why.msg.buf ? why.msg.buf : "");
		error_release(&why);
		return rc;
	}
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	if (!S_ISREG(st.st_mode) || !tree_is_archive_name(base)) {
		error_field(err, "_archive", "type", NULL,
			    "'%s' is neither a plugin directory nor an archive "
			    "(.tar, .tar.gz, .tgz, .tar.xz, .tar.zst, .zip)",
			    base);
		return -EINVAL;
	}
	/* extracted by wazofs-archive, in a process of its own */
	return helper_import_archive(src, dest, lim->max_bytes, lim->max_entries, &lim->who, err);
}

static int has_plugin_yml(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	return path_fmt(p, sizeof(p), "%s/wazo/plugin.yml", dir) == 0 && lstat(p, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

int tree_find_plugin_root(const char *dir, char *out, size_t outlen, struct error *err)
{
	if (has_plugin_yml(dir)) {
		snprintf(out, outlen, "%s", dir);
		return 0;
	}
	DIR *d = opendir(dir);
	if (!d) {
		error_field(err, "wazo/plugin.yml", "required", NULL, "cannot read the copy: %s",
			    strerror(errno));
		return -EINVAL;
	}
	char found[2][NAME_MAX + 1];
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		char sub[PATH_MAX];
		struct stat st;
		if (path_fmt(sub, sizeof(sub), "%s/%s", dir, de->d_name) || lstat(sub, &st) < 0 ||
		    !S_ISDIR(st.st_mode) || !has_plugin_yml(sub))
			continue;
		if (n < 2)
			snprintf(found[n], sizeof(found[n]), "%s", de->d_name);
		n++;
	}
	closedir(d);
	if (n == 1) {
		snprintf(out, outlen, "%s/%s", dir, found[0]);
		return 0;
	}
	if (n == 0)
		error_field(err, "wazo/plugin.yml", "required", NULL,
			    "no wazo/plugin.yml at the top of the copy nor in a directory "
			    "right below it");
	else
		error_field(err, "wazo/plugin.yml", "required", NULL,
			    "%d directories hold a wazo/plugin.yml (%s, %s, ...): keep one", n,
			    found[0], found[1]);
	return -EINVAL;
}
