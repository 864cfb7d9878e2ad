/* tree: see tree.h. */
#include "tree.h"
#include "access.h"
#include "incoming.h"
#include "nodes.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct daemon *core;

/* Guards told. */
static pthread_mutex_t told_lock = PTHREAD_MUTEX_INITIALIZER;

void tree_start(struct daemon *p)
{
	core = p;
}

/* The size getattr last gave the kernel for each view it may keep, by path hash. The
 * kernel reads a kept file only up to that size; a text whose size has changed since is
 * read around the page cache (direct_io) until the change's drop has come and getattr
 * told the new size, so it is never cut short. Guarded by told_lock; a collision only
 * costs a read around the cache. */
enum { TOLD_SLOTS = 4096, TOLD_PROBES = 8 };
static struct told_size {
	uint64_t hash;
	off_t size;
} told[TOLD_SLOTS];

/* A directory of the tree, last changed at mtime. */
static void dir_stat(struct stat *st, mode_t mode, struct timespec mtime)
{
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = 2;
	st->st_uid = 0;
	st->st_gid = access_admin_gid();
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
}

static void file_stat(struct stat *st, off_t size, int private, struct timespec mtime)
{
	st->st_mode = S_IFREG | (private ? 0440 : 0444);
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	st->st_uid = 0;
	st->st_gid = access_admin_gid();
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
}

/* Under told_lock: the slot of h (open addressing over a few probes; when all are
 * taken by other paths, the first is reused). */
static struct told_size *told_slot(uint64_t h)
{
	for (unsigned i = 0; i < TOLD_PROBES; i++) {
		struct told_size *t = &told[(h + i) % TOLD_SLOTS];
		if (t->hash == h || t->hash == 0)
			return t;
	}
	return &told[h % TOLD_SLOTS];
}

static void tell_size(const char *path, off_t size)
{
	uint64_t h = nodes_view_ino(path);
	pthread_mutex_lock(&told_lock);
	*told_slot(h) = (struct told_size){ h, size };
	pthread_mutex_unlock(&told_lock);
}

int tree_size_was_told(const char *path, off_t size)
{
	uint64_t h = nodes_view_ino(path);
	pthread_mutex_lock(&told_lock);
	const struct told_size *t = told_slot(h);
	int same = t->hash == h && t->size == size;
	pthread_mutex_unlock(&told_lock);
	return same;
}

/* Fills st for a view file, then releases the view: a file behind it gives its own
 * size, blocks and mtime (so du and ls -lt are right); a rendered one its length and
 * when its content last changed. */
static int stat_view(const char *path, struct view *v, struct stat *st, int private)
{
	struct stat fst;
	int rc = 0;
	if (v->fd >= 0) {
		rc = fstat(v->fd, &fst) < 0 ? -errno : 0;
		if (!rc) {
			file_stat(st, fst.st_size, private, fst.st_mtim);
			st->st_blocks = fst.st_blocks;
		}
	} else {
		file_stat(st, (off_t)v->len, private, v->mtime);
	}
	if (!rc && v->cacheable)
		tell_size(path, st->st_size);
	view_release(v);
	return rc;
}

static int market_attr(const char *path, const struct route *r, struct stat *st)
{
	struct view v;
	struct name_list l = { 0 };
	if (r->depth == 3) {
		if (strcmp(r->leaf, "info") || daemon_market_info(core, r->ns, r->name, &v))
			return -ENOENT;
		return stat_view(path, &v, st, 0);
	}
	int rc = daemon_market_list(core, r->depth ? r->ns : NULL, &l);
	if (!rc && r->depth == 2 && !name_list_has(&l, r->name))
		rc = -ENOENT;
	name_list_free(&l);
	if (!rc)
		dir_stat(st, 0555, daemon_market_mtime(core));
	return rc;
}

static int repo_attr(const char *path, const struct route *r, struct stat *st)
{
	struct view v;
	int rc = daemon_repo_open(core, r->rel, &v);
	if (rc == -EISDIR)
		dir_stat(st, 0555, daemon_repo_mtime(core));
	if (rc)
		return rc == -EISDIR ? 0 : rc;
	int pool = access_is_package(r);
	rc = stat_view(path, &v, st, pool);
	const struct wazofs_config *cfg = daemon_config(core);
	if (pool && cfg->has_repo_group) /* the group that reads them (a web server's) */
		st->st_gid = cfg->repo_gid;
	return rc;
}

/* A plugin's directory or its versions/ (mode), last changed when the plugin did. */
static int plugin_dir_attr(const struct route *r, mode_t mode, struct stat *st)
{
	struct timespec mtime;
	int rc = daemon_plugin_mtime(core, r->ns, r->name, &mtime);
	if (!rc)
		dir_stat(st, mode, mtime);
	return rc;
}

static int list_root(struct name_list *l)
{
	struct name_list ns = { 0 };
	name_list_add(l, "incoming");
	if (daemon_market_list(core, NULL, &ns) == 0)
		name_list_add(l, "market");
	name_list_free(&ns);
	for (const char *const *f =
		 (const char *const[]){ "status", "events", "history", "repo", NULL };
	     *f; f++)
		name_list_add(l, *f);
	daemon_list_namespaces(core, &ns);
	for (const char *const *name = route_reserved; *name; name++)
		name_list_remove(&ns, *name); /* a namespace so named is hidden */
	for (size_t i = 0; i < ns.n; i++)
		name_list_add(l, ns.v[i]);
	name_list_free(&ns);
	return 0;
}

static int list_market(const struct route *r, struct name_list *l)
{
	if (r->depth == 3)
		return -ENOTDIR;
	int rc = daemon_market_list(core, r->depth ? r->ns : NULL, l);
	if (rc || r->depth != 2)
		return rc;
	int found = name_list_has(l, r->name);
	name_list_free(l);
	return found ? name_list_add(l, "info") : -ENOENT;
}

/* Under a plugin's dir: mkdir of a plugin that is not there installs it from the market. */
static int mkdir_plugin(const struct route *r)
{
	struct name_list l = { 0 };
	int exists = daemon_list_leaves(core, r->ns, r->name, &l) == 0;
	name_list_free(&l);
	return exists ? -EEXIST : daemon_install_from_market(core, r->ns, r->name);
}

/* Removing a view or a kept package changes nothing (it stays); an existing one says
 * so, which lets `rm -r` reach rmdir. */
static int unlink_view(const struct route *r)
{
	struct view v;
	int rc = r->kind == R_LEAF ? daemon_view_open(core, r->ns, r->name, r->leaf, &v)
				   : daemon_version_open(core, r->ns, r->name, r->file, &v);
	if (!rc)
		view_release(&v);
	return rc;
}

/* versions/: removing it changes nothing (the plugin's removal takes its versions): an
 * existing one says so, which lets `rm -r` go on. */
static int rmdir_versions(const struct route *r)
{
	struct name_list l = { 0 };
	int rc = daemon_list_versions(core, r->ns, r->name, &l);
	name_list_free(&l);
	return rc;
}

int tree_is_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* ---- attributes, by kind ---- */

static int root_attr(const char *path, const struct route *r, struct stat *st)
{
	(void)path;
	(void)r;
	dir_stat(st, access_dir_mode(), daemon_tree_mtime(core));
	return 0;
}

static int incoming_dir_attr(const char *path, const struct route *r, struct stat *st)
{
	(void)path;
	(void)r;
	struct stat bst; /* the drop zone's own mtime */
	int rc = incoming_fstat(incoming_dir_fd(), &bst);
	if (!rc)
		dir_stat(st, access_dir_mode(), bst.st_mtim);
	return rc;
}

static int overview_attr(const char *path, const struct route *r, struct stat *st)
{
	struct view v;
	int rc =
	    r->kind == R_OVERVIEW ? daemon_overview_open(core, &v) : daemon_history_open(core, &v);
	return rc ? rc : stat_view(path, &v, st, 0);
}

static int events_attr(const char *path, const struct route *r, struct stat *st)
{
	(void)path;
	(void)r;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	file_stat(st, 0, 0, now);
	return 0;
}

/* A job's ENTRY.status or ENTRY.log. */
static int job_file_attr(const char *path, const struct route *r, struct stat *st)
{
	struct view v;
	int rc = r->top_level ? daemon_incoming_view_open(core, r->entry, &v) : -ENOENT;
	return rc ? rc : stat_view(path, &v, st, access_is_private(r->entry));
}

static int namespace_attr(const char *path, const struct route *r, struct stat *st)
{
	(void)path;
	struct name_list l = { 0 };
	int rc = daemon_list_plugins(core, r->ns, &l);
	name_list_free(&l);
	if (!rc)
		dir_stat(st, access_dir_mode(), daemon_tree_mtime(core));
	return rc;
}

static int plugin_attr(const char *path, const struct route *r, struct stat *st)
{
	(void)path;
	return plugin_dir_attr(r, r->kind == R_PLUGIN ? access_dir_mode() : 0555, st);
}

static int leaf_attr(const char *path, const struct route *r, struct stat *st)
{
	struct view v;
	int rc = daemon_view_open(core, r->ns, r->name, r->leaf, &v);
	return rc ? rc
		  : stat_view(path, &v, st, access_is_private(r->leaf) || access_is_package(r));
}

static int version_attr(const char *path, const struct route *r, struct stat *st)
{
	struct view v;
	int rc = daemon_version_open(core, r->ns, r->name, r->file, &v);
	return rc ? rc : stat_view(path, &v, st, 1);
}

/* source/ and what it holds: read-only, root and the admin group only (directories
 * 0550, files 0440 or 0550 when executable, links as links), with the kept files'
 * sizes and times. */
static int source_attr(const char *path, const struct route *r, struct stat *st)
{
	(void)path;
	struct stat real;
	int rc = daemon_source_stat(core, r->ns, r->name, r->rel, &real);
	if (rc)
		return rc;
	if (S_ISDIR(real.st_mode)) {
		dir_stat(st, 0550, real.st_mtim);
	} else {
		file_stat(st, real.st_size, 1, real.st_mtim);
		if (S_ISLNK(real.st_mode))
			st->st_mode = S_IFLNK | 0777;
		else if (real.st_mode & 0111)
			st->st_mode |= 0110;
	}
	return 0;
}

/* ---- listings, by kind ---- */

static int namespace_list(const struct route *r, struct name_list *l)
{
	return daemon_list_plugins(core, r->ns, l);
}

static int plugin_list(const struct route *r, struct name_list *l)
{
	return daemon_list_leaves(core, r->ns, r->name, l);
}

static int versions_list(const struct route *r, struct name_list *l)
{
	return daemon_list_versions(core, r->ns, r->name, l);
}

static int source_list(const struct route *r, struct name_list *l)
{
	return daemon_source_list(core, r->ns, r->name, r->rel, l);
}

static int repo_list(const struct route *r, struct name_list *l)
{
	return daemon_repo_list(core, r->rel, l);
}

static int root_list(const struct route *r, struct name_list *l)
{
	(void)r;
	return list_root(l);
}

/* ---- opens, by kind ---- */

/* 0 when the caller may (an admin, when only admins may), else -EACCES or -EAGAIN. */
static int may(fuse_req_t req, int admins_only)
{
	int admin = admins_only ? access_is_admin(req) : 1;
	return admin < 0 ? admin : admin ? 0 : -EACCES;
}

static int overview_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	(void)req;
	(void)r;
	return tree_is_write(flags) ? -EROFS : daemon_overview_open(core, v);
}

static int history_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	(void)req;
	(void)r;
	return tree_is_write(flags) ? -EROFS : daemon_history_open(core, v);
}

static int market_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	(void)req;
	if (r->depth != 3)
		return -EISDIR;
	if (tree_is_write(flags))
		return -EROFS;
	return strcmp(r->leaf, "info") ? -ENOENT : daemon_market_info(core, r->ns, r->name, v);
}

static int job_file_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	int rc = may(req, tree_is_write(flags) || access_is_private(r->entry));
	if (!rc && tree_is_write(flags))
		rc = -EACCES;
	return rc ? rc : daemon_incoming_view_open(core, r->entry, v);
}

/* A package view (versions/, repo/): root, admins and repo_group for repo/. */
static int package_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	if (tree_is_write(flags))
		return -EROFS;
	int ok = access_is_package(r) ? access_may_read_package(req, r) : 1;
	if (ok <= 0)
		return ok < 0 ? ok : -EACCES;
	return r->kind == R_REPO ? daemon_repo_open(core, r->rel, v)
				 : daemon_version_open(core, r->ns, r->name, r->file, v);
}

static int source_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	if (tree_is_write(flags))
		return -EROFS;
	int rc = may(req, 1);
	return rc ? rc : daemon_source_open(core, r->ns, r->name, r->rel, v);
}

static int leaf_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	if (tree_is_write(flags))
		return -EROFS;
	int rc = may(req, access_is_private(r->leaf) || access_is_package(r));
	return rc ? rc : daemon_view_open(core, r->ns, r->name, r->leaf, v);
}

/* ---- changes, by kind ---- */

/* In source/: removing what is there changes nothing (the plugin's removal takes its
 * source); it says so, which lets `rm -r` of the plugin go on. */
static int source_remove(const struct route *r)
{
	struct stat st;
	return daemon_source_stat(core, r->ns, r->name, r->rel, &st);
}

static int namespace_mkdir(const struct route *r)
{
	return daemon_mkdir_namespace(core, r->ns);
}

static int namespace_rmdir(const struct route *r)
{
	return daemon_rmdir_namespace(core, r->ns);
}

/* ---- the table ---- */

struct node_type {
	int (*attr)(const char *path, const struct route *r, struct stat *st);
	int (*list)(const struct route *r, struct name_list *l);
	int (*open)(fuse_req_t req, const struct route *r, int flags, struct view *v);
	int (*mkdir)(const struct route *r);
	int (*unlink)(const struct route *r);
	int (*rmdir)(const struct route *r);
	/* what mkdir, unlink, rmdir and open answer without a function */
	int mkdir_err, unlink_err, rmdir_err, open_err;
};

/* A directory that exists (mkdir: EEXIST; unlink: EISDIR; rmdir: EBUSY). */
#define DIR_ERRS \
	.mkdir_err = -EEXIST, .unlink_err = -EISDIR, .rmdir_err = -EBUSY, .open_err = -EISDIR
/* A file of the top that stays (read-only). */
#define TOP_FILE_ERRS .mkdir_err = -EEXIST, .unlink_err = -EROFS, .rmdir_err = -ENOTDIR

static const struct node_type types[] = {
	[R_ROOT] = { root_attr, root_list, NULL, NULL, NULL, NULL, DIR_ERRS },
	[R_INCOMING_DIR] = { incoming_dir_attr, NULL, NULL, NULL, NULL, NULL, DIR_ERRS },
	[R_INCOMING] = { job_file_attr, NULL, job_file_open, NULL, NULL, NULL, .mkdir_err = -EROFS,
			 .unlink_err = -EROFS, .rmdir_err = -EROFS },
	[R_MARKET] = { market_attr, list_market, market_open, NULL, NULL, NULL, .mkdir_err = -EROFS,
		       .unlink_err = -EISDIR, .rmdir_err = -EBUSY },
	[R_NAMESPACE] = { namespace_attr, namespace_list, NULL, namespace_mkdir, NULL,
			  namespace_rmdir, .unlink_err = -EISDIR, .open_err = -EISDIR },
	[R_PLUGIN] = { plugin_attr, plugin_list, NULL, mkdir_plugin, NULL, NULL,
		       .unlink_err = -EISDIR, .rmdir_err = -EBUSY, .open_err = -EISDIR },
	[R_LEAF] = { leaf_attr, NULL, leaf_open, NULL, unlink_view, NULL, .mkdir_err = -EROFS,
		     .rmdir_err = -ENOTDIR },
	[R_VERSIONS] = { plugin_attr, versions_list, NULL, NULL, NULL, rmdir_versions, DIR_ERRS },
	[R_VERSION] = { version_attr, NULL, package_open, NULL, unlink_view, NULL,
			.mkdir_err = -EROFS, .rmdir_err = -ENOTDIR },
	[R_SOURCE] = { source_attr, source_list, source_open, NULL, source_remove, source_remove,
		       .mkdir_err = -EROFS },
	[R_REPO] = { repo_attr, repo_list, package_open, NULL, NULL, NULL, .mkdir_err = -EROFS,
		     .unlink_err = -EROFS, .rmdir_err = -EROFS },
	[R_OVERVIEW] = { overview_attr, NULL, overview_open, NULL, NULL, NULL, TOP_FILE_ERRS },
	[R_EVENTS] = { events_attr, NULL, NULL, NULL, NULL, NULL, TOP_FILE_ERRS },
	[R_HISTORY] = { overview_attr, NULL, history_open, NULL, NULL, NULL, TOP_FILE_ERRS },
	[R_NONE] = { NULL, NULL, NULL, NULL, NULL, NULL, .mkdir_err = -EROFS, .unlink_err = -ENOENT,
		     .rmdir_err = -ENOENT, .open_err = -ENOENT },
};

static const struct node_type *type_of(const struct route *r)
{
	return (size_t)r->kind < sizeof(types) / sizeof(types[0]) ? &types[r->kind]
								  : &types[R_NONE];
}

int tree_attr(const char *path, const struct route *r, struct stat *st)
{
	const struct node_type *t = type_of(r);
	memset(st, 0, sizeof(*st));
	st->st_ino = nodes_view_ino(path);
	return t->attr ? t->attr(path, r, st) : -ENOENT;
}

int tree_exists(const char *path)
{
	struct route r;
	struct stat st;
	if (route_parse(path, &r))
		return 0;
	/* the files of the top are always there: they are not rendered nor opened to say
	 * so (MOUNT/status would be rendered at every job step) */
	if (r.kind == R_ROOT || r.kind == R_INCOMING_DIR || r.kind == R_OVERVIEW ||
	    r.kind == R_EVENTS || r.kind == R_HISTORY)
		return 1;
	return tree_attr(path, &r, &st) == 0;
}

int tree_list(const struct route *r, struct name_list *l)
{
	const struct node_type *t = type_of(r);
	return t->list ? t->list(r, l) : -ENOTDIR;
}

int tree_open(fuse_req_t req, const struct route *r, int flags, struct view *v)
{
	const struct node_type *t = type_of(r);
	return t->open ? t->open(req, r, flags, v) : t->open_err ? t->open_err : -EISDIR;
}

int tree_render(const char *path, struct view *v)
{
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	switch (r.kind) { /* the views rendered in memory, read again */
	case R_LEAF:	  /* verify is computed at its open only, off the request threads */
		return strcmp(r.leaf, "verify") ? daemon_view_open(core, r.ns, r.name, r.leaf, v)
						: -EAGAIN;
	case R_REPO: return daemon_repo_open(core, r.rel, v);
	case R_OVERVIEW: return daemon_overview_open(core, v);
	case R_INCOMING: return r.top_level ? daemon_incoming_view_open(core, r.entry, v) : -ENOENT;
	case R_MARKET: return market_open(NULL, &r, O_RDONLY, v);
	default: return -ENOENT;
	}
}

int tree_readlink(fuse_req_t req, const struct route *r, char *buf, size_t len)
{
	if (r->kind != R_SOURCE)
		return -EINVAL;
	int rc = may(req, 1);
	return rc ? rc : daemon_source_readlink(core, r->ns, r->name, r->rel, buf, len);
}

int tree_admins_only(const struct route *r)
{
	return r->kind == R_SOURCE;
}

int tree_mkdir(const struct route *r)
{
	const struct node_type *t = type_of(r);
	return t->mkdir ? t->mkdir(r) : t->mkdir_err ? t->mkdir_err : -EROFS;
}

int tree_unlink(const struct route *r)
{
	const struct node_type *t = type_of(r);
	return t->unlink ? t->unlink(r) : t->unlink_err ? t->unlink_err : -EISDIR;
}

int tree_rmdir(const struct route *r)
{
	const struct node_type *t = type_of(r);
	return t->rmdir ? t->rmdir(r) : t->rmdir_err ? t->rmdir_err : -EBUSY;
}
