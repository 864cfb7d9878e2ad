/* fsutil: small filesystem helpers used across core/ (all return 0 or -errno). */
#ifndef WAZOFS_FSUTIL_H
#define WAZOFS_FSUTIL_H
#include <stddef.h>
#include <sys/types.h>
int mkdir_p(const char *path, int mode);
/* Removes path and everything below it, never crossing into another filesystem. */
int rm_rf(const char *path);
/* lchown of path and everything below it (symbolic links themselves, never followed). */
int chown_tree(const char *path, uid_t uid, gid_t gid);
/* Writes data to path atomically (temp file, fsync, rename). */
int write_file_atomic(const char *path, const void *data, size_t len, int mode);
/* 1 when path's inode, size or mtime differ from *seen (then *seen is updated), 0 when
 * not, or when path cannot be stat'ed (*seen unchanged). */
struct stat;
int file_changed(const char *path, struct stat *seen);
#endif
