/* incoming: see incoming.h. */
#include "incoming.h"
#include "base/fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The backing directory, opened once, and the core told of changes. */
static int dir_fd = -1;
static struct daemon *core;

int incoming_start(struct daemon *p, const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir_fd = fd;
	core = p;
	return 0;
}

void incoming_stop(void)
{
	if (dir_fd >= 0)
		close(dir_fd);
	dir_fd = -1;
}

int incoming_dir_fd(void)
{
	return dir_fd;
}

/* The path naming the object behind fd itself (an O_PATH descriptor is reopened, or its
 * object changed, through it: no name of the object is looked up again). */
static void proc_path(int fd, char out[32])
{
	snprintf(out, 32, "/proc/self/fd/%d", fd);
}

/* An editor's swap or lock file (vim's .name.swp, emacs's .#name): kept open for as long
 * as the editor runs, so it never counts as a copy in progress. */
static int editor_artifact(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (base[0] != '.')
		return 0;
	if (base[1] == '#')
		return 1;
	static const char *const swaps[] = { ".swp", ".swo", ".swx", ".swpx" };
	for (size_t i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
		size_t k = strlen(swaps[i]);
		if (n > k && strcmp(base + n - k, swaps[i]) == 0)
			return 1;
	}
	return 0;
}

/* A change under incoming/ by pid, for the completion tracker. */
static void note_change(const struct route *r, pid_t pid)
{
	if (r && !editor_artifact(r->rel))
		daemon_incoming_touch(core, r->entry, pid);
}

/* A new top-level entry must leave room for its ENTRY.status beside it. */
static int new_entry_ok(const struct route *r)
{
	return !r->top_level || strlen(r->entry) + strlen(".status") <= NAME_MAX;
}

/* The mode a copy keeps: the one its copier gave it (cp, rsync, tar leave the plugin's
 * modes), which the build and the package inherit, less the set-id bits and the write
 * bit for others (a file any local user could change would be run or installed by
 * root). A copy is kept private by where it is (the state dir's incoming/, 0700,
 * root's) and by the daemon's own checks (only admins open or list a copy through the
 * mount), never by its modes. */
static mode_t copy_mode(mode_t mode)
{
	return mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID | S_IWOTH);
}

/* A new file or dir (fd: opened beneath incoming/, no symlink on the way) belongs to its
 * copier (root or an admin: the history says who asked) and the admin group, with the
 * mode it was given (the daemon's own umask does not apply). */
static void own_new(int fd, const struct incoming_caller *c, mode_t mode)
{
	if (fchown(fd, c->uid, c->group) == 0)
		fchmod(fd, copy_mode(mode));
}

int incoming_lookup(int pfd, const char *name, struct stat *st, int *fd)
{
	int f = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return -errno;
	if (fstatat(f, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		close(f);
		return -e;
	}
	*fd = f;
	return 0;
}

int incoming_fstat(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

DIR *incoming_opendir(int fd)
{
	int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return NULL;
	DIR *dir = fdopendir(d);
	if (!dir) {
		int e = errno;
		close(d);
		errno = e;
	}
	return dir;
}

static int is_change(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT));
}

/* A file of r opened to be written: it counts as a copy in progress of its entry until
 * closed (an editor's swap file never does). Returns whether it counts. */
static int track_open(const struct route *r, pid_t pid)
{
	if (!r || editor_artifact(r->rel))
		return 0;
	daemon_incoming_open(core, r->entry, pid);
	note_change(r, pid);
	return 1;
}

int incoming_open(const struct route *r, int fd, int flags, pid_t pid, int *tracked)
{
	char self[32];
	proc_path(fd, self);
	int f = open(self, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY)) | O_CLOEXEC);
	if (f < 0)
		return -errno;
	*tracked = is_change(flags) && track_open(r, pid);
	return f;
}

int incoming_create(const struct route *r, int pfd, const char *name, int flags, mode_t mode,
		    const struct incoming_caller *c, int *tracked)
{
	if (!new_entry_ok(r))
		return -ENAMETOOLONG;
	int fd = openat(pfd, name, (flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC) & ~O_NOCTTY,
			copy_mode(mode));
	if (fd < 0)
		return -errno;
	own_new(fd, c, mode);
	*tracked = track_open(r, c->pid);
	return fd;
}

void incoming_wrote(const char *entry, pid_t pid)
{
	daemon_incoming_touch(core, entry, pid);
}

void incoming_closed(const char *entry)
{
	daemon_incoming_touch(core, entry, 0);
	daemon_incoming_close(core, entry);
}

int incoming_mkdir(const struct route *r, int pfd, const char *name, mode_t mode,
		   const struct incoming_caller *c)
{
	if (!new_entry_ok(r))
		return -ENAMETOOLONG;
	if (mkdirat(pfd, name, copy_mode(mode)) < 0)
		return -errno;
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		own_new(fd, c, mode);
		close(fd);
	}
	note_change(r, c->pid);
	return 0;
}

int incoming_symlink(const char *target, const struct route *r, int pfd, const char *name,
		     pid_t pid)
{
	if (!new_entry_ok(r))
		return -ENAMETOOLONG;
	if (symlinkat(target, pfd, name) < 0)
		return -errno;
	note_change(r, pid);
	return 0;
}

int incoming_link(int fd, const struct route *to, int npfd, const char *newname, pid_t pid)
{
	if (!new_entry_ok(to))
		return -ENAMETOOLONG;
	/* the object itself, whichever of its names the kernel knows it by */
	if (linkat(fd, "", npfd, newname, AT_EMPTY_PATH) < 0)
		return -errno;
	note_change(to, pid);
	return 0;
}

/* After r is gone: a top-level entry is forgotten, anything below it is a change. */
static void removed(const struct route *r, pid_t pid)
{
	if (r->top_level)
		daemon_incoming_gone(core, r->entry);
	else
		note_change(r, pid);
}

int incoming_unlink(const struct route *r, int pfd, const char *name, pid_t pid)
{
	if (unlinkat(pfd, name, 0) < 0)
		return -errno;
	removed(r, pid);
	return 0;
}

int incoming_rmdir(const struct route *r, int pfd, const char *name, pid_t pid)
{
	if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
		return -errno;
	removed(r, pid);
	return 0;
}

int incoming_rename(const struct route *from, int pfd, const char *name, const struct route *to,
		    int npfd, const char *newname, unsigned flags, pid_t pid)
{
	if (!new_entry_ok(to))
		return -ENAMETOOLONG;
	if (renameat2(pfd, name, npfd, newname, flags) < 0)
		return -errno;
	if (from->top_level && strcmp(from->entry, to->entry))
		daemon_incoming_gone(core, from->entry);
	else
		note_change(from, pid);
	note_change(to, pid);
	return 0;
}

int incoming_readlink(int fd, char *buf, size_t size)
{
	ssize_t n = readlinkat(fd, "", buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static int set_size(int fd, int open_fd, off_t size)
{
	if (open_fd >= 0)
		return ftruncate(open_fd, size) < 0 ? -errno : 0;
	char self[32];
	proc_path(fd, self);
	return truncate(self, size) < 0 ? -errno : 0;
}

static int set_times(int fd, const struct stat *attr, int to_set)
{
	struct timespec tv[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	return utimensat(fd, "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int incoming_setattr(const struct route *r, int fd, int open_fd, const struct stat *attr,
		     int to_set, pid_t pid)
{
	struct stat st;
	int rc = incoming_fstat(fd, &st);
	char self[32];
	proc_path(fd, self);
	if (!rc && (to_set & FUSE_SET_ATTR_MODE))
		rc = S_ISLNK(st.st_mode)			 ? -EOPNOTSUPP
		     : chmod(self, copy_mode(attr->st_mode)) < 0 ? -errno
								 : 0;
	if (!rc && (to_set & FUSE_SET_ATTR_SIZE))
		rc = S_ISREG(st.st_mode) ? set_size(fd, open_fd, attr->st_size) : -EISDIR;
	if (!rc && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			      FUSE_SET_ATTR_MTIME_NOW)))
		rc = set_times(fd, attr, to_set);
	if (!rc)
		note_change(r, pid);
	return rc;
}

/* The extended-attribute calls of an object behind an O_PATH descriptor: through its
 * /proc/self/fd path, for anything but a symlink (which the path would follow). */
static int xattr_path(int fd, char out[32])
{
	struct stat st;
	int rc = incoming_fstat(fd, &st);
	if (rc)
		return rc;
	proc_path(fd, out);
	return S_ISLNK(st.st_mode) ? -EPERM : 0;
}

int incoming_setxattr(const struct route *r, int fd, const char *name, const char *value,
		      size_t size, int flags, pid_t pid)
{
	char self[32];
	int rc = xattr_path(fd, self);
	if (rc)
		return rc;
	if (setxattr(self, name, value, size, flags) < 0)
		return -errno;
	note_change(r, pid);
	/* an access ACL sets the mode bits too: they keep the mask of every copy */
	struct stat st;
	if (strcmp(name, "system.posix_acl_access") == 0 && incoming_fstat(fd, &st) == 0)
		chmod(self, copy_mode(st.st_mode));
	return 0;
}

int incoming_getxattr(int fd, const char *name, char *value, size_t size)
{
	char self[32];
	int rc = xattr_path(fd, self);
	if (rc)
		return rc == -EPERM ? -ENODATA : rc;
	ssize_t n = getxattr(self, name, value, size);
	return n < 0 ? -errno : (int)n;
}

int incoming_listxattr(int fd, char *list, size_t size)
{
	char self[32];
	int rc = xattr_path(fd, self);
	if (rc)
		return rc == -EPERM ? 0 : rc;
	ssize_t n = listxattr(self, list, size);
	return n < 0 ? -errno : (int)n;
}

int incoming_removexattr(const struct route *r, int fd, const char *name, pid_t pid)
{
	char self[32];
	int rc = xattr_path(fd, self);
	if (rc)
		return rc;
	if (removexattr(self, name) < 0)
		return -errno;
	note_change(r, pid);
	return 0;
}
