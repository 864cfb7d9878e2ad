/* tree_copy: copies a directory tree in-process, as `cp -a` would for a plugin tree:
 * directories, regular files (copy_file_range), symbolic links (never followed), with
 * their modes and times, and their owners when asked. Hard links become separate
 * files; anything else (a fifo, a device, a socket) is refused. Both trees are walked
 * by descriptors (openat with O_NOFOLLOW, each entry checked to be what was looked at):
 * a directory of the source swapped for a link meanwhile fails the copy (-ESTALE), it
 * is never followed, and no path length limits the walk. */
#ifndef WAZOFS_TREE_COPY_H
#define WAZOFS_TREE_COPY_H
#include "error.h"

enum {
	TREE_COPY_OWNERS = 1, /* keep owners and groups (only root can) */
	TREE_COPY_NO_GIT = 2, /* leave out a .git at the top (a clone's history) */
};

/* Copies src (a directory) to dest, which must not exist. Returns 0, or -errno with the
 * path that failed in err. What was copied before a failure stays (the caller's work
 * dir goes as a whole). */
int tree_copy(const char *src, const char *dest, int flags, struct error *err);
/* The same, refusing a tree whose regular files hold more than max_bytes in all (0: no
 * limit): -EFBIG, with what was copied left for the caller to remove. */
int tree_copy_max(const char *src, const char *dest, int flags, unsigned long long max_bytes,
		  struct error *err);
/* Copies the regular file src (never a link) to dest, which must not exist: its content,
 * mode and times, owned by the caller. 0 or -errno with the path in err. */
int file_copy(const char *src, const char *dest, struct error *err);
#endif
