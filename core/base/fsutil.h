/* fsutil: small filesystem helpers used across core/ (all return 0 or -errno). */
#ifndef WAZOFS_FSUTIL_H
#define WAZOFS_FSUTIL_H
#include <stddef.h>
#include <sys/types.h>
int mkdir_p(const char *path, int mode);
/* A path formatted into out (len bytes, a PATH_MAX buffer as a rule): 0, or
 * -ENAMETOOLONG when it does not fit (out is then ""). The one way core/ builds a path
 * from pieces, so a name too long is an error, never a cut path. */
int path_fmt(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An open of path beneath dirfd (flags with O_CLOEXEC and O_NOFOLLOW added; mode for
 * O_CREAT) that follows no link, magic ones included, and leaves dirfd on no "..":
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS. The fd, or -errno (-ELOOP: a link
 * on the way). On a kernel before 5.6 (no openat2), openat with O_NOFOLLOW. */
int open_beneath(int dirfd, const char *path, int flags, mode_t mode);
/* An open of path as if rootfd were / (openat2 with RESOLVE_IN_ROOT: links resolve
 * inside it, ".." stops at it; no magic link), flags with O_CLOEXEC added: what an
 * installed system under root= holds, seen as that system sees it. The fd, or -errno. */
int open_in_root(int rootfd, const char *path, int flags);
struct stat;
/* The entry name of directory dirfd, looked at (fstatat) as *seen, opened as open_beneath
 * does: it must still be what was looked at (same inode, device and type), or -ESTALE
 * (a swap meanwhile). The fd, or -errno; now (may be NULL) gets its fstat. */
int open_as_seen(int dirfd, const char *name, int flags, const struct stat *seen, struct stat *now);
/* Removes path and everything below it; symbolic links are removed, never followed.
 * The walk goes by descriptors (openat O_NOFOLLOW, unlinkat), so a directory swapped for
 * a link meanwhile is removed as a link, and no path length limits it. */
int rm_rf(const char *path);
/* chown of path and everything below it, by descriptors as rm_rf (fchown of each
 * directory opened with no link followed; a link itself, never what it points to). */
int chown_tree(const char *path, uid_t uid, gid_t gid);
/* The disk space path and everything below it take (st_blocks), walked by descriptors
 * as rm_rf. */
int tree_disk_usage(const char *path, unsigned long long *bytes);
/* Writes all len bytes of buf to fd, going on after short writes and EINTR. */
int write_all(int fd, const void *buf, size_t len);
/* Writes data to path atomically (a temporary file of a short name beside it, fsync,
 * rename), with mode. */
int write_file_atomic(const char *path, const void *data, size_t len, int mode);
struct stat;
/* 1 when a and b show the same version of a file (inode, size, mtime). */
int file_state_same(const struct stat *a, const struct stat *b);
/* 1 when path's inode, size or mtime differ from *seen (then *seen is updated), 0 when
 * not, or when path cannot be stat'ed (*seen unchanged). */
int file_changed(const char *path, struct stat *seen);
#endif
