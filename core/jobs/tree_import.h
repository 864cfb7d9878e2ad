/* tree_import: the `extracting` step. Copies a dropped plugin tree, or has
 * wazofs-archive extract a dropped archive (archive_extract.h: entries that would escape
 * the tree, special files, archives over the size or entry limits are refused); then
 * finds the plugin root. */
#ifndef WAZOFS_TREE_IMPORT_H
#define WAZOFS_TREE_IMPORT_H
#include "base/error.h"
#include "base/strbuf.h"
#include "plugin/archive_helper.h"
#include "plugin/plugin_meta.h"
#include <stddef.h>

struct import_limits {
	unsigned long long max_bytes; /* total size of the extracted files */
	unsigned long max_entries;
	struct helper_user who; /* who extracts an archive (zero: root) */
};

/* 1 when name ends with a supported archive extension (.tar, .tar.gz, .tgz, .tar.xz,
 * .tar.zst, .zip), else 0. */
int tree_is_archive_name(const char *name);
/* Imports src (a directory or an archive file) into the new directory dest. Returns 0,
 * -EINVAL with err's fields filled (a refused archive or an unsupported entry), or -errno
 * with its message. */
int tree_import(const char *src, const char *dest, const struct import_limits *lim,
		struct error *err);
/* The plugin root below dir: dir itself when it holds wazo/plugin.yml, else the single
 * directory right below it that does. Returns 0, or -EINVAL with err's fields filled. */
int tree_find_plugin_root(const char *dir, char *out, size_t outlen, struct error *err);
#endif
