/* tree_copy: see tree_copy.h. */
#include "tree_copy.h"
#include "fsutil.h"
#include "tree_walk.h"
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

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		break; /* across filesystems that cannot: read and write */
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
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
	}
}

static int copy_file(const char *src, const char *dest, const struct stat *st, int flags,
		     struct error *err)
{
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail(err, src, errno);
	int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = errno;
		close(in);
		return fail(err, dest, e);
	}
	int rc = copy_data(in, out);
	const char *where = rc ? src : dest;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (!rc && (flags & TREE_COPY_OWNERS) && fchown(out, st->st_uid, st->st_gid) < 0)
		rc = -errno;
	/* after the owner: chown clears set-id bits */
	if (!rc && fchmod(out, st->st_mode & 07777) < 0)
		rc = -errno;
	if (!rc && futimens(out, times) < 0)
		rc = -errno;
	if (close(out) < 0 && !rc)
		rc = -errno;
	close(in);
	return rc ? fail(err, where, -rc) : 0;
}

static int copy_link(const char *src, const char *dest, const struct stat *st, int flags,
		     struct error *err)
{
	char target[PATH_MAX];
	ssize_t n = readlink(src, target, sizeof(target) - 1);
	if (n < 0)
		return fail(err, src, errno);
	target[n] = 0;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (symlink(target, dest) < 0 ||
	    ((flags & TREE_COPY_OWNERS) && lchown(dest, st->st_uid, st->st_gid) < 0) ||
	    utimensat(AT_FDCWD, dest, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, dest, errno);
	return 0;
}

struct copy {
	const char *dest; /* the copy's root */
	int flags;
	struct error *err;
	char *to; /* PATH_MAX: where the entry being visited goes */
};

static int copy_visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	struct copy *c = ctx;
	if (snprintf(c->to, PATH_MAX, "%s%s%s", c->dest, e->rel[0] ? "/" : "", e->rel) >= PATH_MAX)
		return fail(c->err, e->path, ENAMETOOLONG);
	const struct stat *st = e->st;
	if (when == TREE_DIR_PRE)
		return mkdir(c->to, 0700) < 0 ? fail(c->err, c->to, errno) : 0;
	if (when == TREE_DIR_POST) { /* its mode and times once its entries are in */
		struct timespec times[2] = { st->st_atim, st->st_mtim };
		if (((c->flags & TREE_COPY_OWNERS) && lchown(c->to, st->st_uid, st->st_gid) < 0) ||
		    chmod(c->to, st->st_mode & 07777) < 0 ||
		    utimensat(AT_FDCWD, c->to, times, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(c->err, c->to, errno);
		return 0;
	}
	if (S_ISREG(st->st_mode))
		return copy_file(e->path, c->to, st, c->flags, c->err);
	if (S_ISLNK(st->st_mode))
		return copy_link(e->path, c->to, st, c->flags, c->err);
	error_addf(c->err, "%s: not a file, directory or symbolic link", e->path);
	return -EINVAL;
}

int file_copy(const char *src, const char *dest, struct error *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return fail(err, src, errno);
	if (!S_ISREG(st.st_mode)) {
		error_addf(err, "%s: not a regular file", src);
		return -EINVAL;
	}
	return copy_file(src, dest, &st, 0, err);
}

int tree_copy(const char *src, const char *dest, int flags, struct error *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return fail(err, src, errno);
	if (!S_ISDIR(st.st_mode))
		return fail(err, src, ENOTDIR);
	struct copy c = { dest, flags, err, malloc(PATH_MAX) };
	if (!c.to)
		return fail(err, src, ENOMEM);
	const struct tree_walk w = {
		.visit = copy_visit, .ctx = &c, .max_depth = MAX_DEPTH, .err = err
	};
	int rc = tree_walk(src, &w);
	free(c.to);
	return rc;
}
