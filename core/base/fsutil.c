/* fsutil: mkdir -p, rm -rf, chown -R and atomic file publication. */
#include "fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RESOLVE_BENEATH
#include <linux/openat2.h>
#endif

int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
				.mode = (flags & O_CREAT) ? mode : 0,
				.resolve =
				    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : (int)fd;
}

int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int open_as_seen(int dirfd, const char *name, int flags, const struct stat *seen, struct stat *now)
{
	int fd = open_beneath(dirfd, name, flags, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_ino != seen->st_ino || st.st_dev != seen->st_dev ||
	    (st.st_mode & S_IFMT) != (seen->st_mode & S_IFMT)) {
		close(fd);
		return -ESTALE;
	}
	if (now)
		*now = st;
	return fd;
}

int path_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		return 0;
	if (len)
		out[0] = 0;
	return -ENAMETOOLONG;
}

int mkdir_p(const char *path, int mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* How deep rm_rf and chown_tree go (one descriptor is held per level): deeper than any
 * path the kernel takes by name, so no tree a path walk could make is out of reach. */
enum { FD_WALK_MAX_DEPTH = PATH_MAX / 2 };

/* Calls each(dfd, name, st, ctx) for every entry of the open directory dfd (. and ..
 * left out); the directory is read again from its start until a pass sees nothing new
 * to do, so an entry each removes does not hide another. */
typedef int (*entry_fn)(int dfd, const char *name, const struct stat *st, int depth, void *ctx);

static int each_entry(int dfd, int depth, entry_fn each, void *ctx, int again)
{
	int lfd = dup(dfd);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		int e = errno;
		if (lfd >= 0)
			close(lfd);
		return -e;
	}
	int rc = 0, seen;
	do {
		seen = 0;
		rewinddir(d);
		struct dirent *de;
		while (!rc && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			struct stat st;
			if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				rc = errno == ENOENT ? 0 : -errno;
				continue;
			}
			seen = 1;
			rc = each(dfd, de->d_name, &st, depth, ctx);
		}
	} while (!rc && again && seen);
	closedir(d);
	return rc;
}

/* The directory name below dfd, opened with no link followed: -ENOTDIR or -ELOOP when
 * it is (now) no directory. */
static int open_dir_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int rm_at(int dfd, const char *name, const struct stat *st, int depth, void *ctx)
{
	if (S_ISDIR(st->st_mode)) {
		if (depth >= FD_WALK_MAX_DEPTH)
			return -ELOOP;
		int fd = open_dir_at(dfd, name);
		if (fd >= 0) {
			int rc = each_entry(fd, depth + 1, rm_at, ctx, 1);
			close(fd);
			if (rc)
				return rc;
			if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
				return 0;
			return -errno;
		}
		if (fd != -ENOTDIR && fd != -ELOOP)
			return fd == -ENOENT ? 0 : fd;
		/* swapped for a link or a file since it was looked at: that goes */
	}
	return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* The parent of path, opened, and path's last name in it (a pointer into path). */
static int open_parent(const char *path, char *buf, size_t len, const char **name)
{
	if (snprintf(buf, len, "%s", path) >= (int)len)
		return -ENAMETOOLONG;
	size_t n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	char *slash = strrchr(buf, '/');
	*name = slash ? slash + 1 : buf;
	const char *dir = slash == buf ? "/" : slash ? buf : ".";
	if (slash && slash != buf)
		*slash = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int rm_rf(const char *path)
{
	char buf[PATH_MAX];
	const char *name;
	int dfd = open_parent(path, buf, sizeof(buf), &name);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	struct stat st;
	int rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? (errno == ENOENT ? 0 : -errno)
								  : rm_at(dfd, name, &st, 0, NULL);
	close(dfd);
	return rc;
}

static int size_at(int dfd, const char *name, const struct stat *st, int depth, void *ctx)
{
	unsigned long long *bytes = ctx;
	*bytes += (unsigned long long)st->st_blocks * 512;
	if (!S_ISDIR(st->st_mode))
		return 0;
	if (depth >= FD_WALK_MAX_DEPTH)
		return -ELOOP;
	int fd = open_dir_at(dfd, name);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	int rc = each_entry(fd, depth + 1, size_at, ctx, 0);
	close(fd);
	return rc;
}

int tree_disk_usage(const char *path, unsigned long long *bytes)
{
	char buf[PATH_MAX];
	const char *name;
	*bytes = 0;
	int dfd = open_parent(path, buf, sizeof(buf), &name);
	if (dfd < 0)
		return dfd;
	struct stat st;
	int rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0
		     ? -errno
		     : size_at(dfd, name, &st, 0, bytes);
	close(dfd);
	return rc;
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static int chown_at(int dfd, const char *name, const struct stat *st, int depth, void *ctx)
{
	const struct owner *o = ctx;
	if (!S_ISDIR(st->st_mode)) /* a link itself, never what it points to */
		return fchownat(dfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (depth >= FD_WALK_MAX_DEPTH)
		return -ELOOP;
	int fd = open_dir_at(dfd, name);
	if (fd < 0)
		return fd;
	int rc =
	    fchown(fd, o->uid, o->gid) < 0 ? -errno : each_entry(fd, depth + 1, chown_at, ctx, 0);
	close(fd);
	return rc;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	char buf[PATH_MAX];
	const char *name;
	struct owner o = { uid, gid };
	int dfd = open_parent(path, buf, sizeof(buf), &name);
	if (dfd < 0)
		return dfd;
	struct stat st;
	int rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								  : chown_at(dfd, name, &st, 0, &o);
	close(dfd);
	return rc;
}

int write_all(int fd, const void *buf, size_t len)
{
	for (const char *p = buf; len;) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	/* a short temporary name beside path, whatever path's name: one of NAME_MAX
	 * bytes still has room for it */
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	if (snprintf(tmp, sizeof(tmp), "%.*s.wazofs-tmp.XXXXXX", dirlen, path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, (mode_t)mode) < 0 ? -errno : write_all(fd, data, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int file_state_same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int file_changed(const char *path, struct stat *seen)
{
	struct stat st;
	if (stat(path, &st) < 0 || file_state_same(&st, seen))
		return 0;
	*seen = st;
	return 1;
}
