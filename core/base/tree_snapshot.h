/* tree_snapshot: a directory tree read into memory through descriptors only, for root
 * to take what another user's tree holds without following anything that user planted:
 * each directory and file is opened beneath its parent's descriptor with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), a link is kept as a link (its target read,
 * never followed), and anything but files, directories and links is refused. Entries
 * come in name order, each directory before what it holds. */
#ifndef WAZOFS_TREE_SNAPSHOT_H
#define WAZOFS_TREE_SNAPSHOT_H
#include "error.h"
#include <stddef.h>
#include <sys/types.h>

struct tree_snapshot_entry {
	char *path;  /* below the snapshot's root; "" for the root itself */
	mode_t mode; /* type and permissions, as fstat gave them */
	char *data;  /* a file's content or a link's target (NULL for a directory) */
	size_t len;
};

struct tree_snapshot {
	struct tree_snapshot_entry *v;
	size_t n;
	size_t bytes; /* the sum of the files' sizes */
};

/* Reads the directory rel below dirfd (rel itself is resolved beneath dirfd, no link on
 * the way) into s: at most max_bytes of file content and max_entries entries (-EFBIG,
 * -E2BIG past them). 0, or -errno with err naming the entry. */
int tree_snapshot_take(int dirfd, const char *rel, size_t max_bytes, size_t max_entries,
		       struct tree_snapshot *s, struct error *err);
void tree_snapshot_release(struct tree_snapshot *s);
#endif
