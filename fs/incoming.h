/* incoming: the drop zone. incoming/ is passed through to its backing directory in the
 * state dir. Every object of a copy is reached through a descriptor: a name through its
 * directory's descriptor (one component, no symlink followed), an object the kernel
 * holds through its node's O_PATH descriptor (nodes.h), so a hard link is one object
 * and a file whose names are gone is still itself. Every change is told to the core's
 * completion tracker (daemon_incoming_*) under the route's entry; r is NULL for an
 * object with no name left (nothing is told then). Who may call is decided by ops.c.
 * Errors are -errno. */
#ifndef WAZOFS_INCOMING_H
#define WAZOFS_INCOMING_H
#include "daemon/daemon.h"
#include "router.h"
#include <dirent.h>
#include <sys/stat.h>

/* Opens the backing directory (at mount), closes it (at exit). */
int incoming_start(struct daemon *p, const char *dir);
void incoming_stop(void);
/* The backing directory's descriptor: the parent descriptor of a top-level entry. */
int incoming_dir_fd(void);

/* The caller of the request: whose copy it is, which process writes it. */
struct incoming_caller {
	uid_t uid;
	gid_t group; /* the group new objects get (the admin group) */
	pid_t pid;
};

/* name in the directory pfd: its attributes and an O_PATH descriptor of it. */
int incoming_lookup(int pfd, const char *name, struct stat *st, int *fd);
/* The attributes of the object behind an O_PATH descriptor. */
int incoming_fstat(int fd, struct stat *st);
/* A directory stream of the directory behind fd; NULL and errno. */
DIR *incoming_opendir(int fd);

/* Opens the file behind fd: the new fd, or -errno. *tracked: the open counts as a copy
 * in progress of r->entry until incoming_closed. */
int incoming_open(const struct route *r, int fd, int flags, pid_t pid, int *tracked);
/* Creates name in pfd (mode limited to what a copy may have, owned by the caller): the
 * open fd, or -errno. */
int incoming_create(const struct route *r, int pfd, const char *name, int flags, mode_t mode,
		    const struct incoming_caller *c, int *tracked);
/* A tracked open file of entry was written by pid / was closed. */
void incoming_wrote(const char *entry, pid_t pid);
void incoming_closed(const char *entry);

int incoming_mkdir(const struct route *r, int pfd, const char *name, mode_t mode,
		   const struct incoming_caller *c);
int incoming_symlink(const char *target, const struct route *r, int pfd, const char *name,
		     pid_t pid);
int incoming_link(int fd, const struct route *to, int npfd, const char *newname, pid_t pid);
int incoming_unlink(const struct route *r, int pfd, const char *name, pid_t pid);
int incoming_rmdir(const struct route *r, int pfd, const char *name, pid_t pid);
int incoming_rename(const struct route *from, int pfd, const char *name, const struct route *to,
		    int npfd, const char *newname, unsigned flags, pid_t pid);
int incoming_readlink(int fd, char *buf, size_t size);

/* setattr of the object behind fd (open_fd >= 0: an open file of it, for a truncate):
 * the FUSE_SET_ATTR_* bits of to_set (owners are kept: only that it exists is checked). */
int incoming_setattr(const struct route *r, int fd, int open_fd, const struct stat *attr,
		     int to_set, pid_t pid);
/* Extended attributes (ACLs included) of the object behind fd. */
int incoming_setxattr(const struct route *r, int fd, const char *name, const char *value,
		      size_t size, int flags, pid_t pid);
int incoming_getxattr(int fd, const char *name, char *value, size_t size);
int incoming_listxattr(int fd, char *list, size_t size);
int incoming_removexattr(const struct route *r, int fd, const char *name, pid_t pid);
#endif
