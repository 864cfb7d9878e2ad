/* ops: FUSE operations. incoming/ is passed through to its backing directory in the
 * state dir, and every change there is reported to the core's tracker; everything else
 * is a read-only view of core state. A view's text is snapshotted at open; the kernel
 * keeps it (page cache) when the core tells every change of it (kernel_cache drops it
 * then), else every read comes here (direct_io).
 *
 * Who may do what is decided here, from the caller (fuse_get_context), whatever the
 * mount options: root and members of -o group change the tree and read logs and copies;
 * anyone else reads the rest and gets EACCES for the others. */
#include "ops.h"
#include "base/strbuf.h"
#include "daemon/daemon.h"
#include "kernel_cache.h"
#include "poll_waiters.h"
#include "router.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Guards the buffer of rendered views, which a read from offset 0 replaces. */
static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;

struct handle {
	int fd;	   /* incoming/ file, or a view backed by a file */
	char *buf; /* a view held in memory */
	size_t len;
	int tracked; /* counted as an open file of entry */
	char entry[NAME_MAX + 1];
	char *view_path;	/* a rendered view: rendered again when read from offset 0 */
	int served;		/* a read was answered (the first one uses the view of open) */
	int cached;		/* the kernel keeps the text: reads seldom reach us */
	int events;		/* MOUNT/events: lines after seq, read as they come */
	unsigned long long seq; /* the last event this reader has */
	struct strbuf pending;	/* events read but not yet returned */
	size_t pending_off;
};

static struct daemon *core(void)
{
	return fuse_get_context()->private_data;
}

static pid_t caller(void)
{
	return fuse_get_context()->pid;
}

/* Root, or a member of the admin group (primary or supplementary). */
static int caller_is_admin(void)
{
	const struct fuse_context *c = fuse_get_context();
	daemon_set_caller(c->uid); /* who asked, for the history */
	if (c->uid == 0)
		return 1;
	const struct wazofs_config *cfg = daemon_config(core());
	if (!cfg->has_admin_group)
		return 0;
	if (c->gid == cfg->admin_gid)
		return 1;
	gid_t groups[1024];
	int n = fuse_getgroups(1024, groups);
	for (int i = 0; i < n && i < 1024; i++)
		if (groups[i] == cfg->admin_gid)
			return 1;
	return 0;
}

/* The group shown on what admins may change or read: the admin group, else root's. */
static gid_t admin_gid(void)
{
	const struct wazofs_config *cfg = daemon_config(core());
	return cfg->has_admin_group ? cfg->admin_gid : 0;
}

/* Mode of a directory admins change (mkdir, rmdir, copies). */
static mode_t changeable_dir_mode(void)
{
	return daemon_config(core())->has_admin_group ? 0775 : 0755;
}

/* Logs and copies may hold secrets: readable by admins only. */
static int is_private_leaf(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "log") == 0 || (n > 4 && strcmp(name + n - 4, ".log") == 0);
}

/* A new file or dir in incoming/ never keeps the copier's group or other write bits
 * (nor any bit for others); it belongs to its copier (root or an admin: the history
 * says who asked) and the admin group. */
static void own_backing(const char *b)
{
	struct stat st;
	if (lstat(b, &st) < 0 || S_ISLNK(st.st_mode))
		return;
	if (lchown(b, fuse_get_context()->uid, admin_gid()) == 0)
		chmod(b, st.st_mode & 07750 & ~(mode_t)S_ISUID & ~(mode_t)S_ISGID);
}

static int backing(const struct route *r, char *out, size_t len)
{
	if (snprintf(out, len, "%s/%s", daemon_incoming_dir(core()), r->rel) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* An editor's swap or lock file (vim's .name.swp, emacs's .#name): kept open for as long
 * as the editor runs, so it never counts as a copy in progress. */
static int editor_artifact(const char *rel)
{
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	size_t n = strlen(base);
	if (base[0] != '.')
		return 0;
	if (base[1] == '#')
		return 1;
	static const char *const swaps[] = { ".swp", ".swo", ".swx", ".swpx" };
	for (size_t i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
		size_t k = strlen(swaps[i]);
		if (n > k && strcmp(base + n - k, swaps[i]) == 0)
			return 1;
	}
	return 0;
}

/* A change under incoming/ by the caller, for the completion tracker. */
static void note_change(const struct route *r)
{
	if (!editor_artifact(r->rel))
		daemon_incoming_touch(core(), r->entry, caller());
}

/* A new top-level entry must leave room for its ENTRY.status beside it. */
static int new_entry_ok(const struct route *r)
{
	return !r->top_level || strlen(r->entry) + strlen(".status") <= NAME_MAX;
}

#define ROUTE(path, r)                           \
	struct route r;                          \
	do {                                     \
		int rc_ = route_parse(path, &r); \
		if (rc_)                         \
			return rc_;              \
	} while (0)

#define BACKING(r, b)                                \
	char b[PATH_MAX];                            \
	do {                                         \
		int rc_ = backing(&r, b, sizeof(b)); \
		if (rc_)                             \
			return rc_;                  \
	} while (0)

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* the kernel keeps names and attributes until the core says they changed
	 * (kernel_cache); a missing name is always asked again (a copy may appear) */
	struct daemon *p = core();
	int cached = kernel_cache_start(fuse_get_context()->fuse, p) == 0;
	if (!cached)
		syslog(LOG_WARNING, "no cache thread: the kernel caches nothing");
	cfg->entry_timeout = cached ? KERNEL_CACHE_TIMEOUT : 0;
	cfg->attr_timeout = cached ? KERNEL_CACHE_TIMEOUT : 0;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 1;
	cfg->use_ino = 0;
	if (poll_waiters_start(p))
		syslog(LOG_WARNING, "poll() on status files will not wake: no notifier thread");
	return p;
}

void wazofs_ops_stop_threads(void)
{
	kernel_cache_stop();
	poll_waiters_stop();
}

/* Called from within fuse_destroy, after it destroyed its own locks: main.c has
 * stopped the threads by then (wazofs_ops_stop_threads); this covers the other exits. */
static void op_destroy(void *private_data)
{
	(void)private_data;
	wazofs_ops_stop_threads();
}

/* A directory of the tree, last changed at mtime. */
static void dir_stat(struct stat *st, mode_t mode, struct timespec mtime)
{
	st->st_mode = S_IFDIR | mode;
	st->st_nlink = 2;
	st->st_uid = 0;
	st->st_gid = admin_gid();
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
}

static void file_stat(struct stat *st, off_t size, int private, struct timespec mtime)
{
	st->st_mode = S_IFREG | (private ? 0440 : 0444);
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	st->st_uid = 0;
	st->st_gid = admin_gid();
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
}

/* Fills st for a view file, then releases the view: a file behind it gives its own
 * size, blocks and mtime (so du and ls -lt are right); a rendered one its length and
 * when its content last changed. */
static int stat_view(struct view *v, struct stat *st, int private)
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
	view_release(v);
	return rc;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	ROUTE(path, r);
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	memset(st, 0, sizeof(*st));
	struct name_list l = { 0 };
	struct view v;
	int rc;
	switch (r.kind) {
	case R_ROOT: dir_stat(st, changeable_dir_mode(), daemon_tree_mtime(core())); return 0;
	case R_MARKET:
		if (r.depth == 3) {
			if (strcmp(r.leaf, "info") || daemon_market_info(core(), r.ns, r.name, &v))
				return -ENOENT;
			return stat_view(&v, st, 0);
		}
		rc = daemon_market_list(core(), r.depth ? r.ns : NULL, &l);
		if (!rc && r.depth == 2 && !name_list_has(&l, r.name))
			rc = -ENOENT;
		name_list_free(&l);
		if (!rc)
			dir_stat(st, 0555, daemon_market_mtime(core()));
		return rc;
	case R_INCOMING_DIR: {
		struct stat bst; /* the drop zone's own mtime */
		if (stat(daemon_incoming_dir(core()), &bst) < 0)
			return -errno;
		dir_stat(st, changeable_dir_mode(), bst.st_mtim);
		return 0;
	}
	case R_OVERVIEW:
		if ((rc = daemon_overview_open(core(), &v)))
			return rc;
		return stat_view(&v, st, 0);
	case R_HISTORY:
		if ((rc = daemon_history_open(core(), &v)))
			return rc;
		return stat_view(&v, st, 0);
	case R_EVENTS: {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		file_stat(st, 0, 0, now);
		return 0;
	}
	case R_INCOMING: {
		if (h && h->fd >= 0 && !h->buf)
			return fstat(h->fd, st) < 0 ? -errno : 0;
		BACKING(r, b);
		if (lstat(b, st) == 0)
			return 0;
		if (errno != ENOENT || !r.top_level)
			return -errno;
		if ((rc = daemon_incoming_view_open(core(), r.entry, &v)))
			return rc;
		return stat_view(&v, st, is_private_leaf(r.entry));
	}
	case R_NAMESPACE:
		rc = daemon_list_plugins(core(), r.ns, &l);
		name_list_free(&l);
		if (!rc)
			dir_stat(st, changeable_dir_mode(), daemon_tree_mtime(core()));
		return rc;
	case R_PLUGIN: {
		struct timespec mtime;
		if ((rc = daemon_plugin_mtime(core(), r.ns, r.name, &mtime)))
			return rc;
		dir_stat(st, changeable_dir_mode(), mtime);
		return 0;
	}
	case R_LEAF:
		if ((rc = daemon_view_open(core(), r.ns, r.name, r.leaf, &v)))
			return rc;
		return stat_view(&v, st, is_private_leaf(r.leaf));
	case R_VERSIONS: {
		struct timespec mtime;
		if ((rc = daemon_plugin_mtime(core(), r.ns, r.name, &mtime)))
			return rc;
		dir_stat(st, 0555, mtime);
		return 0;
	}
	case R_VERSION:
		if ((rc = daemon_version_open(core(), r.ns, r.name, r.file, &v)))
			return rc;
		return stat_view(&v, st, 0);
	case R_REPO:
		rc = daemon_repo_open(core(), r.rel, &v);
		if (rc == -EISDIR)
			dir_stat(st, 0555, daemon_repo_mtime(core()));
		else if (rc == 0)
			return stat_view(&v, st, 0);
		return rc == -EISDIR ? 0 : rc;
	default: return -ENOENT;
	}
}

static int fill_list(void *buf, fuse_fill_dir_t filler, struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		filler(buf, l->v[i], NULL, 0, 0);
	name_list_free(l);
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	ROUTE(path, r);
	struct name_list l = { 0 };
	int rc = 0;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (r.kind) {
	case R_ROOT:
		filler(buf, "incoming", NULL, 0, 0);
		if (daemon_market_list(core(), NULL, &l) == 0)
			filler(buf, "market", NULL, 0, 0);
		name_list_free(&l);
		filler(buf, "status", NULL, 0, 0);
		filler(buf, "events", NULL, 0, 0);
		filler(buf, "history", NULL, 0, 0);
		filler(buf, "repo", NULL, 0, 0);
		daemon_list_namespaces(core(), &l);
		for (const char *const *name = route_reserved; *name; name++)
			name_list_remove(&l, *name); /* a namespace so named is hidden */
		return fill_list(buf, filler, &l);
	case R_MARKET:
		if (r.depth == 3)
			return -ENOTDIR;
		if ((rc = daemon_market_list(core(), r.depth ? r.ns : NULL, &l)))
			return rc;
		if (r.depth == 2) {
			int found = name_list_has(&l, r.name);
			name_list_free(&l);
			if (!found)
				return -ENOENT;
			filler(buf, "info", NULL, 0, 0);
			return 0;
		}
		return fill_list(buf, filler, &l);
	case R_INCOMING_DIR:
	case R_INCOMING: {
		char b[PATH_MAX];
		if (r.kind == R_INCOMING_DIR)
			snprintf(b, sizeof(b), "%s", daemon_incoming_dir(core()));
		else if (!caller_is_admin())
			return -EACCES;
		else if ((rc = backing(&r, b, sizeof(b))))
			return rc;
		DIR *d = opendir(b);
		if (!d)
			return -errno;
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				filler(buf, de->d_name, NULL, 0, 0);
		closedir(d);
		if (r.kind == R_INCOMING_DIR) {
			daemon_incoming_virtual(core(), &l);
			fill_list(buf, filler, &l);
		}
		return 0;
	}
	case R_NAMESPACE:
		if ((rc = daemon_list_plugins(core(), r.ns, &l)))
			return rc;
		return fill_list(buf, filler, &l);
	case R_PLUGIN:
		if ((rc = daemon_list_leaves(core(), r.ns, r.name, &l)))
			return rc;
		return fill_list(buf, filler, &l);
	case R_VERSIONS:
		if ((rc = daemon_list_versions(core(), r.ns, r.name, &l)))
			return rc;
		return fill_list(buf, filler, &l);
	case R_REPO:
		if ((rc = daemon_repo_list(core(), r.rel, &l)))
			return rc;
		return fill_list(buf, filler, &l);
	default: return -ENOTDIR;
	}
}

static int is_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* The rendered view at path (status, plugin.yml of a job, MOUNT/status, market info,
 * ENTRY.status), or -ENOENT. */
static int render_view(const char *path, struct view *v)
{
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_LEAF: return daemon_view_open(core(), r.ns, r.name, r.leaf, v);
	case R_REPO: return daemon_repo_open(core(), r.rel, v);
	case R_OVERVIEW: return daemon_overview_open(core(), v);
	case R_INCOMING:
		return r.top_level ? daemon_incoming_view_open(core(), r.entry, v) : -ENOENT;
	case R_MARKET:
		return r.depth == 3 && strcmp(r.leaf, "info") == 0
			   ? daemon_market_info(core(), r.ns, r.name, v)
			   : -ENOENT;
	default: return -ENOENT;
	}
}

static int open_view_at(const char *path, struct fuse_file_info *fi, struct view *v)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (!h || (v->fd < 0 && !(h->view_path = strdup(path)))) {
		free(h);
		view_release(v);
		return -ENOMEM;
	}
	h->fd = v->fd;
	h->buf = v->buf;
	h->len = v->len;
	h->cached = v->cacheable;
	fi->fh = (uintptr_t)h;
	/* a told change drops the kernel's copy (and size) before it shows; other views
	 * may change under a reader (a log's size grows): each read asks */
	fi->keep_cache = h->cached;
	fi->direct_io = !h->cached;
	return 0;
}

/* MOUNT/events: from now on, one JSON line per state change, blocking until the next. */
static int open_events(struct fuse_file_info *fi)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = -1;
	h->events = 1;
	h->seq = daemon_events_now(core());
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	return 0;
}

/* Waits (in bounded steps, so an interrupted reader, an unmount or a termination
 * signal is seen) until there are events for h, then returns as many bytes of them as
 * fit; the end of the session ends the file. */
static int read_events(struct handle *h, char *buf, size_t size)
{
	struct fuse_session *se = fuse_get_session(fuse_get_context()->fuse);
	while (h->pending_off >= h->pending.len) {
		strbuf_release(&h->pending);
		h->pending_off = 0;
		int n = daemon_events_read(core(), &h->seq, 1000, &h->pending);
		if (n == -ESHUTDOWN || (n <= 0 && fuse_session_exited(se)))
			return 0;
		if (n <= 0 && fuse_interrupted())
			return -EINTR;
	}
	size_t n = h->pending.len - h->pending_off;
	if (n > size)
		n = size;
	memcpy(buf, h->pending.buf + h->pending_off, n);
	h->pending_off += n;
	return (int)n;
}

static int open_backing(const struct route *r, const char *b, struct fuse_file_info *fi, int flags,
			mode_t mode)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = open(b, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	if (h->fd < 0) {
		int e = errno;
		free(h);
		return -e;
	}
	snprintf(h->entry, sizeof(h->entry), "%s", r->entry);
	if ((is_write(flags) || (flags & O_CREAT)) && !editor_artifact(r->rel)) {
		h->tracked = 1;
		daemon_incoming_open(core(), r->entry, caller());
		daemon_incoming_touch(core(), r->entry, caller());
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	ROUTE(path, r);
	struct view v;
	int rc;
	if (r.kind == R_INCOMING) {
		BACKING(r, b);
		int copy = access(b, F_OK) == 0 || !r.top_level;
		if ((copy || is_write(fi->flags) || is_private_leaf(r.entry)) && !caller_is_admin())
			return -EACCES;
		if (copy)
			return open_backing(&r, b, fi, fi->flags & ~O_CREAT, 0);
		if (is_write(fi->flags))
			return -EACCES;
		if ((rc = daemon_incoming_view_open(core(), r.entry, &v)))
			return rc;
		return open_view_at(path, fi, &v);
	}
	if (r.kind == R_OVERVIEW || r.kind == R_HISTORY || r.kind == R_EVENTS) {
		if (is_write(fi->flags))
			return -EROFS;
		if (r.kind == R_EVENTS)
			return open_events(fi);
		rc = r.kind == R_OVERVIEW ? daemon_overview_open(core(), &v)
					  : daemon_history_open(core(), &v);
		return rc ? rc : open_view_at(path, fi, &v);
	}
	if (r.kind == R_MARKET && r.depth == 3) {
		if (is_write(fi->flags))
			return -EROFS;
		if (strcmp(r.leaf, "info") || daemon_market_info(core(), r.ns, r.name, &v))
			return -ENOENT;
		return open_view_at(path, fi, &v);
	}
	if (r.kind == R_VERSION || r.kind == R_REPO) {
		if (is_write(fi->flags))
			return -EROFS;
		rc = r.kind == R_REPO ? daemon_repo_open(core(), r.rel, &v)
				      : daemon_version_open(core(), r.ns, r.name, r.file, &v);
		return rc ? rc : open_view_at(path, fi, &v);
	}
	if (r.kind != R_LEAF)
		return r.kind == R_NONE ? -ENOENT : -EISDIR;
	if (is_write(fi->flags))
		return -EROFS;
	if (is_private_leaf(r.leaf) && !caller_is_admin())
		return -EACCES;
	if ((rc = daemon_view_open(core(), r.ns, r.name, r.leaf, &v)))
		return rc;
	return open_view_at(path, fi, &v);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(path, r);
	if (r.kind != R_INCOMING)
		return r.kind == R_INCOMING_DIR ? -EEXIST : -EROFS;
	if (!new_entry_ok(&r))
		return -ENAMETOOLONG;
	BACKING(r, b);
	int rc = open_backing(&r, b, fi, fi->flags | O_CREAT | O_EXCL, mode & 0750);
	if (rc == -EEXIST && !(fi->flags & O_EXCL)) /* no O_EXCL asked: open what is there */
		return open_backing(&r, b, fi, fi->flags & ~O_CREAT, 0);
	if (!rc)
		own_backing(b);
	return rc;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->events)
		return read_events(h, buf, size);
	if (h->fd >= 0) {
		ssize_t n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	struct view v;
	/* the first read uses what open rendered; reading from the start again (after a
	 * poll) renders what is now */
	int fresh = h->view_path && off == 0 && h->served && render_view(h->view_path, &v) == 0;
	if (fresh && v.fd >= 0) {
		view_release(&v);
		fresh = 0;
	}
	pthread_mutex_lock(&view_lock);
	if (fresh) {
		free(h->buf);
		h->buf = v.buf;
		h->len = v.len;
	}
	int n = 0;
	h->served = 1;
	if ((size_t)off < h->len) {
		n = (int)(size < h->len - (size_t)off ? size : h->len - (size_t)off);
		memcpy(buf, h->buf + off, (size_t)n);
	}
	pthread_mutex_unlock(&view_lock);
	return n;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->fd < 0 || h->buf)
		return -EROFS;
	ssize_t n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		return -errno;
	if (h->tracked)
		daemon_incoming_touch(core(), h->entry, caller());
	return (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->buf)
		free(h->buf);
	free(h->view_path);
	strbuf_release(&h->pending);
	if (h->fd >= 0)
		close(h->fd);
	if (h->tracked) {
		daemon_incoming_touch(core(), h->entry, 0);
		daemon_incoming_close(core(), h->entry);
	}
	free(h);
	return 0;
}

/* poll(): a rendered view is readable once its content differs from what this open file
 * last read; until then the handle waits for the next change. A view the kernel keeps
 * is readable once the kernel's copy is dropped too (kernel_cache wakes the waiters), and
 * its reader is then taken to have the new text. Other files are always readable, as
 * regular files are. */
static int op_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
		   unsigned *reventsp)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	int changed = 1;
	if (h->events) {
		changed = h->pending_off < h->pending.len || daemon_events_now(core()) > h->seq;
	} else if (h->view_path) {
		struct view v;
		if (render_view(h->view_path, &v) == 0) {
			pthread_mutex_lock(&view_lock);
			changed = v.fd >= 0 || v.len != h->len || memcmp(v.buf, h->buf, v.len);
			if (changed && h->cached && v.fd < 0 && kernel_cache_pending())
				changed = 0; /* the kernel still has the old text */
			else if (changed && h->cached && v.fd < 0) {
				free(h->buf); /* what a read gets now */
				h->buf = v.buf;
				h->len = v.len;
				view_init(&v);
			}
			pthread_mutex_unlock(&view_lock);
			view_release(&v);
		}
	}
	if (changed) {
		*reventsp |= POLLIN;
		if (ph)
			fuse_pollhandle_destroy(ph);
	} else if (ph) {
		poll_waiters_add(ph);
	}
	return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (h->fd < 0 || h->buf)
		return 0;
	return (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

static int op_mkdir(const char *path, mode_t mode)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(path, r);
	switch (r.kind) {
	case R_INCOMING: {
		if (!new_entry_ok(&r))
			return -ENAMETOOLONG;
		BACKING(r, b);
		if (mkdir(b, mode & 0750) < 0)
			return -errno;
		own_backing(b);
		note_change(&r);
		return 0;
	}
	case R_NAMESPACE: return daemon_mkdir_namespace(core(), r.ns);
	case R_PLUGIN: {
		struct name_list l = { 0 };
		int exists = daemon_list_leaves(core(), r.ns, r.name, &l) == 0;
		name_list_free(&l);
		return exists ? -EEXIST : daemon_install_from_market(core(), r.ns, r.name);
	}
	case R_ROOT:
	case R_INCOMING_DIR:
	case R_OVERVIEW:
	case R_EVENTS:
	case R_HISTORY:
	case R_VERSIONS: return -EEXIST;
	default: return -EROFS;
	}
}

static int op_unlink(const char *path)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(path, r);
	if (r.kind == R_INCOMING) {
		BACKING(r, b);
		if (unlink(b) == 0) {
			if (r.top_level)
				daemon_incoming_gone(core(), r.entry);
			else
				note_change(&r);
			return 0;
		}
		if (errno != ENOENT || !r.top_level)
			return -errno;
		return daemon_incoming_virtual_unlink(core(), r.entry);
	}
	if (r.kind == R_OVERVIEW || r.kind == R_EVENTS || r.kind == R_HISTORY || r.kind == R_REPO)
		return -EROFS;
	if (r.kind == R_LEAF || r.kind == R_VERSION) {
		/* removing a view or a kept package changes nothing (it stays); an existing
		 * one says so, which lets `rm -r` reach rmdir */
		struct view v;
		int rc = r.kind == R_LEAF ? daemon_view_open(core(), r.ns, r.name, r.leaf, &v)
					  : daemon_version_open(core(), r.ns, r.name, r.file, &v);
		if (!rc)
			view_release(&v);
		return rc;
	}
	return r.kind == R_NONE ? -ENOENT : -EISDIR;
}

static int op_rmdir(const char *path)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(path, r);
	switch (r.kind) {
	case R_INCOMING: {
		BACKING(r, b);
		if (rmdir(b) < 0)
			return -errno;
		if (r.top_level)
			daemon_incoming_gone(core(), r.entry);
		else
			note_change(&r);
		return 0;
	}
	case R_PLUGIN: return daemon_remove(core(), r.ns, r.name);
	case R_NAMESPACE: return daemon_rmdir_namespace(core(), r.ns);
	case R_VERSIONS: {
		/* changes nothing (the plugin's removal takes its versions): lets `rm -r` on */
		struct name_list l = { 0 };
		int rc = daemon_list_versions(core(), r.ns, r.name, &l);
		name_list_free(&l);
		return rc;
	}
	case R_REPO: return -EROFS;
	case R_VERSION:
	case R_LEAF:
	case R_OVERVIEW:
	case R_EVENTS:
	case R_HISTORY: return -ENOTDIR;
	case R_NONE: return -ENOENT;
	default: return -EBUSY;
	}
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(from, a);
	ROUTE(to, t);
	if (a.kind != R_INCOMING || t.kind != R_INCOMING)
		return a.kind == R_INCOMING || t.kind == R_INCOMING ? -EXDEV : -EROFS;
	if (!new_entry_ok(&t))
		return -ENAMETOOLONG;
	BACKING(a, ba);
	BACKING(t, bt);
	if (renameat2(AT_FDCWD, ba, AT_FDCWD, bt, flags) < 0)
		return -errno;
	if (a.top_level && strcmp(a.entry, t.entry))
		daemon_incoming_gone(core(), a.entry);
	else
		note_change(&a);
	note_change(&t);
	return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(path, r);
	if (r.kind != R_INCOMING)
		return -EROFS;
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	int rc;
	if (h && h->fd >= 0 && !h->buf)
		rc = ftruncate(h->fd, size);
	else {
		BACKING(r, b);
		rc = truncate(b, size);
	}
	if (rc < 0)
		return -errno;
	note_change(&r);
	return 0;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (!caller_is_admin())
		return -EACCES;
	(void)fi;
	ROUTE(path, r);
	if (r.kind != R_INCOMING)
		return -EROFS;
	BACKING(r, b);
	/* no bit for others, no group write: a copy only admins may change */
	if (fchmodat(AT_FDCWD, b, mode & 07750 & ~(mode_t)(S_ISUID | S_ISGID), 0) < 0)
		return -errno;
	note_change(&r);
	return 0;
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (!caller_is_admin())
		return -EACCES;
	(void)fi;
	ROUTE(path, r);
	if (r.kind != R_INCOMING)
		return -EROFS;
	BACKING(r, b);
	/* copies belong to root and the admin group whoever made them (cp -a still
	 * succeeds); only whether the entry exists is checked */
	(void)uid;
	(void)gid;
	struct stat st;
	return lstat(b, &st) < 0 ? -errno : 0;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (!caller_is_admin())
		return -EACCES;
	(void)fi;
	ROUTE(path, r);
	if (r.kind != R_INCOMING)
		return -EROFS;
	BACKING(r, b);
	if (utimensat(AT_FDCWD, b, tv, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	note_change(&r);
	return 0;
}

static int op_symlink(const char *target, const char *linkpath)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(linkpath, r);
	if (r.kind != R_INCOMING)
		return -EROFS;
	if (!new_entry_ok(&r))
		return -ENAMETOOLONG;
	BACKING(r, b);
	if (symlink(target, b) < 0)
		return -errno;
	note_change(&r);
	return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	ROUTE(path, r);
	if (r.kind != R_INCOMING)
		return -EINVAL;
	if (!caller_is_admin())
		return -EACCES;
	BACKING(r, b);
	ssize_t n = readlink(b, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static int op_link(const char *from, const char *to)
{
	if (!caller_is_admin())
		return -EACCES;
	ROUTE(from, a);
	ROUTE(to, t);
	if (a.kind != R_INCOMING || t.kind != R_INCOMING)
		return -EROFS;
	if (!new_entry_ok(&t))
		return -ENAMETOOLONG;
	BACKING(a, ba);
	BACKING(t, bt);
	if (link(ba, bt) < 0)
		return -errno;
	note_change(&t);
	return 0;
}

static int op_mknod(const char *path, mode_t mode, dev_t dev)
{
	if (!caller_is_admin())
		return -EACCES;
	(void)mode;
	(void)dev;
	ROUTE(path, r);
	return r.kind == R_INCOMING ? -EPERM : -EROFS; /* no devices or fifos in a plugin */
}

/* Extended attributes (ACLs included) pass through in incoming/, so cp -a and rsync -aAX
 * keep what they copy; elsewhere there are none. */
static int xattr_backing(const char *path, int change, char *b, size_t len)
{
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	/* views have no extended attributes: saying so once lets ls stop asking */
	if (r.kind != R_INCOMING)
		return change ? -EROFS : -EOPNOTSUPP;
	if (!caller_is_admin())
		return -EACCES;
	if ((rc = backing(&r, b, len)))
		return rc;
	if (change)
		note_change(&r);
	return 0;
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	char b[PATH_MAX];
	int rc = xattr_backing(path, 1, b, sizeof(b));
	if (rc)
		return rc;
	if (lsetxattr(b, name, value, size, flags) < 0)
		return -errno;
	/* an access ACL sets the mode bits too: they keep the mask of every copy */
	struct stat st;
	if (strcmp(name, "system.posix_acl_access") == 0 && lstat(b, &st) == 0 &&
	    !S_ISLNK(st.st_mode))
		chmod(b, st.st_mode & 07750 & ~(mode_t)(S_ISUID | S_ISGID));
	return 0;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char b[PATH_MAX];
	int rc = xattr_backing(path, 0, b, sizeof(b));
	if (rc)
		return rc;
	ssize_t n = lgetxattr(b, name, value, size);
	return n < 0 ? -errno : (int)n;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	char b[PATH_MAX];
	int rc = xattr_backing(path, 0, b, sizeof(b));
	if (rc)
		return rc == -EOPNOTSUPP ? 0 : rc;
	ssize_t n = llistxattr(b, list, size);
	return n < 0 ? -errno : (int)n;
}

static int op_removexattr(const char *path, const char *name)
{
	char b[PATH_MAX];
	int rc = xattr_backing(path, 1, b, sizeof(b));
	if (rc)
		return rc;
	return lremovexattr(b, name) < 0 ? -errno : 0;
}

static int op_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	return statvfs(daemon_incoming_dir(core()), st) < 0 ? -errno : 0;
}

const struct fuse_operations wazofs_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.poll = op_poll,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.fsync = op_fsync,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.truncate = op_truncate,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.link = op_link,
	.mknod = op_mknod,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};
