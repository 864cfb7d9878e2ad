/* passthrough_bench: the FUSE floor of P2 (scripts/bench.sh) and P3
 * (scripts/bench-tree.sh), a minimal libfuse 3.14 high-level passthrough of one directory
 * (the floor for any FUSE filesystem here: no splice, no kernel passthrough in 3.14). It
 * forwards what `cp -r`, `rm -r`, `ls -l` and `cat` need, with the same entry/attr
 * timeouts and the same multi-threaded loop as wazofs, lets the kernel keep what it read
 * (the backing files do not change under it), gives attributes in READDIRPLUS, and
 * nothing more. Not installed; bench only.
 * Usage: passthrough_bench [-d] [-n] BACKING_DIR MOUNTPOINT
 *   -d  libfuse's debug output
 *   -n  no extended attributes (getxattr answers EOPNOTSUPP, as wazofs's views do) */
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static char backing_dir[PATH_MAX];
static int no_xattr;

static const char *b(const char *path, char *buf)
{
	snprintf(buf, PATH_MAX, "%s%s", backing_dir, path);
	return buf;
}

#define BP(path)  b(path, (char[PATH_MAX]){ 0 })
#define RET(expr) return (expr) < 0 ? -errno : 0

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->entry_timeout = cfg->attr_timeout = 10.0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	return NULL;
}

static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi)
		RET(fstat((int)fi->fh, st));
	RET(lstat(BP(path), st));
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	DIR *d = opendir(BP(path));
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (fill(buf, de->d_name, &st, 0, FUSE_FILL_DIR_PLUS))
			break;
	}
	closedir(d);
	return 0;
}

static int pt_mkdir(const char *path, mode_t mode)
{
	RET(mkdir(BP(path), mode));
}

static int pt_rmdir(const char *path)
{
	RET(rmdir(BP(path)));
}

static int pt_unlink(const char *path)
{
	RET(unlink(BP(path)));
}

static int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = open(BP(path), fi->flags, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi)
{
	int fd = open(BP(path), fi->flags);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	return 0;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	ssize_t n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int pt_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	ssize_t n = pwrite((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int pt_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int pt_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	RET(chmod(BP(path), mode));
}

static int pt_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)fi;
	RET(utimensat(AT_FDCWD, BP(path), tv, AT_SYMLINK_NOFOLLOW));
}

static int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi)
		RET(ftruncate((int)fi->fh, size));
	RET(truncate(BP(path), size));
}

static int pt_getxattr(const char *path, const char *name, char *value, size_t size)
{
	if (no_xattr)
		return -EOPNOTSUPP;
	ssize_t n = lgetxattr(BP(path), name, value, size);
	return n < 0 ? -errno : (int)n;
}

static const struct fuse_operations pt_ops = {
	.init = pt_init,
	.getattr = pt_getattr,
	.readdir = pt_readdir,
	.mkdir = pt_mkdir,
	.rmdir = pt_rmdir,
	.unlink = pt_unlink,
	.create = pt_create,
	.open = pt_open,
	.read = pt_read,
	.write = pt_write,
	.release = pt_release,
	.chmod = pt_chmod,
	.utimens = pt_utimens,
	.truncate = pt_truncate,
	.getxattr = pt_getxattr,
};

int main(int argc, char **argv)
{
	int debug = 0, opt;
	while ((opt = getopt(argc, argv, "dn")) != -1) {
		if (opt == 'd')
			debug = 1;
		else if (opt == 'n')
			no_xattr = 1;
		else
			return 2;
	}
	if (argc - optind != 2 || !realpath(argv[optind], backing_dir)) {
		fprintf(stderr, "usage: %s [-d] [-n] BACKING_DIR MOUNTPOINT\n", argv[0]);
		return 2;
	}
	char *fargv[] = { argv[0], "-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1 + debug, fargv);
	struct fuse *f = fuse_new(&args, &pt_ops, sizeof(pt_ops), NULL);
	if (!f || fuse_mount(f, argv[optind + 1]))
		return 1;
	struct fuse_loop_config *loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(loop, 32);
	fuse_loop_cfg_set_idle_threads(loop, 10);
	int rc = fuse_loop_mt(f, loop);
	fuse_loop_cfg_destroy(loop);
	fuse_unmount(f);
	fuse_destroy(f);
	return rc ? 1 : 0;
}
