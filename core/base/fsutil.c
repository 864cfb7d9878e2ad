/* fsutil: mkdir -p, rm -rf, chown -R and atomic file publication. */
#include "fsutil.h"
#include "tree_walk.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Deep enough for any path the kernel takes (each level is at least "/x") */
enum { WALK_ANY_DEPTH = PATH_MAX / 2 };

static int rm_visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	(void)ctx;
	if (when == TREE_DIR_PRE)
		return 0;
	int r = when == TREE_DIR_POST ? rmdir(e->path) : unlink(e->path);
	return r < 0 && errno != ENOENT ? -errno : 0;
}

int rm_rf(const char *path)
{
	/* st_dev is not looked at: on an overlayfs over several filesystems, files report
	 * another st_dev than their directory */
	const struct tree_walk w = { .visit = rm_visit,
				     .max_depth = WALK_ANY_DEPTH,
				     .vanished_ok = 1 };
	int rc = tree_walk(path, &w);
	return rc == -ENOENT ? 0 : rc;
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static int chown_visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	const struct owner *o = ctx;
	if (when == TREE_DIR_POST)
		return 0;
	return lchown(e->path, o->uid, o->gid) < 0 ? -errno : 0;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct owner o = { uid, gid };
	const struct tree_walk w = { .visit = chown_visit, .ctx = &o, .max_depth = WALK_ANY_DEPTH };
	return tree_walk(path, &w);
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
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, data, len);
	if (rc) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
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
