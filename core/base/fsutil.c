/* fsutil: mkdir -p, rm -rf and atomic file publication. */
#include "fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
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

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	return r < 0 && errno != ENOENT ? -errno : 0;
}

int rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	/* no FTW_MOUNT: on an overlayfs over several filesystems, files report another
	 * st_dev than their directory and would be skipped */
	int r = nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	return r < 0 ? -errno : r;
}

static uid_t chown_uid;
static gid_t chown_gid;
static pthread_mutex_t chown_lock = PTHREAD_MUTEX_INITIALIZER;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) < 0 ? -errno : 0;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	pthread_mutex_lock(&chown_lock); /* nftw has no context argument */
	chown_uid = uid;
	chown_gid = gid;
	int r = nftw(path, chown_one, 32, FTW_PHYS);
	pthread_mutex_unlock(&chown_lock);
	return r < 0 ? -errno : r;
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
