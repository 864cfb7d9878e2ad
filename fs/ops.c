/* ops: the low-level FUSE operations of wazofs. A request names nodes by number
 * (nodes.h); a node of the rendered tree is routed by its mount path (router) to its
 * node type (tree.c), a node of a copy in incoming/ is acted on through its descriptors
 * (incoming.c); who may do what is access.c's. No operation waits: a read of
 * MOUNT/events with nothing new is parked (events.c), an `rm -r` of a plugin is answered
 * by the remover thread when dpkg is done (daemon_remove_async); every other answer
 * comes from memory or one system call.
 *
 * A view's text is snapshotted at open, one snapshot shared by every open of the same
 * text; the kernel keeps it (page cache) when the core tells every change of it
 * (kernel_cache drops it then), else every read comes here (direct_io). What one user
 * who is not an admin may hold open is bounded here. */
#include "ops.h"
#include "access.h"
#include "base/strbuf.h"
#include "daemon/daemon.h"
#include "events.h"
#include "incoming.h"
#include "kernel_cache.h"
#include "nodes.h"
#include "router.h"
#include "tree.h"
#include "verify.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static struct daemon *core;
static struct fuse_session *session;
static double cache_timeout; /* names and attributes the kernel keeps, in seconds */

/* Guards the snapshots of rendered views and which one each handle reads (a read from
 * offset 0 moves it to the text of now). */
static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;

/* The text of a rendered view, immutable, shared by every open that rendered the same
 * text: a thousand opens of repo/'s Packages hold one copy. The latest snapshot of each
 * path is kept (by path hash) to be found again. */
struct snap {
	unsigned refs;
	char *path; /* where it was rendered: rendered again there (a read from 0, poll) */
	size_t len;
	char buf[];
};
enum { SNAP_SLOTS = 1024 };
static struct snap_slot {
	uint64_t key;
	struct snap *snap;
} snaps[SNAP_SLOTS];

/* Under view_lock. */
static void snap_unref(struct snap *s)
{
	if (s && --s->refs == 0) {
		free(s->path);
		free(s);
	}
}

/* Under view_lock: a reference to the snapshot of the text v rendered at path (v's
 * buffer is freed): the kept one when it is the same text. NULL when out of memory. */
static struct snap *snap_of(const char *path, struct view *v)
{
	uint64_t key = nodes_view_ino(path);
	struct snap_slot *slot = &snaps[key % SNAP_SLOTS];
	struct snap *s = slot->snap;
	if (!s || slot->key != key || strcmp(s->path, path) || s->len != v->len ||
	    (v->len && memcmp(s->buf, v->buf, v->len))) {
		s = malloc(sizeof(*s) + v->len + 1);
		if (s && !(s->path = strdup(path))) {
			free(s);
			s = NULL;
		}
		if (!s) {
			view_release(v);
			return NULL;
		}
		s->refs = 1; /* the slot's */
		s->len = v->len;
		if (v->len)
			memcpy(s->buf, v->buf, v->len);
		snap_unref(slot->snap);
		*slot = (struct snap_slot){ key, s };
	}
	view_release(v);
	s->refs++;
	return s;
}

/* One entry of a directory listing taken at opendir. */
struct dent {
	char *name;
	uint64_t ino;
	unsigned char type; /* DT_* */
};

/* A package's descriptor, shared by every open of it (a stranger's thousand opens of a
 * .deb hold one descriptor of the daemon's, not a thousand). */
struct shared_fd {
	int fd;
	dev_t dev;
	ino_t ino;
	unsigned refs;
	struct shared_fd *next;
};
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_fd *shared;

/* fd's shared descriptor (fd is closed when one of its file is open already): NULL when
 * out of memory or fd cannot be looked at (fd is then the caller's still). */
static struct shared_fd *share_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	pthread_mutex_lock(&shared_lock);
	struct shared_fd *s = shared;
	while (s && (s->dev != st.st_dev || s->ino != st.st_ino))
		s = s->next;
	if (s) {
		close(fd);
	} else if ((s = calloc(1, sizeof(*s)))) {
		*s = (struct shared_fd){
			.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .next = shared
		};
		shared = s;
	}
	if (s)
		s->refs++;
	pthread_mutex_unlock(&shared_lock);
	return s;
}

static void unshare_fd(struct shared_fd *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&shared_lock);
	if (--s->refs == 0) {
		struct shared_fd **pp = &shared;
		while (*pp != s)
			pp = &(*pp)->next;
		*pp = s->next;
		close(s->fd);
		free(s);
	}
	pthread_mutex_unlock(&shared_lock);
}

struct handle {
	struct shared_fd *pkg; /* a view backed by a file: its shared descriptor (fd is -1) */
	int fd;		       /* a copy's file, opened through the mount; else -1 */
	struct snap *snap;     /* a rendered view's text (view_lock) */
	int tracked;	       /* counted as an open file of entry */
	char *entry;	       /* a copy's: the top-level entry it belongs to */
	int served;	       /* a read was answered (the first one uses the view of open) */
	int cached;	       /* the kernel keeps the text: reads seldom reach us */
	struct events_reader *events;
	struct dent *dents; /* a directory: its listing */
	size_t n_dents;
	struct handle *prev, *next; /* every open handle, freed at exit if still open */
	int charged;		    /* counted against uid's bounds (a caller not an admin) */
	uid_t uid;
	size_t text;
};

/* Open handles: a file still open when the session ends gets no release. */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *handles;

/* What one user who is neither root nor an admin may hold open at once: opens and the
 * text of rendered views held in memory. Past them an open fails with EMFILE, so a
 * stranger's opens change neither what admins can do nor the daemon's memory by more
 * than USER_TEXT_MAX and USER_OPEN_MAX handles a user. A reader of MOUNT/events holds
 * no thread (its read is parked), so it is one open as any other. */
enum {
	USER_OPEN_MAX = 1024,
	USER_TEXT_MAX = 4 << 20,
	QUOTA_USERS = 256, /* users counted at once; one more is refused */
};
static struct quota {
	uid_t uid;
	unsigned opens;
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
	h->fd = -1;
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
	pthread_mutex_lock(&view_lock);
	snap_unref(h->snap);
	pthread_mutex_unlock(&view_lock);
	events_close(h->events);
	for (size_t i = 0; i < h->n_dents; i++)
		free(h->dents[i].name);
	free(h->dents);
	if (h->fd >= 0)
		close(h->fd);
	unshare_fd(h->pkg);
	if (h->tracked && tell)
		incoming_closed(h->entry);
	free(h->entry);
	free(h);
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* Where h's rendered view is, into out (PATH_MAX): 0 when h holds no rendered view. */
static int snap_path(const struct handle *h, char *out)
{
	pthread_mutex_lock(&view_lock);
	int have = h->snap != NULL;
	if (have)
		snprintf(out, PATH_MAX, "%s", h->snap->path);
	pthread_mutex_unlock(&view_lock);
	return have;
}

/* ---- what one user holds ---- */

/* Counts h, a new handle holding text bytes, against its caller when that is not an
 * admin: 0, or -EMFILE past the caller's bounds. */
static int charge(fuse_req_t req, struct handle *h, size_t text)
{
	int admin = access_is_admin(req);
	if (admin)
		return admin < 0 ? admin : 0;
	uid_t uid = fuse_req_ctx(req)->uid;
	pthread_mutex_lock(&handles_lock);
	struct quota *q = quota_of(uid, 1);
	int rc = !q || q->opens >= USER_OPEN_MAX || text > USER_TEXT_MAX - q->text ? -EMFILE : 0;
	if (!rc) {
		q->opens++;
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

/* A caller already at its bound of opens is refused before anything is rendered. */
static int at_open_bound(fuse_req_t req)
{
	if (access_is_admin(req))
		return 0;
	pthread_mutex_lock(&handles_lock);
	const struct quota *q = quota_of(fuse_req_ctx(req)->uid, 0);
	int full = q && q->opens >= USER_OPEN_MAX;
	pthread_mutex_unlock(&handles_lock);
	return full;
}

static struct incoming_caller copier(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	return (
	    struct incoming_caller){ .uid = c->uid, .group = access_admin_gid(), .pid = c->pid };
}

/* ---- nodes, paths and routes ---- */

/* A node's mount path and route (r->rel points into path, PATH_MAX bytes). */
static int node_route(struct node *n, char *path, struct route *r)
{
	int rc = nodes_path(n, path, PATH_MAX);
	return rc ? rc : route_parse(path, r);
}

/* parent's name: its mount path and route. */
static int child_route(struct node *parent, const char *name, char *path, struct route *r)
{
	int rc = nodes_path(parent, path, PATH_MAX);
	if (rc)
		return rc;
	size_t n = strlen(path);
	if (snprintf(path + n, PATH_MAX - n, "%s%s", n > 1 ? "/" : "", name) >= (int)(PATH_MAX - n))
		return -ENAMETOOLONG;
	return route_parse(path, r);
}

/* The route of a copy's node by its current name (r, path: PATH_MAX), or NULL when no
 * name of it is left: changes through it are then told to no one. */
static const struct route *copy_route(struct node *n, char *path, struct route *r)
{
	return node_route(n, path, r) == 0 && r->kind == R_INCOMING ? r : NULL;
}

/* The descriptor names in parent are looked up in: a copy's directory, or incoming/
 * itself; -ENOENT for a parent that holds no copy. */
static int parent_fd(struct node *parent)
{
	if (parent->fd >= 0)
		return parent->fd;
	char path[PATH_MAX];
	struct route r = { 0 };
	return node_route(parent, path, &r) == 0 && r.kind == R_INCOMING_DIR ? incoming_dir_fd()
									     : -ENOENT;
}

/* A copy's node below the top of its copy (its parent is a copy's directory): what it
 * holds is for admins only. */
static int below_copy_top(const struct node *n)
{
	return n->parent && n->parent->fd >= 0;
}

/* ---- attributes ---- */

/* A copy's node: its own attributes (admins only below the top of a copy). */
static int copy_attr(fuse_req_t req, struct node *n, struct stat *st)
{
	int rc = below_copy_top(n) ? access_need_admin(req) : 0;
	return rc ? rc : incoming_fstat(n->fd, st);
}

static void reply_attr(fuse_req_t req, int rc, const struct stat *st)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, st, cache_timeout);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = nodes_get(ino);
	char path[PATH_MAX];
	struct route r = { 0 };
	struct stat st;
	int rc = !n ? -ESTALE : n->fd >= 0 ? copy_attr(req, n, &st) : node_route(n, path, &r);
	if (!rc && n->fd < 0)
		rc = tree_attr(path, &r, &st);
	reply_attr(req, rc, &st);
}

/* ---- lookups ---- */

/* name in parent, a copy's object: its node and attributes in e; -ENOENT when there is
 * none. The kernel keeps no name of incoming/ (entry timeout 0): each is looked up
 * again, so a name removed behind it (a job's end, rm of ENTRY.status) is gone at once. */
static int lookup_copy(fuse_req_t req, struct node *parent, const char *name, const struct route *r,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e)); /* a generation other than 0 would make the node stale */
	int rc = r->top_level ? 0 : access_need_admin(req);
	int pfd = rc ? rc : parent_fd(parent);
	if (pfd < 0)
		return pfd;
	int fd;
	rc = incoming_lookup(pfd, name, &e->attr, &fd);
	if (rc)
		return rc;
	struct node *n = nodes_lookup_copy(parent, name, e->attr.st_ino, fd);
	if (!n)
		return -ENOMEM;
	e->ino = n->ino;
	e->attr_timeout = cache_timeout;
	e->entry_timeout = 0;
	return 0;
}

static int lookup_view(struct node *parent, const char *name, const char *path,
		       const struct route *r, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	int rc = tree_attr(path, r, &e->attr);
	if (rc)
		return rc;
	struct node *n = nodes_lookup_view(parent, name);
	if (!n)
		return -ENOMEM;
	e->ino = n->ino;
	e->attr_timeout = cache_timeout;
	/* names of source/ are looked up each time: whoever looks is asked for */
	e->entry_timeout = r->kind == R_INCOMING || tree_admins_only(r) ? 0 : cache_timeout;
	return 0;
}

/* name in parent, whichever kind: a copy's object first, then a view of that name. */
static int lookup_any(fuse_req_t req, struct node *parent, const char *name,
		      struct fuse_entry_param *e)
{
	char path[PATH_MAX];
	struct route r = { 0 };
	memset(e, 0, sizeof(*e));
	int rc = child_route(parent, name, path, &r);
	if (rc)
		return rc;
	if (r.kind == R_INCOMING) {
		rc = lookup_copy(req, parent, name, &r, e);
		if (rc != -ENOENT || !r.top_level || parent->fd >= 0)
			return rc;
	}
	if (tree_admins_only(&r)) { /* source/ and below: admins only */
		rc = access_need_admin(req);
		if (rc)
			return rc;
	}
	return lookup_view(parent, name, path, &r, e);
}

/* Replies with e (a lookup counted in the node), or the error; a reply the kernel never
 * got gives the lookup back. */
static void reply_entry(fuse_req_t req, int rc, const struct fuse_entry_param *e)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, e) == -ENOENT)
		nodes_forget(e->ino, 1);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *pn = nodes_get(parent);
	struct fuse_entry_param e;
	reply_entry(req, pn ? lookup_any(req, pn, name, &e) : -ESTALE, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	nodes_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		nodes_forget(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---- directories ---- */

static int dents_add(struct handle *h, size_t *cap, const char *name, uint64_t ino,
		     unsigned char type)
{
	if (h->n_dents == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct dent *g = realloc(h->dents, c * sizeof(*g));
		if (!g)
			return -ENOMEM;
		h->dents = g;
		*cap = c;
	}
	struct dent *d = &h->dents[h->n_dents];
	d->name = strdup(name);
	if (!d->name)
		return -ENOMEM;
	d->ino = ino;
	d->type = type;
	h->n_dents++;
	return 0;
}

/* The names of l under the directory at path, as views (l is freed). */
static int dents_views(struct handle *h, size_t *cap, const char *path, struct name_list *l)
{
	int rc = 0;
	char child[PATH_MAX];
	for (size_t i = 0; !rc && i < l->n; i++) {
		snprintf(child, sizeof(child), "%s%s%s", path, path[1] ? "/" : "", l->v[i]);
		rc = dents_add(h, cap, l->v[i], nodes_view_ino(child), DT_UNKNOWN);
	}
	name_list_free(l);
	return rc;
}

/* What a copy's directory holds (fd), as the backing directory has it. */
static int dents_copy(struct handle *h, size_t *cap, int fd)
{
	DIR *d = incoming_opendir(fd);
	if (!d)
		return -errno;
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = dents_add(h, cap, de->d_name, de->d_ino, de->d_type);
	closedir(d);
	return rc;
}

/* The listing of node n into h: "." and "..", then what it holds. */
static int list_dir(fuse_req_t req, struct node *n, struct handle *h)
{
	size_t cap = 0;
	char path[PATH_MAX];
	struct route r = { 0 };
	struct name_list l = { 0 };
	int rc = dents_add(h, &cap, ".", n->ino, DT_DIR);
	if (!rc)
		rc = dents_add(h, &cap, "..", n->parent ? n->parent->ino : n->ino, DT_DIR);
	if (!rc && n->fd >= 0) { /* a copy's directory: admins only */
		rc = access_need_admin(req);
		return rc ? rc : dents_copy(h, &cap, n->fd);
	}
	if (!rc)
		rc = node_route(n, path, &r);
	if (!rc && r.kind == R_INCOMING_DIR) { /* the copies, then the jobs' files */
		rc = dents_copy(h, &cap, incoming_dir_fd());
		daemon_incoming_virtual(core, &l);
		return rc ? rc : dents_views(h, &cap, path, &l);
	}
	if (!rc && tree_admins_only(&r))
		rc = access_need_admin(req);
	if (!rc)
		rc = tree_list(&r, &l);
	if (!rc && r.kind == R_PLUGIN && access_is_admin(req) != 1)
		name_list_remove(&l, "source"); /* what only admins may enter is not shown */
	return rc ? rc : dents_views(h, &cap, path, &l);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = nodes_get(ino);
	struct handle *h = n ? handle_new() : NULL;
	int rc = !n ? -ESTALE : !h ? -ENOMEM : list_dir(req, n, h);
	if (!rc)
		rc = charge(req, h, 0);
	if (rc) {
		handle_free(h, 0);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT)
		handle_free(h, 0);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct handle *h = handle_of(fi);
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t pos = 0;
	for (size_t i = (size_t)off; i < h->n_dents; i++) {
		struct stat st = { .st_ino = h->dents[i].ino, .st_mode = h->dents[i].type << 12 };
		size_t need = fuse_add_direntry(req, buf + pos, size - pos, h->dents[i].name, &st,
						(off_t)(i + 1));
		if (need > size - pos)
			break;
		pos += need;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	handle_free(handle_of(fi), 0);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

/* A handle of view v (taken) opened at path. */
static int open_view(fuse_req_t req, const char *path, struct view *v, struct fuse_file_info *fi)
{
	struct handle *h = handle_new();
	int rc = !h ? -ENOMEM : 0;
	if (!rc)
		rc = charge(req, h, v->fd < 0 ? v->len : 0);
	if (rc) {
		handle_free(h, 0);
		view_release(v);
		return rc;
	}
	struct stat fst;
	off_t size = v->fd < 0 ? (off_t)v->len : fstat(v->fd, &fst) == 0 ? fst.st_size : -1;
	int cacheable = v->cacheable; /* v is taken below */
	if (v->fd >= 0 && !(h->pkg = share_fd(v->fd))) {
		handle_free(h, 0);
		view_release(v);
		return -ENOMEM;
	}
	if (v->fd < 0) {
		pthread_mutex_lock(&view_lock);
		h->snap = snap_of(path, v);
		pthread_mutex_unlock(&view_lock);
		if (!h->snap) {
			handle_free(h, 0);
			return -ENOMEM;
		}
	}
	h->cached = cacheable && tree_size_was_told(path, size);
	fi->fh = (uintptr_t)h;
	/* a told change drops the kernel's copy (and size) before it shows; other views
	 * may change under a reader (a log's size grows): each read asks */
	fi->keep_cache = h->cached;
	fi->direct_io = !h->cached;
	return 0;
}

/* MOUNT/events: from now on, one JSON line per state change; a read waits for the next. */
static int open_events(fuse_req_t req, struct fuse_file_info *fi)
{
	struct handle *h = handle_new();
	int rc = !h ? -ENOMEM : charge(req, h, 0);
	if (!rc && !(h->events = events_open(core)))
		rc = -ENOMEM;
	if (rc) {
		handle_free(h, 0);
		return rc;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	return 0;
}

/* A handle of a copy's open file (fd from incoming_open or incoming_create). */
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
	if (!(h->entry = strdup(r ? r->entry : ""))) {
		h->tracked = 0;
		handle_free(h, 0);
		if (tracked)
			incoming_closed(r->entry);
		return -ENOMEM;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

/* A copy's file (admins only): r is its route, NULL when no name of it is left. */
static int open_copy(fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = access_need_admin(req);
	if (rc)
		return rc;
	const struct route *named = copy_route(n, path, &r);
	int tracked = 0;
	int fd = incoming_open(named, n->fd, fi->flags, fuse_req_ctx(req)->pid, &tracked);
	return copy_handle(named, fd, tracked, fi);
}

/* open_node's answer when the open is answered later, by another thread */
enum { ANSWERED_LATER = 1 };

static int open_node(fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	if (n->fd >= 0)
		return open_copy(req, n, fi);
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = node_route(n, path, &r);
	if (rc)
		return rc;
	if (at_open_bound(req))
		return -EMFILE;
	if (r.kind == R_EVENTS)
		return tree_is_write(fi->flags) ? -EROFS : open_events(req, fi);
	if (r.kind == R_LEAF && strcmp(r.leaf, "verify") == 0) {
		/* checksums of every installed file: computed off this thread, answered then */
		rc = tree_is_write(fi->flags) ? -EROFS : verify_open(req, path, r.ns, r.name, fi);
		return rc ? rc : ANSWERED_LATER;
	}
	struct view v;
	rc = tree_open(req, &r, fi->flags, &v);
	return rc ? rc : open_view(req, path, &v, fi);
}

static void reply_open(fuse_req_t req, int rc, struct fuse_file_info *fi)
{
	if (rc == ANSWERED_LATER)
		return;
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		handle_free(handle_of(fi), 1); /* the opener is gone: no release will come */
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = nodes_get(ino);
	reply_open(req, n ? open_node(req, n, fi) : -ESTALE, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct handle *h = handle_of(fi);
	if (h->events) {
		events_read(req, h->events, size);
		return;
	}
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (h->fd >= 0 || h->pkg) {
		ssize_t n = pread(h->pkg ? h->pkg->fd : h->fd, buf, size, off);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, buf, (size_t)n);
		free(buf);
		return;
	}
	struct view v;
	/* the first read uses what open rendered; reading from the start again (after a
	 * poll) renders what is now */
	char path[PATH_MAX];
	int fresh = off == 0 && h->served && snap_path(h, path) && tree_render(path, &v) == 0;
	if (fresh && v.fd >= 0) {
		view_release(&v);
		fresh = 0;
	}
	pthread_mutex_lock(&view_lock);
	struct snap *now = fresh ? snap_of(path, &v) : NULL;
	if (now) {
		snap_unref(h->snap);
		h->snap = now;
	}
	size_t n = 0;
	h->served = 1;
	const struct snap *s = h->snap;
	if ((size_t)off < s->len) {
		n = size < s->len - (size_t)off ? size : s->len - (size_t)off;
		memcpy(buf, s->buf + off, n);
	}
	pthread_mutex_unlock(&view_lock);
	fuse_reply_buf(req, buf, n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	struct handle *h = handle_of(fi);
	if (h->fd < 0) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ssize_t n = pwrite(h->fd, buf, size, off);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (h->tracked)
		incoming_wrote(h->entry, fuse_req_ctx(req)->pid);
	fuse_reply_write(req, (size_t)n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	handle_free(handle_of(fi), 1);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	struct handle *h = handle_of(fi);
	int rc = 0;
	if (h->fd >= 0)
		rc = (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? errno : 0;
	fuse_reply_err(req, rc);
}

/* Whether a rendered view differs from what h last read (it then reads the new text). */
static int view_changed(struct handle *h)
{
	struct view v;
	char path[PATH_MAX];
	if (!snap_path(h, path) || tree_render(path, &v))
		return 1;
	pthread_mutex_lock(&view_lock);
	const struct snap *s = h->snap;
	int changed = v.fd >= 0 || v.len != s->len || (v.len && memcmp(v.buf, s->buf, v.len));
	if (changed && h->cached && v.fd < 0 && kernel_cache_pending()) {
		changed = 0; /* the kernel still has the old text */
	} else if (changed && h->cached && v.fd < 0) {
		struct snap *now = snap_of(path, &v); /* what a read gets now */
		if (now) {
			snap_unref(h->snap);
			h->snap = now;
		}
	}
	pthread_mutex_unlock(&view_lock);
	view_release(&v);
	return changed;
}

/* poll(): a rendered view is readable once its content differs from what this open file
 * last read; until then the handle waits for the next change. A view the kernel keeps
 * is readable once the kernel's copy is dropped too (kernel_cache wakes the waiters), and
 * its reader is then taken to have the new text. Other files are always readable, as
 * regular files are. */
static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	(void)ino;
	struct handle *h = handle_of(fi);
	int changed = h->events ? events_ready(h->events) : h->snap ? view_changed(h) : 1;
	if (changed && ph)
		fuse_pollhandle_destroy(ph);
	else if (ph)
		events_poll_wait(ph);
	fuse_reply_poll(req, changed ? POLLIN : 0);
}

/* ---- changes ---- */

/* The route of name in parent, which an admin changes; -EACCES for anyone else. */
static int change_route(fuse_req_t req, struct node *parent, const char *name, char *path,
			struct route *r)
{
	int rc = parent ? access_need_admin(req) : -ESTALE;
	return rc ? rc : child_route(parent, name, path, r);
}

/* name in parent, an object of a copy an admin makes: its route, and the parent's
 * descriptor or -errno (-EROFS out of incoming/). */
static int copy_parent(fuse_req_t req, struct node *parent, const char *name, char *path,
		       struct route *r)
{
	int rc = change_route(req, parent, name, path, r);
	if (!rc && r->kind != R_INCOMING)
		rc = -EROFS;
	return rc ? rc : parent_fd(parent);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct node *pn = nodes_get(parent);
	char path[PATH_MAX];
	struct route r = { 0 };
	struct fuse_entry_param e;
	int rc, pfd = copy_parent(req, pn, name, path, &r);
	if (pfd == -EROFS && r.kind == R_INCOMING_DIR)
		pfd = -EEXIST;
	if (pfd < 0) {
		fuse_reply_err(req, -pfd);
		return;
	}
	struct incoming_caller c = copier(req);
	int tracked = 0;
	int fd = incoming_create(&r, pfd, name, fi->flags, mode, &c, &tracked);
	if (fd == -EEXIST && !(fi->flags & O_EXCL)) { /* made meanwhile: open what is there */
		rc = lookup_copy(req, pn, name, &r, &e);
		if (!rc && (rc = open_copy(req, nodes_get(e.ino), fi)))
			nodes_forget(e.ino, 1);
	} else {
		rc = copy_handle(&r, fd, tracked, fi);
		if (!rc && (rc = lookup_copy(req, pn, name, &r, &e)))
			handle_free(handle_of(fi), 1);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		handle_free(handle_of(fi), 1);
		nodes_forget(e.ino, 1);
	}
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct node *pn = nodes_get(parent);
	char path[PATH_MAX];
	struct route r = { 0 };
	struct fuse_entry_param e;
	int rc = change_route(req, pn, name, path, &r);
	struct incoming_caller c = copier(req);
	if (!rc && r.kind == R_INCOMING) {
		rc = parent_fd(pn);
		rc = rc < 0 ? rc : incoming_mkdir(&r, rc, name, mode, &c);
	} else if (!rc) {
		rc = tree_mkdir(&r);
	}
	reply_entry(req, rc ? rc : lookup_any(req, pn, name, &e), &e);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *pn = nodes_get(parent);
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = change_route(req, pn, name, path, &r);
	if (!rc && r.kind == R_INCOMING) {
		rc = parent_fd(pn);
		rc = rc < 0 ? rc : incoming_unlink(&r, rc, name, fuse_req_ctx(req)->pid);
		/* a job's ENTRY.status forgets the job; ENTRY.log is there while it is */
		if (rc == -ENOENT && r.top_level)
			rc = daemon_incoming_virtual_unlink(core, r.entry);
	} else if (!rc) {
		rc = tree_unlink(&r);
	}
	fuse_reply_err(req, -rc);
}

/* An `rm -r` of a plugin, waiting for its removal (no thread held meanwhile). */
struct removal_wait {
	struct removal_wait *next;
	fuse_req_t req;
};
static pthread_mutex_t removals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct removal_wait *removals;

/* Takes w out of the waiting list: 1 when it was there (its request is still to be
 * answered, by the caller now). */
static int removal_take(struct removal_wait *w, fuse_req_t req)
{
	int found = 0;
	pthread_mutex_lock(&removals_lock);
	for (struct removal_wait **pp = &removals; *pp; pp = &(*pp)->next)
		if (*pp == w && w->req == req) {
			*pp = w->next;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&removals_lock);
	return found;
}

/* The caller of rm was killed or interrupted: rm ends now, the removal goes on (its
 * status and the history say how it ends). w may be answered and freed already: it is
 * looked for, not trusted. */
static void removal_interrupted(fuse_req_t req, void *data)
{
	if (removal_take(data, req))
		fuse_reply_err(req, EINTR);
}

/* From the remover thread: the removal is over. */
static void removal_done(void *ctx, int rc)
{
	struct removal_wait *w = ctx;
	fuse_req_t req = w->req;
	if (removal_take(w, req))
		fuse_reply_err(req, -rc);
	free(w);
}

static void rmdir_plugin(fuse_req_t req, const struct route *r)
{
	struct removal_wait *w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	uid_t uid = fuse_req_ctx(req)->uid;
	w->req = req;
	pthread_mutex_lock(&removals_lock);
	w->next = removals;
	removals = w;
	pthread_mutex_unlock(&removals_lock);
	/* before the removal is queued: once it is, its end may answer req (and free it)
	 * at any time; a caller killed already is answered EINTR here, and the removal is
	 * queued all the same (as after a kill) */
	fuse_req_interrupt_func(req, removal_interrupted, w);
	int rc = daemon_remove_async(core, r->ns, r->name, uid, removal_done, w);
	if (rc) {
		if (removal_take(w, req))
			fuse_reply_err(req, -rc);
		free(w);
	}
	/* else w is removal_done's; the interrupt callback looks for it before using it */
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *pn = nodes_get(parent);
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = change_route(req, pn, name, path, &r);
	if (!rc && r.kind == R_PLUGIN) {
		rmdir_plugin(req, &r); /* answered when the removal is over */
		return;
	}
	if (!rc && r.kind == R_INCOMING) {
		rc = parent_fd(pn);
		rc = rc < 0 ? rc : incoming_rmdir(&r, rc, name, fuse_req_ctx(req)->pid);
	} else if (!rc) {
		rc = tree_rmdir(&r);
	}
	fuse_reply_err(req, -rc);
}

/* Two names an admin changes, both in incoming/ (-EXDEV when one is, -EROFS when
 * neither is); their parents' descriptors. */
static int two_routes(fuse_req_t req, struct node *pa, const char *a, struct node *pb,
		      const char *b, char paths[2][PATH_MAX], struct route rt[2], int fds[2],
		      int cross)
{
	int rc = change_route(req, pa, a, paths[0], &rt[0]);
	if (!rc)
		rc = pb ? child_route(pb, b, paths[1], &rt[1]) : -ESTALE;
	if (rc)
		return rc;
	if (rt[0].kind != R_INCOMING || rt[1].kind != R_INCOMING)
		return cross && (rt[0].kind == R_INCOMING || rt[1].kind == R_INCOMING) ? -EXDEV
										       : -EROFS;
	fds[0] = parent_fd(pa);
	fds[1] = parent_fd(pb);
	return fds[0] < 0 ? fds[0] : fds[1] < 0 ? fds[1] : 0;
}

/* After a rename: the node of the object now at name in parent is named so. */
static void renamed(struct node *parent, int pfd, const char *name)
{
	struct stat st;
	int fd;
	if (incoming_lookup(pfd, name, &st, &fd) == 0) {
		struct node *n = nodes_lookup_copy(parent, name, st.st_ino, fd);
		if (n)
			nodes_forget(n->ino, 1);
	}
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct node *pa = nodes_get(parent), *pb = nodes_get(newparent);
	char paths[2][PATH_MAX];
	struct route rt[2];
	int fds[2];
	int rc = two_routes(req, pa, name, pb, newname, paths, rt, fds, 1);
	if (!rc)
		rc = incoming_rename(&rt[0], fds[0], name, &rt[1], fds[1], newname, flags,
				     fuse_req_ctx(req)->pid);
	if (!rc) {
		renamed(pb, fds[1], newname);
		if (flags & RENAME_EXCHANGE)
			renamed(pa, fds[0], name);
	}
	fuse_reply_err(req, -rc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct node *n = nodes_get(ino), *pb = nodes_get(newparent);
	char path[PATH_MAX];
	struct route r = { 0 };
	struct fuse_entry_param e;
	int rc = change_route(req, pb, newname, path, &r);
	if (!rc && (!n || r.kind != R_INCOMING || n->fd < 0))
		rc = r.kind == R_INCOMING && n ? -EXDEV : -EROFS;
	int pfd = rc ? rc : parent_fd(pb);
	rc = pfd < 0 ? pfd : incoming_link(n->fd, &r, pfd, newname, fuse_req_ctx(req)->pid);
	reply_entry(req, rc ? rc : lookup_copy(req, pb, newname, &r, &e), &e);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct node *pn = nodes_get(parent);
	char path[PATH_MAX];
	struct route r = { 0 };
	struct fuse_entry_param e;
	int pfd = copy_parent(req, pn, name, path, &r);
	int rc = pfd < 0 ? pfd : incoming_symlink(link, &r, pfd, name, fuse_req_ctx(req)->pid);
	reply_entry(req, rc ? rc : lookup_copy(req, pn, name, &r, &e), &e);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = nodes_get(ino);
	char buf[PATH_MAX], path[PATH_MAX];
	struct route r = { 0 };
	int rc = !n ? -ESTALE : n->fd < 0 ? node_route(n, path, &r) : access_need_admin(req);
	if (!rc && n->fd < 0) /* a link of the tree (in source/) */
		rc = tree_readlink(req, &r, buf, sizeof(buf));
	else if (!rc)
		rc = incoming_readlink(n->fd, buf, sizeof(buf));
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, buf);
}

/* No devices, fifos or sockets in a plugin. */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)mode;
	(void)rdev;
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = change_route(req, nodes_get(parent), name, path, &r);
	fuse_reply_err(req, rc ? -rc : r.kind == R_INCOMING ? EPERM : EROFS);
}

/* chmod, truncate, utimens of a copy's object (through its node, whichever of its
 * names is left); chown changes nothing (copies belong to their copier and the admin
 * group: cp -a still succeeds). Views cannot change. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct node *n = nodes_get(ino);
	char path[PATH_MAX];
	struct route r = { 0 };
	struct stat st;
	int rc = !n ? -ESTALE : access_need_admin(req);
	if (!rc && n->fd < 0)
		rc = -EROFS;
	if (!rc) {
		const struct route *named = copy_route(n, path, &r);
		const struct handle *h = handle_of(fi);
		rc = incoming_setattr(named, n->fd, h ? h->fd : -1, attr, to_set,
				      fuse_req_ctx(req)->pid);
	}
	if (!rc)
		rc = incoming_fstat(n->fd, &st);
	reply_attr(req, rc, &st);
}

/* Extended attributes (ACLs included) pass through for copies, so cp -a and rsync -aAX
 * keep what they copy; views have none (saying so once lets ls stop asking) and cannot
 * get any. 0 for a copy an admin may see, -EOPNOTSUPP for a view. */
static int xattr_node(fuse_req_t req, struct node *n)
{
	return !n ? -ESTALE : n->fd < 0 ? -EOPNOTSUPP : access_need_admin(req);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct node *n = nodes_get(ino);
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = xattr_node(req, n);
	if (!rc) {
		const struct route *named = copy_route(n, path, &r);
		rc = incoming_setxattr(named, n->fd, name, value, size, flags,
				       fuse_req_ctx(req)->pid);
	}
	/* an access ACL changed the mode bits (cp -a sets the final mode so): the kernel's
	 * copy of the attributes goes now, not at its timeout */
	if (!rc && strcmp(name, "system.posix_acl_access") == 0)
		fuse_lowlevel_notify_inval_inode(session, ino, -1, 0);
	fuse_reply_err(req, rc == -EOPNOTSUPP ? EROFS : -rc);
}

static void reply_xattr(fuse_req_t req, int rc, const char *buf, size_t size)
{
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)rc);
	else
		fuse_reply_buf(req, buf, (size_t)rc);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct node *n = nodes_get(ino);
	char *buf = size ? malloc(size) : NULL;
	int rc = size && !buf ? -ENOMEM : xattr_node(req, n);
	if (!rc)
		rc = incoming_getxattr(n->fd, name, buf, size);
	reply_xattr(req, rc, buf, size);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct node *n = nodes_get(ino);
	char *buf = size ? malloc(size) : NULL;
	int rc = size && !buf ? -ENOMEM : xattr_node(req, n);
	if (!rc)
		rc = incoming_listxattr(n->fd, buf, size);
	reply_xattr(req, rc == -EOPNOTSUPP ? 0 : rc, buf, size);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct node *n = nodes_get(ino);
	char path[PATH_MAX];
	struct route r = { 0 };
	int rc = xattr_node(req, n);
	if (!rc) {
		const struct route *named = copy_route(n, path, &r);
		rc = incoming_removexattr(named, n->fd, name, fuse_req_ctx(req)->pid);
	}
	fuse_reply_err(req, rc == -EOPNOTSUPP ? EROFS : -rc);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs st;
	if (fstatvfs(incoming_dir_fd(), &st) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &st);
}

/* ---- life cycle ---- */

/* The verify thread's answer to an open it computed the text of (v, or rc < 0). */
static void verify_answer(fuse_req_t req, const char *path, struct view *v,
			  struct fuse_file_info *fi, int rc)
{
	if (!rc)
		rc = open_view(req, path, v, fi);
	reply_open(req, rc, fi);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)conn;
	core = userdata;
	access_start(core);
	tree_start(core);
	nodes_init();
	if (incoming_start(core, daemon_incoming_dir(core)))
		syslog(LOG_ERR, "cannot open %s: incoming/ will fail", daemon_incoming_dir(core));
	/* the kernel keeps names and attributes until the core says they changed
	 * (kernel_cache); a missing name is always asked again (a copy may appear) */
	int cached = kernel_cache_start(session, core, tree_exists) == 0;
	if (!cached)
		syslog(LOG_WARNING, "no cache thread: the kernel caches nothing");
	cache_timeout = cached ? KERNEL_CACHE_TIMEOUT : 0;
	if (events_start(core))
		syslog(LOG_WARNING, "events and poll() will not wake: no notifier thread");
	if (verify_start(core, verify_answer))
		syslog(LOG_WARNING, "no verify thread: opens of verify fail");
}

void wazofs_ops_stop_threads(void)
{
	kernel_cache_stop();
	events_stop();
	verify_stop();
	/* removals the remover answered are gone; none is left once the daemon stopped */
}

/* After the session's loop: main.c has stopped the threads by then. */
static void op_destroy(void *userdata)
{
	(void)userdata;
	wazofs_ops_stop_threads();
	while (handles) /* files still open when the session ended */
		handle_free(handles, 0);
	for (size_t i = 0; i < SNAP_SLOTS; i++) {
		snap_unref(snaps[i].snap);
		snaps[i] = (struct snap_slot){ 0 };
	}
	incoming_stop();
	nodes_free();
}

void wazofs_ops_session(struct fuse_session *se)
{
	session = se;
}

const struct fuse_lowlevel_ops wazofs_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.poll = op_poll,
};
