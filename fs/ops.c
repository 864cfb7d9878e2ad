/* ops: FUSE operations: each routes its path (router), decides who may do it, and hands
 * incoming/ to incoming.c (the pass-through to the drop zone); everything else is a
 * read-only view of core state. A view's text is snapshotted at open; the kernel
 * keeps it (page cache) when the core tells every change of it (kernel_cache drops it
 * then), else every read comes here (direct_io).
 *
 * Who may do what is decided here, from the caller (fuse_get_context), whatever the
 * mount options: root and members of -o group change the tree and read logs and copies;
 * anyone else reads the rest and gets EACCES for the others. */
#include "ops.h"
#include "base/strbuf.h"
#include "daemon/daemon.h"
#include "incoming.h"
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
	struct handle *prev, *next; /* every open handle, freed at exit if still open */
	int charged;		    /* counted against uid's bounds (a caller not an admin) */
	uid_t uid;
	size_t text;
};

/* Open handles: a file still open when the session ends gets no release. */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *handles;

/* What one user who is neither root nor an admin may hold open at once: opens, text of
 * rendered views held in memory, readers of MOUNT/events (each holds a FUSE thread while
 * it waits). Past them an open fails with EMFILE, so a stranger's opens change neither
 * what admins can do nor the daemon's memory by more than USER_TEXT_MAX a user. */
enum {
	USER_OPEN_MAX = 256,
	USER_TEXT_MAX = 4 << 20,
	USER_EVENTS_MAX = 8,
	QUOTA_USERS = 256, /* users counted at once; one more is refused */
};
static struct quota {
	uid_t uid;
	unsigned opens, events;
	size_t text;
} quotas[QUOTA_USERS];
static size_t n_quotas;

/* Under handles_lock: uid's counts (made when add), or NULL. */
static struct quota *quota_of(uid_t uid, int add)
{
	for (size_t i = 0; i < n_quotas; i++)
		if (quotas[i].uid == uid)
			return &quotas[i];
	if (!add || n_quotas == QUOTA_USERS)
		return NULL;
	quotas[n_quotas] = (struct quota){ .uid = uid };
	return &quotas[n_quotas++];
}

/* Under handles_lock: h's share given back; a user with nothing open is forgotten. */
static void uncharge(struct handle *h)
{
	struct quota *q = h->charged ? quota_of(h->uid, 0) : NULL;
	if (!q)
		return;
	q->opens--;
	q->events -= h->events ? 1 : 0;
	q->text -= h->text;
	if (!q->opens)
		*q = quotas[--n_quotas];
	h->charged = 0;
}

static struct handle *handle_new(void)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_lock(&handles_lock);
	h->next = handles;
	if (handles)
		handles->prev = h;
	handles = h;
	pthread_mutex_unlock(&handles_lock);
	return h;
}

/* Closes and frees h; a tracked copy's file is told closed unless the session is over. */
static void handle_free(struct handle *h, int tell)
{
	if (!h)
		return;
	pthread_mutex_lock(&handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	uncharge(h);
	pthread_mutex_unlock(&handles_lock);
	free(h->buf);
	free(h->view_path);
	strbuf_release(&h->pending);
	if (h->fd >= 0)
		close(h->fd);
	if (h->tracked && tell)
		incoming_closed(h->entry);
	free(h);
}

static struct daemon *core(void)
{
	return fuse_get_context()->private_data;
}

/* The caller is in group gid (primary or supplementary). */
static int caller_in_group(gid_t gid)
{
	const struct fuse_context *c = fuse_get_context();
	if (c->gid == gid)
		return 1;
	gid_t groups[1024];
	int n = fuse_getgroups(1024, groups);
	for (int i = 0; i < n && i < 1024; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* Root, or a member of the admin group (primary or supplementary). */
static int caller_is_admin(void)
{
	const struct fuse_context *c = fuse_get_context();
	daemon_set_caller(c->uid); /* who asked, for the history */
	if (c->uid == 0)
		return 1;
	const struct wazofs_config *cfg = daemon_config(core());
	return cfg->has_admin_group && caller_in_group(cfg->admin_gid);
}

/* Counts h, a new handle holding text bytes (and reading events), against its caller
 * when that is not an admin: 0, or -EMFILE past the caller's bounds. */
static int charge(struct handle *h, size_t text, int events)
{
	if (caller_is_admin())
		return 0;
	uid_t uid = fuse_get_context()->uid;
	pthread_mutex_lock(&handles_lock);
	struct quota *q = quota_of(uid, 1);
	int rc = !q || q->opens >= USER_OPEN_MAX || text > USER_TEXT_MAX - q->text ||
			 (events && q->events >= USER_EVENTS_MAX)
		     ? -EMFILE
		     : 0;
	if (!rc) {
		q->opens++;
		q->events += events ? 1 : 0;
		q->text += text;
		h->charged = 1;
		h->uid = uid;
		h->text = text;
	} else if (q && !q->opens) {
		*q = quotas[--n_quotas];
	}
	pthread_mutex_unlock(&handles_lock);
	return rc;
}

/* A package (a plugin's .deb, versions/, repo/pool/) may hold files only root may read
 * on the server: root, admins, and for repo/ the members of repo_group read it. */
static int is_package_path(const struct route *r)
{
	size_t n = r->kind == R_LEAF ? strlen(r->leaf) : 0;
	return r->kind == R_VERSION || (r->kind == R_REPO && strncmp(r->rel, "pool/", 5) == 0) ||
	       (n > 4 && strcmp(r->leaf + n - 4, ".deb") == 0);
}

static int may_read_package(const struct route *r)
{
	if (caller_is_admin())
		return 1;
	const struct wazofs_config *cfg = daemon_config(core());
	return r->kind == R_REPO && cfg->has_repo_group && caller_in_group(cfg->repo_gid);
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
	if (incoming_start(daemon_incoming_dir(p)))
		syslog(LOG_ERR, "cannot open %s: incoming/ will fail", daemon_incoming_dir(p));
	return p;
}

void wazofs_ops_stop_threads(void)
{
	kernel_cache_stop();
	poll_waiters_stop();
	incoming_stop();
}

/* Called from within fuse_destroy, after it destroyed its own locks: main.c has
 * stopped the threads by then (wazofs_ops_stop_threads); this covers the other exits. */
static void op_destroy(void *private_data)
{
	(void)private_data;
	wazofs_ops_stop_threads();
	while (handles) /* files still open when the session ended */
		handle_free(handles, 0);
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

/* The size getattr last gave the kernel for each view it may keep, by path hash. The
 * kernel reads a kept file only up to that size; a text whose size has changed since is
 * read around the page cache (direct_io) until the change's drop has come and getattr
 * told the new size, so it is never cut short. Guarded by view_lock; a collision only
 * costs a read around the cache. */
enum { TOLD_SLOTS = 4096, TOLD_PROBES = 8 };
static struct told_size {
	uint64_t hash;
	off_t size;
} told[TOLD_SLOTS];

static uint64_t path_hash(const char *path)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)path; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	return h ? h : 1; /* 0 is an empty slot */
}

/* Under view_lock: the slot of hash h (open addressing over a few probes; when all are
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
	uint64_t h = path_hash(path);
	pthread_mutex_lock(&view_lock);
	*told_slot(h) = (struct told_size){ h, size };
	pthread_mutex_unlock(&view_lock);
}

static int size_was_told(const char *path, off_t size)
{
	uint64_t h = path_hash(path);
	pthread_mutex_lock(&view_lock);
	const struct told_size *t = told_slot(h);
	int same = t->hash == h && t->size == size;
	pthread_mutex_unlock(&view_lock);
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

/* The backing fd of an open incoming/ file (fi may be NULL), or -ESTALE. libfuse gives
 * no path (NULL) for a request on an open file whose name is gone (it was unlinked
 * through the mount, or its directory removed): then only this fd is left, and
 * -ESTALE is libfuse's own answer for such a file without one. */
static int backing_fd(const struct fuse_file_info *fi)
{
	const struct handle *h = fi ? (const struct handle *)(uintptr_t)fi->fh : NULL;
	return h && h->fd >= 0 && !h->buf ? h->fd : -ESTALE;
}

/* incoming/ENTRY...: the open file's own attributes (fd >= 0), else the copy's; a
 * top-level name that is no copy may be a job's ENTRY.status or ENTRY.log. */
static int getattr_incoming(const char *path, const struct route *r, struct stat *st, int fd)
{
	/* what a copy holds is private: anyone may see its top-level name, only admins
	 * what is below it (names, sizes, modes, owners) */
	if (!r->top_level && !caller_is_admin())
		return -EACCES;
	if (fd >= 0)
		return fstat(fd, st) < 0 ? -errno : 0;
	int rc = incoming_stat(r, st);
	if (rc != -ENOENT || !r->top_level)
		return rc;
	struct view v;
	rc = daemon_incoming_view_open(core(), r->entry, &v);
	if (rc)
		return rc;
	return stat_view(path, &v, st, is_private_leaf(r->entry));
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (!path) {
		int fd = backing_fd(fi);
		return fd < 0 ? fd : fstat(fd, st) < 0 ? -errno : 0;
	}
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	struct name_list l = { 0 };
	struct view v;
	switch (r.kind) {
	case R_ROOT: dir_stat(st, changeable_dir_mode(), daemon_tree_mtime(core())); return 0;
	case R_MARKET:
		if (r.depth == 3) {
			if (strcmp(r.leaf, "info") || daemon_market_info(core(), r.ns, r.name, &v))
				return -ENOENT;
			return stat_view(path, &v, st, 0);
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
		rc = incoming_stat(&r, &bst);
		if (rc)
			return rc;
		dir_stat(st, changeable_dir_mode(), bst.st_mtim);
		return 0;
	}
	case R_OVERVIEW:
		rc = daemon_overview_open(core(), &v);
		if (rc)
			return rc;
		return stat_view(path, &v, st, 0);
	case R_HISTORY:
		rc = daemon_history_open(core(), &v);
		if (rc)
			return rc;
		return stat_view(path, &v, st, 0);
	case R_EVENTS: {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		file_stat(st, 0, 0, now);
		return 0;
	}
	case R_INCOMING: return getattr_incoming(path, &r, st, backing_fd(fi));
	case R_NAMESPACE:
		rc = daemon_list_plugins(core(), r.ns, &l);
		name_list_free(&l);
		if (!rc)
			dir_stat(st, changeable_dir_mode(), daemon_tree_mtime(core()));
		return rc;
	case R_PLUGIN: {
		struct timespec mtime;
		rc = daemon_plugin_mtime(core(), r.ns, r.name, &mtime);
		if (rc)
			return rc;
		dir_stat(st, changeable_dir_mode(), mtime);
		return 0;
	}
	case R_LEAF:
		rc = daemon_view_open(core(), r.ns, r.name, r.leaf, &v);
		if (rc)
			return rc;
		return stat_view(path, &v, st, is_private_leaf(r.leaf) || is_package_path(&r));
	case R_VERSIONS: {
		struct timespec mtime;
		rc = daemon_plugin_mtime(core(), r.ns, r.name, &mtime);
		if (rc)
			return rc;
		dir_stat(st, 0555, mtime);
		return 0;
	}
	case R_VERSION:
		rc = daemon_version_open(core(), r.ns, r.name, r.file, &v);
		if (rc)
			return rc;
		return stat_view(path, &v, st, 1);
	case R_REPO: {
		rc = daemon_repo_open(core(), r.rel, &v);
		if (rc == -EISDIR)
			dir_stat(st, 0555, daemon_repo_mtime(core()));
		if (rc)
			return rc == -EISDIR ? 0 : rc;
		int pool = is_package_path(&r);
		rc = stat_view(path, &v, st, pool);
		const struct wazofs_config *cfg = daemon_config(core());
		if (pool && cfg->has_repo_group) /* the group that reads them (a web server's) */
			st->st_gid = cfg->repo_gid;
		return rc;
	}
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

/* incoming/ (with the jobs' ENTRY.status and ENTRY.log) or a directory of a copy. */
static int readdir_incoming(const struct route *r, void *buf, fuse_fill_dir_t filler)
{
	if (r->kind == R_INCOMING && !caller_is_admin())
		return -EACCES;
	DIR *d = incoming_opendir(r);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			filler(buf, de->d_name, NULL, 0, 0);
	closedir(d);
	if (r->kind == R_INCOMING_DIR) {
		struct name_list l = { 0 };
		daemon_incoming_virtual(core(), &l);
		fill_list(buf, filler, &l);
	}
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (!path) /* a directory removed while open */
		return -ENOENT;
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	struct name_list l = { 0 };
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
		rc = daemon_market_list(core(), r.depth ? r.ns : NULL, &l);
		if (rc)
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
	case R_INCOMING: return readdir_incoming(&r, buf, filler);
	case R_NAMESPACE:
		rc = daemon_list_plugins(core(), r.ns, &l);
		if (rc)
			return rc;
		return fill_list(buf, filler, &l);
	case R_PLUGIN:
		rc = daemon_list_leaves(core(), r.ns, r.name, &l);
		if (rc)
			return rc;
		return fill_list(buf, filler, &l);
	case R_VERSIONS:
		rc = daemon_list_versions(core(), r.ns, r.name, &l);
		if (rc)
			return rc;
		return fill_list(buf, filler, &l);
	case R_REPO:
		rc = daemon_repo_list(core(), r.rel, &l);
		if (rc)
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
	struct handle *h = handle_new();
	if (!h || (v->fd < 0 && !(h->view_path = strdup(path)))) {
		handle_free(h, 0);
		view_release(v);
		return -ENOMEM;
	}
	int rc = charge(h, v->fd < 0 ? v->len : 0, 0);
	if (rc) {
		handle_free(h, 0);
		view_release(v);
		return rc;
	}
	h->fd = v->fd;
	h->buf = v->buf;
	h->len = v->len;
	struct stat fst;
	off_t size = v->fd < 0 ? (off_t)v->len : fstat(v->fd, &fst) == 0 ? fst.st_size : -1;
	h->cached = v->cacheable && size_was_told(path, size);
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
	struct handle *h = handle_new();
	if (!h)
		return -ENOMEM;
	h->fd = -1;
	h->events = 1;
	int rc = charge(h, 0, 1);
	if (rc) {
		handle_free(h, 0);
		return rc;
	}
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

/* A handle of a copy's file (fd from incoming_open or incoming_create). */
static int copy_handle(const struct route *r, int fd, int tracked, struct fuse_file_info *fi)
{
	if (fd < 0)
		return fd;
	struct handle *h = handle_new();
	if (!h) {
		close(fd);
		if (tracked)
			incoming_closed(r->entry);
		return -ENOMEM;
	}
	h->fd = fd;
	h->tracked = tracked;
	snprintf(h->entry, sizeof(h->entry), "%s", r->entry);
	fi->fh = (uintptr_t)h;
	return 0;
}

/* incoming/...: a copy's file (admins only), else a job's ENTRY.status or ENTRY.log. */
static int open_incoming(const char *path, const struct route *r, struct fuse_file_info *fi)
{
	int copy = !r->top_level || incoming_exists(r);
	if ((copy || is_write(fi->flags) || is_private_leaf(r->entry)) && !caller_is_admin())
		return -EACCES;
	if (copy) {
		int tracked = 0;
		int fd = incoming_open(r, fi->flags, &tracked);
		return copy_handle(r, fd, tracked, fi);
	}
	if (is_write(fi->flags))
		return -EACCES;
	struct view v;
	int rc = daemon_incoming_view_open(core(), r->entry, &v);
	return rc ? rc : open_view_at(path, fi, &v);
}

/* A caller already at its bound of opens is refused before anything is rendered. */
static int at_open_bound(void)
{
	if (caller_is_admin())
		return 0;
	pthread_mutex_lock(&handles_lock);
	const struct quota *q = quota_of(fuse_get_context()->uid, 0);
	int full = q && q->opens >= USER_OPEN_MAX;
	pthread_mutex_unlock(&handles_lock);
	return full;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	if (r.kind != R_INCOMING && at_open_bound())
		return -EMFILE;
	struct view v;
	if (r.kind == R_INCOMING)
		return open_incoming(path, &r, fi);
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
		if (is_package_path(&r) && !may_read_package(&r))
			return -EACCES;
		rc = r.kind == R_REPO ? daemon_repo_open(core(), r.rel, &v)
				      : daemon_version_open(core(), r.ns, r.name, r.file, &v);
		return rc ? rc : open_view_at(path, fi, &v);
	}
	if (r.kind != R_LEAF)
		return r.kind == R_NONE ? -ENOENT : -EISDIR;
	if (is_write(fi->flags))
		return -EROFS;
	if ((is_private_leaf(r.leaf) || is_package_path(&r)) && !caller_is_admin())
		return -EACCES;
	rc = daemon_view_open(core(), r.ns, r.name, r.leaf, &v);
	if (rc)
		return rc;
	return open_view_at(path, fi, &v);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (!caller_is_admin())
		return -EACCES;
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	if (r.kind != R_INCOMING)
		return r.kind == R_INCOMING_DIR ? -EEXIST : -EROFS;
	int tracked = 0;
	int fd = incoming_create(&r, fi->flags, mode, admin_gid(), &tracked);
	return copy_handle(&r, fd, tracked, fi);
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
		incoming_wrote(h->entry);
	return (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	handle_free((struct handle *)(uintptr_t)fi->fh, 1);
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

/* The route of a path that an admin changes; -EACCES for anyone else. */
static int route_change(const char *path, struct route *r)
{
	return caller_is_admin() ? route_parse(path, r) : -EACCES;
}

/* Under a plugin's dir: mkdir of a plugin that is not there installs it from the market. */
static int mkdir_plugin(const struct route *r)
{
	struct name_list l = { 0 };
	int exists = daemon_list_leaves(core(), r->ns, r->name, &l) == 0;
	name_list_free(&l);
	return exists ? -EEXIST : daemon_install_from_market(core(), r->ns, r->name);
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct route r;
	int rc = route_change(path, &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_INCOMING: return incoming_mkdir(&r, mode, admin_gid());
	case R_NAMESPACE: return daemon_mkdir_namespace(core(), r.ns);
	case R_PLUGIN: return mkdir_plugin(&r);
	case R_ROOT:
	case R_INCOMING_DIR:
	case R_OVERVIEW:
	case R_EVENTS:
	case R_HISTORY:
	case R_VERSIONS: return -EEXIST;
	default: return -EROFS;
	}
}

/* Removing a view or a kept package changes nothing (it stays); an existing one says
 * so, which lets `rm -r` reach rmdir. */
static int unlink_view(const struct route *r)
{
	struct view v;
	int rc = r->kind == R_LEAF ? daemon_view_open(core(), r->ns, r->name, r->leaf, &v)
				   : daemon_version_open(core(), r->ns, r->name, r->file, &v);
	if (!rc)
		view_release(&v);
	return rc;
}

static int op_unlink(const char *path)
{
	struct route r;
	int rc = route_change(path, &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_INCOMING:
		rc = incoming_unlink(&r);
		/* a job's ENTRY.status forgets the job; ENTRY.log is there while it is */
		return rc == -ENOENT && r.top_level
			   ? daemon_incoming_virtual_unlink(core(), r.entry)
			   : rc;
	case R_OVERVIEW:
	case R_EVENTS:
	case R_HISTORY:
	case R_REPO: return -EROFS;
	case R_LEAF:
	case R_VERSION: return unlink_view(&r);
	case R_NONE: return -ENOENT;
	default: return -EISDIR;
	}
}

/* versions/: removing it changes nothing (the plugin's removal takes its versions): an
 * existing one says so, which lets `rm -r` go on. */
static int rmdir_versions(const struct route *r)
{
	struct name_list l = { 0 };
	int rc = daemon_list_versions(core(), r->ns, r->name, &l);
	name_list_free(&l);
	return rc;
}

static int op_rmdir(const char *path)
{
	struct route r;
	int rc = route_change(path, &r);
	if (rc)
		return rc;
	switch (r.kind) {
	case R_INCOMING: return incoming_rmdir(&r);
	case R_PLUGIN: return daemon_remove(core(), r.ns, r.name);
	case R_NAMESPACE: return daemon_rmdir_namespace(core(), r.ns);
	case R_VERSIONS: return rmdir_versions(&r);
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

/* Two paths an admin changes, both in incoming/ (-EXDEV when one is, -EROFS when
 * neither is). */
static int route_two(const char *from, const char *to, struct route *a, struct route *t, int cross)
{
	int rc = route_change(from, a);
	if (!rc)
		rc = route_parse(to, t);
	if (rc)
		return rc;
	if (a->kind == R_INCOMING && t->kind == R_INCOMING)
		return 0;
	return cross && (a->kind == R_INCOMING || t->kind == R_INCOMING) ? -EXDEV : -EROFS;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct route a, t;
	int rc = route_two(from, to, &a, &t, 1);
	return rc ? rc : incoming_rename(&a, &t, flags);
}

static int op_link(const char *from, const char *to)
{
	struct route a, t;
	int rc = route_two(from, to, &a, &t, 0);
	return rc ? rc : incoming_link(&a, &t);
}

/* The route of a path in incoming/ that an admin changes; -EROFS elsewhere. */
static int route_copy(const char *path, struct route *r)
{
	int rc = route_change(path, r);
	return rc ? rc : r->kind == R_INCOMING ? 0 : -EROFS;
}

/* The route of a setattr's path; for an open file whose name is gone (NULL path), 0 when
 * its handle is an incoming/ file's (an admin's only, as the path would be). */
static int route_setattr(const char *path, const struct fuse_file_info *fi, struct route *r)
{
	if (path)
		return route_copy(path, r);
	if (!caller_is_admin())
		return -EACCES;
	int fd = backing_fd(fi);
	return fd < 0 ? fd : 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct route r;
	int rc = route_setattr(path, fi, &r);
	if (rc)
		return rc;
	/* an open file through its fd, else by path */
	return incoming_truncate(path ? &r : NULL, backing_fd(fi), size);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct route r;
	int rc = route_setattr(path, fi, &r);
	return rc ? rc : incoming_chmod(path ? &r : NULL, backing_fd(fi), mode);
}

/* Copies belong to root and the admin group whoever made them (cp -a still succeeds):
 * only whether the entry exists is checked. */
static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	struct route r;
	struct stat st;
	int rc = route_setattr(path, fi, &r);
	return rc ? rc : path ? incoming_stat(&r, &st) : 0;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct route r;
	int rc = route_setattr(path, fi, &r);
	return rc ? rc : incoming_utimens(path ? &r : NULL, backing_fd(fi), tv);
}

static int op_symlink(const char *target, const char *linkpath)
{
	struct route r;
	int rc = route_copy(linkpath, &r);
	return rc ? rc : incoming_symlink(target, &r);
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct route r;
	int rc = route_parse(path, &r);
	if (rc)
		return rc;
	if (r.kind != R_INCOMING)
		return -EINVAL;
	return caller_is_admin() ? incoming_readlink(&r, buf, size) : -EACCES;
}

/* No devices or fifos in a plugin. */
static int op_mknod(const char *path, mode_t mode, dev_t dev)
{
	(void)mode;
	(void)dev;
	struct route r;
	int rc = route_copy(path, &r);
	return rc ? rc : -EPERM;
}

/* Extended attributes (ACLs included) pass through in incoming/, so cp -a and rsync -aAX
 * keep what they copy; views have none (saying so once lets ls stop asking) and cannot
 * get any. */
static int route_xattr(const char *path, int change, struct route *r)
{
	int rc = route_parse(path, r);
	if (rc)
		return rc;
	if (r->kind != R_INCOMING)
		return change ? -EROFS : -EOPNOTSUPP;
	return caller_is_admin() ? 0 : -EACCES;
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	struct route r;
	int rc = route_xattr(path, 1, &r);
	if (!rc)
		rc = incoming_setxattr(&r, name, value, size, flags);
	/* an access ACL changed the mode bits (cp -a sets the final mode so): the kernel's
	 * copy of the attributes goes now, not at its timeout (the inode only: nothing of
	 * this request's path waits on it) */
	if (!rc && strcmp(name, "system.posix_acl_access") == 0)
		fuse_invalidate_path(fuse_get_context()->fuse, path);
	return rc;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct route r;
	int rc = route_xattr(path, 0, &r);
	return rc ? rc : incoming_getxattr(&r, name, value, size);
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	struct route r;
	int rc = route_xattr(path, 0, &r);
	if (rc)
		return rc == -EOPNOTSUPP ? 0 : rc;
	return incoming_listxattr(&r, list, size);
}

static int op_removexattr(const char *path, const char *name)
{
	struct route r;
	int rc = route_xattr(path, 1, &r);
	return rc ? rc : incoming_removexattr(&r, name);
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
