/* incoming: see incoming.h. */
#include "incoming.h"
#include "base/fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The backing directory, opened once: every call below is relative to it. */
static int dir_fd = -1;
static const char *dir_path;

int incoming_start(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir_fd = fd;
	dir_path = dir;
	return 0;
}

void incoming_stop(void)
{
	if (dir_fd >= 0)
		close(dir_fd);
	dir_fd = -1;
}

/* "." for incoming/ itself, else the path below it. */
static const char *rel(const struct route *r)
{
	return r->kind == R_INCOMING ? r->rel : ".";
}

static struct daemon *core(void)
{
	return fuse_get_context()->private_data;
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

/* A change under incoming/ by the caller, for the completion tracker. */
static void note_change(const struct route *r)
{
	if (!editor_artifact(r->rel))
		daemon_incoming_touch(core(), r->entry, fuse_get_context()->pid);
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
static void own_new(int fd, gid_t group, mode_t mode)
{
	if (fchown(fd, fuse_get_context()->uid, group) == 0)
		fchmod(fd, copy_mode(mode));
}

int incoming_stat(const struct route *r, struct stat *st)
{
	int rc = r->kind == R_INCOMING ? fstatat(dir_fd, r->rel, st, AT_SYMLINK_NOFOLLOW)
				       : fstat(dir_fd, st);
	return rc < 0 ? -errno : 0;
}

int incoming_exists(const struct route *r)
{
	struct stat st;
	return incoming_stat(r, &st) == 0;
}

DIR *incoming_opendir(const struct route *r)
{
	int fd = openat(dir_fd, rel(r), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

/* Opens below the directory only: no symlink, no "..", no magic link on the way. */
static int open_in(const char *path, int flags, mode_t mode)
{
	return open_beneath(dir_fd, path, flags, mode);
}

static int is_change(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_CREAT));
}

/* A file of r opened to be written: it counts as a copy in progress of its entry until
 * closed (an editor's swap file never does). Returns whether it counts. */
static int track_open(const struct route *r)
{
	if (editor_artifact(r->rel))
		return 0;
	daemon_incoming_open(core(), r->entry, fuse_get_context()->pid);
	note_change(r);
	return 1;
}

int incoming_open(const struct route *r, int flags, int *tracked)
{
	int fd = open_in(r->rel, flags & ~O_CREAT, 0);
	*tracked = fd >= 0 && is_change(flags) && track_open(r);
	return fd;
}

int incoming_create(const struct route *r, int flags, mode_t mode, gid_t group, int *tracked)
{
	if (!new_entry_ok(r))
		return -ENAMETOOLONG;
	int fd = open_in(r->rel, flags | O_CREAT | O_EXCL, copy_mode(mode));
	if (fd == -EEXIST && !(flags & O_EXCL)) /* no O_EXCL asked: open what is there */
		return incoming_open(r, flags, tracked);
	if (fd < 0)
		return fd;
	own_new(fd, group, mode);
	*tracked = track_open(r);
	return fd;
}

void incoming_wrote(const char *entry)
{
	daemon_incoming_touch(core(), entry, fuse_get_context()->pid);
}

void incoming_closed(const char *entry)
{
	daemon_incoming_touch(core(), entry, 0);
	daemon_incoming_close(core(), entry);
}

int incoming_mkdir(const struct route *r, mode_t mode, gid_t group)
{
	if (!new_entry_ok(r))
		return -ENAMETOOLONG;
	if (mkdirat(dir_fd, r->rel, copy_mode(mode)) < 0)
		return -errno;
	int fd = open_in(r->rel, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0) {
		own_new(fd, group, mode);
		close(fd);
	}
	note_change(r);
	return 0;
}

/* After r is gone: a top-level entry is forgotten, anything below it is a change. */
static void removed(const struct route *r)
{
	if (r->top_level)
		daemon_incoming_gone(core(), r->entry);
	else
		note_change(r);
}

int incoming_unlink(const struct route *r)
{
	if (unlinkat(dir_fd, r->rel, 0) < 0)
		return -errno;
	removed(r);
	return 0;
}

int incoming_rmdir(const struct route *r)
{
	if (unlinkat(dir_fd, r->rel, AT_REMOVEDIR) < 0)
		return -errno;
	removed(r);
	return 0;
}

int incoming_rename(const struct route *from, const struct route *to, unsigned flags)
{
	if (!new_entry_ok(to))
		return -ENAMETOOLONG;
	if (renameat2(dir_fd, from->rel, dir_fd, to->rel, flags) < 0)
		return -errno;
	if (from->top_level && strcmp(from->entry, to->entry))
		daemon_incoming_gone(core(), from->entry);
	else
		note_change(from);
	note_change(to);
	return 0;
}

int incoming_truncate(const struct route *r, int fd, off_t size)
{
	int own = fd < 0;
	if (own && (fd = open_in(r->rel, O_WRONLY, 0)) < 0)
		return fd;
	int rc = ftruncate(fd, size) < 0 ? -errno : 0;
	if (own)
		close(fd);
	if (!rc && r)
		note_change(r);
	return rc;
}

int incoming_chmod(const struct route *r, int fd, mode_t mode)
{
	/* a copy only admins may change */
	int rc = r ? fchmodat(dir_fd, r->rel, copy_mode(mode), 0) : fchmod(fd, copy_mode(mode));
	if (rc < 0)
		return -errno;
	if (r)
		note_change(r);
	return 0;
}

int incoming_utimens(const struct route *r, int fd, const struct timespec tv[2])
{
	int rc = r ? utimensat(dir_fd, r->rel, tv, AT_SYMLINK_NOFOLLOW) : futimens(fd, tv);
	if (rc < 0)
		return -errno;
	if (r)
		note_change(r);
	return 0;
}

int incoming_symlink(const char *target, const struct route *r)
{
	if (!new_entry_ok(r))
		return -ENAMETOOLONG;
	if (symlinkat(target, dir_fd, r->rel) < 0)
		return -errno;
	note_change(r);
	return 0;
}

int incoming_readlink(const struct route *r, char *buf, size_t size)
{
	ssize_t n = readlinkat(dir_fd, r->rel, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int incoming_link(const struct route *from, const struct route *to)
{
	if (!new_entry_ok(to))
		return -ENAMETOOLONG;
	if (linkat(dir_fd, from->rel, dir_fd, to->rel, 0) < 0)
		return -errno;
	note_change(to);
	return 0;
}

/* The extended-attribute calls have no *at() form before Linux 6.13: they take the
 * backing path (no symlink followed). */
static int backing_path(const struct route *r, char *out, size_t len)
{
	return snprintf(out, len, "%s/%s", dir_path, r->rel) >= (int)len ? -ENAMETOOLONG : 0;
}

int incoming_setxattr(const struct route *r, const char *name, const char *value, size_t size,
		      int flags)
{
	char b[PATH_MAX];
	int rc = backing_path(r, b, sizeof(b));
	if (rc)
		return rc;
	if (lsetxattr(b, name, value, size, flags) < 0)
		return -errno;
	note_change(r);
	/* an access ACL sets the mode bits too: they keep the mask of every copy */
	struct stat st;
	if (strcmp(name, "system.posix_acl_access") == 0 &&
	    fstatat(dir_fd, r->rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
		fchmodat(dir_fd, r->rel, copy_mode(st.st_mode), 0);
	return 0;
}

int incoming_getxattr(const struct route *r, const char *name, char *value, size_t size)
{
	char b[PATH_MAX];
	int rc = backing_path(r, b, sizeof(b));
	if (rc)
		return rc;
	ssize_t n = lgetxattr(b, name, value, size);
	return n < 0 ? -errno : (int)n;
}

int incoming_listxattr(const struct route *r, char *list, size_t size)
{
	char b[PATH_MAX];
	int rc = backing_path(r, b, sizeof(b));
	if (rc)
		return rc;
	ssize_t n = llistxattr(b, list, size);
	return n < 0 ? -errno : (int)n;
}

int incoming_removexattr(const struct route *r, const char *name)
{
	char b[PATH_MAX];
	int rc = backing_path(r, b, sizeof(b));
	if (rc)
		return rc;
	if (lremovexattr(b, name) < 0)
		return -errno;
	note_change(r);
	return 0;
}
