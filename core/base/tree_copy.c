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

static int fail(struct strbuf *err, const char *path, int e)
{
	strbuf_addf(err, "%s: %s", path, strerror(e));
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
		     struct strbuf *err)
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
		     struct strbuf *err)
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

static int copy_at(const char *src, const char *dest, int flags, int depth, struct strbuf *err);

static int copy_dir(const char *src, const char *dest, const struct stat *st, int flags, int depth,
		    struct strbuf *err)
{
	if (depth > MAX_DEPTH)
		return fail(err, src, ELOOP);
	if (mkdir(dest, 0700) < 0)
		return fail(err, dest, errno);
	DIR *d = opendir(src);
	if (!d)
		return fail(err, src, errno);
	int rc = 0;
	struct dirent *de;
	char *s = malloc(PATH_MAX), *t = malloc(PATH_MAX);
	if (!s || !t)
		rc = fail(err, src, ENOMEM);
	while (!rc && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(s, PATH_MAX, "%s/%s", src, de->d_name) >= PATH_MAX ||
		    snprintf(t, PATH_MAX, "%s/%s", dest, de->d_name) >= PATH_MAX)
			rc = fail(err, src, ENAMETOOLONG);
		else
			rc = copy_at(s, t, flags, depth + 1, err);
	}
	if (!rc && errno)
		rc = fail(err, src, errno);
	closedir(d);
	free(s);
	free(t);
	if (rc)
		return rc;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (((flags & TREE_COPY_OWNERS) && lchown(dest, st->st_uid, st->st_gid) < 0) ||
	    chmod(dest, st->st_mode & 07777) < 0 ||
	    utimensat(AT_FDCWD, dest, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, dest, errno);
	return 0;
}

static int copy_at(const char *src, const char *dest, int flags, int depth, struct strbuf *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return fail(err, src, errno);
	if (S_ISDIR(st.st_mode))
		return copy_dir(src, dest, &st, flags, depth, err);
	if (S_ISREG(st.st_mode))
		return copy_file(src, dest, &st, flags, err);
	if (S_ISLNK(st.st_mode))
		return copy_link(src, dest, &st, flags, err);
	strbuf_addf(err, "%s: not a file, directory or symbolic link", src);
	return -EINVAL;
}

int file_copy(const char *src, const char *dest, struct strbuf *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return fail(err, src, errno);
	if (!S_ISREG(st.st_mode)) {
		strbuf_addf(err, "%s: not a regular file", src);
		return -EINVAL;
	}
	return copy_file(src, dest, &st, 0, err);
}

int tree_copy(const char *src, const char *dest, int flags, struct strbuf *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return fail(err, src, errno);
	if (!S_ISDIR(st.st_mode))
		return fail(err, src, ENOTDIR);
	return copy_dir(src, dest, &st, flags, 0, err);
}
