/* access: who may do what in the mount, decided from the caller of each request
 * (fuse_req_ctx), whatever the mount options: root and members of -o group change the
 * tree and read logs, packages and copies; anyone else reads the rest. A caller whose
 * groups cannot be read gets -EAGAIN, never a silent "not an admin". */
#ifndef WAZOFS_ACCESS_H
#define WAZOFS_ACCESS_H
#include "daemon/daemon.h"
#include "router.h"
#include <fuse_lowlevel.h>

/* The daemon whose settings say who the admins are (at init). */
void access_start(struct daemon *p);
/* The caller is in group gid (primary or supplementary): 1, 0, or -EAGAIN. */
int access_in_group(fuse_req_t req, gid_t gid);
/* Root, or a member of the admin group: 1, 0, or -EAGAIN (and the history's caller). */
int access_is_admin(fuse_req_t req);
/* 0 for an admin, else -EACCES (or -EAGAIN). */
int access_need_admin(fuse_req_t req);
/* A package (a plugin's .deb, versions/, repo/pool/): may hold files only root reads. */
int access_is_package(const struct route *r);
/* Root, admins, and for repo/ the members of repo_group: 1, 0, or -EAGAIN. */
int access_may_read_package(fuse_req_t req, const struct route *r);
/* The group shown on what admins may change or read: the admin group, else root's. */
gid_t access_admin_gid(void);
/* Mode of a directory admins change (mkdir, rmdir, copies). */
mode_t access_dir_mode(void);
/* A log: readable by admins only. */
int access_is_private(const char *name);
#endif
