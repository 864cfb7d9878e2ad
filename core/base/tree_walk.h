/* tree_walk: the walk of a directory tree by path that core/ uses where it only reads
 * names (the archive link check, the daemon's list of a copy's paths); rm_rf,
 * chown_tree and tree_copy walk by descriptors (fsutil.c, tree_copy.c). Entries are lstat'ed: a
 * symbolic link is an entry, never followed. A directory's names are read and the directory closed
 * before its entries are visited, so a walk holds no descriptor per level and a visit
 * may remove what it is given. */
#ifndef WAZOFS_TREE_WALK_H
#define WAZOFS_TREE_WALK_H
#include "error.h"
#include <sys/stat.h>

struct tree_entry {
	const char *path; /* the root, then "/" and the entry's path below it */
	const char *rel;  /* the entry's path below the root; "" for the root itself */
	const struct stat *st;
	int depth; /* 0 for the root */
};

enum tree_visit {
	TREE_DIR_PRE,  /* a directory, before its entries */
	TREE_DIR_POST, /* a directory, after its entries */
	TREE_OTHER,    /* anything but a directory */
};

enum { TREE_SKIP = 1 };

/* Returns 0 to go on, TREE_SKIP (from TREE_DIR_PRE: not into this directory, and no
 * TREE_DIR_POST for it), or a negative errno that ends the walk. */
typedef int (*tree_visit_fn)(const struct tree_entry *e, enum tree_visit when, void *ctx);

struct tree_walk {
	tree_visit_fn visit;
	void *ctx;
	int max_depth;	 /* a directory deeper than this ends the walk with -ELOOP */
	int vanished_ok; /* an entry removed meanwhile is skipped rather than an error */
	/* when set, a failure of the walk itself adds "PATH: reason" here (a visit that
	 * fails says why itself) */
	struct error *err;
};

/* Walks root: a directory is visited TREE_DIR_PRE, then each entry (in readdir order),
 * then TREE_DIR_POST; anything else once, TREE_OTHER. Returns 0, the first visit's
 * error, or -errno of the walk (root missing: -ENOENT, even when vanished_ok). */
int tree_walk(const char *root, const struct tree_walk *w);
#endif
