/* access: see access.h. */
#include "access.h"
#include <errno.h>
#include <string.h>

static struct daemon *core;

void access_start(struct daemon *p)
{
	core = p;
}

/* The caller is in group gid (primary or supplementary): 1, 0, or -EAGAIN when its
 * groups cannot be read (a process gone, /proc not readable). */
int access_in_group(fuse_req_t req, gid_t gid)
{
	if (fuse_req_ctx(req)->gid == gid)
		return 1;
	gid_t groups[1024];
	int n = fuse_req_getgroups(req, 1024, groups);
	if (n < 0)
		return -EAGAIN;
	for (int i = 0; i < n && i < 1024; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* Root, or a member of the admin group: 1, 0, or -EAGAIN. */
int access_is_admin(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	daemon_set_caller(c->uid); /* who asked, for the history */
	if (c->uid == 0)
		return 1;
	const struct wazofs_config *cfg = daemon_config(core);
	return cfg->has_admin_group ? access_in_group(req, cfg->admin_gid) : 0;
}

/* 0 for an admin, else -EACCES (or -EAGAIN). */
int access_need_admin(fuse_req_t req)
{
	int admin = access_is_admin(req);
	return admin < 0 ? admin : admin ? 0 : -EACCES;
}

/* A package (a plugin's .deb, versions/, repo/pool/) may hold files only root may read
 * on the server: root, admins, and for repo/ the members of repo_group read it. */
int access_is_package(const struct route *r)
{
	size_t n = r->kind == R_LEAF ? strlen(r->leaf) : 0;
	return r->kind == R_VERSION || (r->kind == R_REPO && strncmp(r->rel, "pool/", 5) == 0) ||
	       (n > 4 && strcmp(r->leaf + n - 4, ".deb") == 0);
}

int access_may_read_package(fuse_req_t req, const struct route *r)
{
	int admin = access_is_admin(req);
	if (admin)
		return admin;
	const struct wazofs_config *cfg = daemon_config(core);
	return r->kind == R_REPO && cfg->has_repo_group ? access_in_group(req, cfg->repo_gid) : 0;
}

/* The group shown on what admins may change or read: the admin group, else root's. */
gid_t access_admin_gid(void)
{
	const struct wazofs_config *cfg = daemon_config(core);
	return cfg->has_admin_group ? cfg->admin_gid : 0;
}

/* Mode of a directory admins change (mkdir, rmdir, copies). */
mode_t access_dir_mode(void)
{
	return daemon_config(core)->has_admin_group ? 0775 : 0755;
}

/* Logs and copies may hold secrets: readable by admins only. */
int access_is_private(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "log") == 0 || (n > 4 && strcmp(name + n - 4, ".log") == 0);
}
