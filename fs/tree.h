/* tree: the rendered tree of the mount (everything but the copies in incoming/), one
 * node type per kind of route (router.h): each says what a node of its kind is (attr),
 * holds (list), opens (open: the view to read, who may), and how mkdir, unlink and
 * rmdir of it answer, each a short function over one core call; a kind without one
 * answers with its type's error. No FUSE request waits here: every answer is from
 * memory or one file of the state dir (a log, a package). rm -r of a plugin is ops.c's
 * (it waits for the removal without a thread). */
#ifndef WAZOFS_TREE_H
#define WAZOFS_TREE_H
#include "daemon/daemon.h"
#include "router.h"
#include <fuse_lowlevel.h>
#include <sys/stat.h>

/* The daemon the tree shows (at init). */
void tree_start(struct daemon *p);
/* The attributes of path (route r); st_ino from nodes_view_ino. */
int tree_attr(const char *path, const struct route *r, struct stat *st);
/* Whether path is there now (the files of the top are, without an open). */
int tree_exists(const char *path);
/* The names of a directory of the tree (-ENOTDIR for a file). */
int tree_list(const struct route *r, struct name_list *l);
/* The view an open of r with flags reads, or why not (-EROFS, -EACCES, -EISDIR). */
int tree_open(fuse_req_t req, const struct route *r, int flags, struct view *v);
/* The text of a rendered view at path now (a read from offset 0 again, poll). */
int tree_render(const char *path, struct view *v);
/* mkdir, unlink, rmdir of r by an admin (rmdir of a plugin is not this). */
int tree_mkdir(const struct route *r);
int tree_unlink(const struct route *r);
int tree_rmdir(const struct route *r);
/* The target of a link of the tree (in source/): admins only; -EINVAL elsewhere. */
int tree_readlink(fuse_req_t req, const struct route *r, char *buf, size_t len);
/* Whether only admins may look below r (source/). */
int tree_admins_only(const struct route *r);
/* Whether flags open to write. */
int tree_is_write(int flags);
/* The size getattr last told the kernel for a view it keeps is size (then the
 * kernel's copy of its text is whole). */
int tree_size_was_told(const char *path, off_t size);
#endif
