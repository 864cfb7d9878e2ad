/* nodes: the inode table of the mount, what libfuse's low-level API names by number.
 *
 * A node is a name the kernel holds (it looked it up and has not forgotten it): its
 * parent node and name, so its mount path is the walk up to the root. Two kinds:
 * - a node of the tree the core renders (the root, namespaces, plugins, views,
 *   incoming/ itself, a job's ENTRY.status): one per (parent, name);
 * - a node of a copy in incoming/ (a file, directory or symlink of the drop zone):
 *   one per backing inode, so every hard link of a file is one node (one inode number,
 *   one set of attributes), holding an O_PATH descriptor of the backing object, through
 *   which it is still reached once every name of it is gone (an open file removed).
 *
 * Nodes live until the kernel forgets them (nlookup back to 0); the root never goes.
 * Every call takes the table's lock; a node pointer stays valid while the kernel holds
 * its number (until its forget), which is the only time a request names it. */
#ifndef WAZOFS_NODES_H
#define WAZOFS_NODES_H
#include "base/name_list.h"
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct node {
	fuse_ino_t ino;
	uint64_t nlookup;
	struct node *parent; /* NULL for the root */
	char *name;
	int fd;		   /* a copy's node: O_PATH, no symlink followed; else -1 */
	ino_t backing;	   /* a copy's node: the backing inode number */
	unsigned children; /* nodes naming this one as parent: it stays while any does */
	struct node *hnext_name, *hnext_backing, *hnext_ino; /* hash chains */
};

int nodes_init(void);
void nodes_free(void);
/* The node of ino, or NULL (a number the kernel no longer holds). */
struct node *nodes_get(fuse_ino_t ino);
/* The tree's node named name under parent, made when missing; its nlookup counts one
 * more lookup. NULL when out of memory. */
struct node *nodes_lookup_view(struct node *parent, const char *name);
/* A copy's node of backing inode st_ino, found or made (taking fd, which is closed when
 * a node existed already); it is named name under parent from now on (a hard link looked
 * up by another name, a rename). nlookup counts one more. NULL when out of memory. */
struct node *nodes_lookup_copy(struct node *parent, const char *name, ino_t st_ino, int fd);
/* The node (view or copy) that parent's name is known as now, or NULL. */
struct node *nodes_child(struct node *parent, const char *name);
/* The node renamed: name under parent from now on. */
void nodes_rename(struct node *n, struct node *parent, const char *name);
/* The kernel forgot n lookups of ino. */
void nodes_forget(fuse_ino_t ino, uint64_t n);
/* The mount path of n ("/", "/incoming/x/y"): 0, or -ENAMETOOLONG. */
int nodes_path(struct node *n, char *out, size_t len);
/* The numbers of a mount path's node and of its directory's node, each 0 when the
 * kernel does not hold it. */
void nodes_path_inos(const char *path, fuse_ino_t *ino, fuse_ino_t *parent);
/* Adds to out the mount path of every node the kernel holds below path (not path's). */
void nodes_below(const char *path, struct name_list *out);
/* The inode number shown for a node of the tree (not a copy's): stable across forgets,
 * out of the range of the backing inodes, the same in readdir and stat. */
uint64_t nodes_view_ino(const char *path);
#endif
