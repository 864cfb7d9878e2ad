/* tree_copy: see tree_copy.h. */
#include "tree_copy.h"
#include "fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_DEPTH = 128 };

static int fail(struct error *err, const char *path, int e)
{
	error_addf(err, "%s: %s", path, strerror(e));
	return -e;
}

/* At most max bytes of in into out (what was there when it was looked at: a file that
 * grows meanwhile does not make the copy grow past it). */
static int copy_data(int in, int out, unsigned long long max)
{
	unsigned long long left = max;
	while (left) {
		ssize_t n =
		    copy_file_range(in, NULL, out, NULL, left < (1 << 30) ? left : 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0) {
			left -= (unsigned long long)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		break; /* across filesystems that cannot: read and write */
	}
	char buf[65536];
	while (left) {
		ssize_t n = read(in, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int rc = write_all(out, buf, (size_t)n);
		if (rc)
			return rc;
		left -= (unsigned long long)n;
	}
	return 0;
}

/* Content, owner, mode and times of the open file in into the new file out. */
static int copy_fd(int in, int out, const struct stat *st, int flags)
{
	int rc = copy_data(in, out, (unsigned long long)st->st_size);
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (!rc && (flags & TREE_COPY_OWNERS) && fchown(out, st->st_uid, st->st_gid) < 0)
		rc = -errno;
	/* after the owner: chown clears set-id bits */
	if (!rc && fchmod(out, st->st_mode & 07777) < 0)
		rc = -errno;
	if (!rc && futimens(out, times) < 0)
		rc = -errno;
	return rc;
}

/* What is being copied: the source's path (for messages) and how. */
struct copy {
	int flags;
	struct error *err;
	char *path; /* PATH_MAX: the entry's source path, for messages (cut to fit) */
	unsigned long long max_bytes, bytes; /* the limit (0: none), and what is copied */
};

static int copy_dir(struct copy *c, int sfd, int dfd, size_t plen, int depth);

/* Whether the entry c->path (st) may be copied: a file, a directory or a link, within
 * the limit of bytes. */
static int copy_allowed(struct copy *c, const struct stat *st)
{
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		error_addf(c->err, "%s: not a file, directory or symbolic link", c->path);
		return -EINVAL;
	}
	if (S_ISREG(st->st_mode) && c->max_bytes &&
	    (c->bytes += (unsigned long long)st->st_size) > c->max_bytes) {
		error_addf(c->err, "%s: the tree holds more than %llu bytes", c->path,
			   c->max_bytes);
		return -EFBIG;
	}
	return 0;
}

/* One entry of the source directory sfd into dfd. */
static int copy_entry(struct copy *c, int sfd, int dfd, const char *name, size_t plen, int depth)
{
	snprintf(c->path + plen, PATH_MAX - plen, "/%s", name);
	size_t len = plen + strlen(c->path + plen);
	struct stat st;
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c->err, c->path, errno);
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return fail(c->err, c->path, errno);
		target[n] = 0;
		if (symlinkat(target, dfd, name) < 0 ||
		    ((c->flags & TREE_COPY_OWNERS) &&
		     fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) ||
		    utimensat(dfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(c->err, c->path, errno);
		return 0;
	}
	int rc = copy_allowed(c, &st);
	if (rc)
		return rc;
	int dir = S_ISDIR(st.st_mode);
	int in = open_as_seen(sfd, name, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY, &st, NULL);
	if (in < 0)
		return fail(c->err, c->path,
			    in == -ESTALE || in == -ELOOP || in == -ENOTDIR ? ESTALE : -in);
	int out = -1;
	if (dir) {
		if (depth >= MAX_DEPTH)
			rc = -ELOOP;
		else if (mkdirat(dfd, name, 0700) < 0 ||
			 (out = openat(dfd, name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			rc = -errno;
		if (!rc)
			rc = copy_dir(c, in, out, len, depth + 1);
		c->path[len] = 0;
		/* its mode and times once its entries are in */
		if (!rc &&
		    (((c->flags & TREE_COPY_OWNERS) && fchown(out, st.st_uid, st.st_gid) < 0) ||
		     fchmod(out, st.st_mode & 07777) < 0 || futimens(out, times) < 0))
			rc = -errno;
		if (rc && !c->err->msg.len)
			fail(c->err, c->path, -rc);
	} else {
		out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		rc = out < 0 ? -errno : copy_fd(in, out, &st, c->flags);
		if (rc)
			fail(c->err, c->path, -rc);
	}
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

/* The entries of the source directory sfd into dfd (c->path: its path, plen bytes). */
static int copy_dir(struct copy *c, int sfd, int dfd, size_t plen, int depth)
{
	int lfd = dup(sfd);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return fail(c->err, c->path, errno);
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (depth == 1 && (c->flags & TREE_COPY_NO_GIT) && !strcmp(de->d_name, ".git")))
			continue;
		rc = copy_entry(c, sfd, dfd, de->d_name, plen, depth);
		c->path[plen] = 0;
	}
	closedir(d);
	return rc;
}

int file_copy(const char *src, const char *dest, struct error *err)
{
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0) {
		int e = errno;
		if (in >= 0)
			close(in);
		return fail(err, src, e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(in);
		error_addf(err, "%s: not a regular file", src);
		return -EINVAL;
	}
	int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = out < 0 ? -errno : copy_fd(in, out, &st, 0);
	if (out >= 0 && close(out) < 0 && !rc)
		rc = -errno;
	close(in);
	return rc ? fail(err, out < 0 ? dest : src, -rc) : 0;
}

int tree_copy(const char *src, const char *dest, int flags, struct error *err)
{
	return tree_copy_max(src, dest, flags, 0, err);
}

int tree_copy_max(const char *src, const char *dest, int flags, unsigned long long max_bytes,
		  struct error *err)
{
	int in = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail(err, src, errno == ELOOP ? ENOTDIR : errno);
	struct stat st;
	int out = -1, rc = fstat(in, &st) < 0 ? -errno : 0;
	if (!rc && (mkdir(dest, 0700) < 0 ||
		    (out = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0))
		rc = -errno;
	if (rc) {
		close(in);
		return fail(err, dest, -rc);
	}
	struct copy c = { flags, err, malloc(PATH_MAX), max_bytes, 0 };
	if (!c.path) {
		close(in);
		close(out);
		return fail(err, src, ENOMEM);
	}
	snprintf(c.path, PATH_MAX, "%s", src);
	rc = copy_dir(&c, in, out, strlen(c.path), 1);
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	if (!rc && (((flags & TREE_COPY_OWNERS) && fchown(out, st.st_uid, st.st_gid) < 0) ||
		    fchmod(out, st.st_mode & 07777) < 0 || futimens(out, times) < 0))
		rc = fail(err, dest, errno);
	free(c.path);
	close(out);
	close(in);
	return rc;
}
