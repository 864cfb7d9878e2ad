/* incoming: the drop zone. incoming/ is passed through to its backing directory in the
 * state dir, every call relative to one directory fd (*at(); opens with openat2 and
 * RESOLVE_BENEATH, so nothing reaches out of it), and every change is told to the
 * core's completion tracker (daemon_incoming_*). Who may call is decided by ops.c; the
 * routes given are R_INCOMING (R_INCOMING_DIR where said). Errors are -errno. */
#ifndef WAZOFS_INCOMING_H
#define WAZOFS_INCOMING_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include "daemon/daemon.h"
#include "router.h"
#include <dirent.h>
#include <fuse.h>
#include <sys/stat.h>

/* Opens the backing directory (at mount), closes it (at exit). */
int incoming_start(const char *dir);
void incoming_stop(void);

/* lstat of the path, or of incoming/ itself for R_INCOMING_DIR. */
int incoming_stat(const struct route *r, struct stat *st);
int incoming_exists(const struct route *r);
/* A directory stream of the path (or of incoming/ itself); NULL and errno. */
DIR *incoming_opendir(const struct route *r);

/* Open an existing file / create one (mode limited to what a copy may have, owned by
 * the caller and group): the fd, or -errno. *tracked: the open counts as a copy in
 * progress of r->entry until incoming_closed. */
int incoming_open(const struct route *r, int flags, int *tracked);
int incoming_create(const struct route *r, int flags, mode_t mode, gid_t group, int *tracked);
/* A tracked open file of entry was written / was closed. */
void incoming_wrote(const char *entry);
void incoming_closed(const char *entry);

int incoming_mkdir(const struct route *r, mode_t mode, gid_t group);
int incoming_unlink(const struct route *r);
int incoming_rmdir(const struct route *r);
int incoming_rename(const struct route *from, const struct route *to, unsigned flags);
/* Through fd when the file is open (fd >= 0), else by path. r is NULL for an open file
 * whose name is gone (then nothing is told to the completion tracker). */
int incoming_truncate(const struct route *r, int fd, off_t size);
/* By path, or through fd when r is NULL (an open file whose name is gone). */
int incoming_chmod(const struct route *r, int fd, mode_t mode);
int incoming_utimens(const struct route *r, int fd, const struct timespec tv[2]);
int incoming_symlink(const char *target, const struct route *r);
int incoming_readlink(const struct route *r, char *buf, size_t size);
int incoming_link(const struct route *from, const struct route *to);
int incoming_setxattr(const struct route *r, const char *name, const char *value, size_t size,
		      int flags);
int incoming_getxattr(const struct route *r, const char *name, char *value, size_t size);
int incoming_listxattr(const struct route *r, char *list, size_t size);
int incoming_removexattr(const struct route *r, const char *name);
#endif
