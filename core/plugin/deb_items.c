/* deb_items: see deb_items.h. */
#include "deb_items.h"
#include "base/fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 when the tree's entry rel is left out: an entry of more has its path, or it is at
 * or below a replaced path. */
static int is_replaced(const struct deb_contents *more, const char *rel)
{
	if (!more)
		return 0;
	for (size_t i = 0; i < more->n; i++)
		if (strcmp(rel, more->entries[i].path) == 0)
			return 1;
	for (size_t i = 0; i < more->n_replaced; i++) {
		size_t n = strlen(more->replaced[i]);
		if (strncmp(rel, more->replaced[i], n) == 0 && (rel[n] == 0 || rel[n] == '/'))
			return 1;
	}
	return 0;
}

/* 1 when the tree's entry rel is a parent directory of an entry of more. */
static int holds_more(const struct deb_contents *more, const char *rel)
{
	size_t n = strlen(rel);
	for (size_t i = 0; more && i < more->n; i++)
		if (strncmp(more->entries[i].path, rel, n) == 0 && more->entries[i].path[n] == '/')
			return 1;
	return 0;
}

/* A new item at the end (its path a copy of path, len bytes); NULL when out of memory. */
static struct deb_item *add_item(struct deb_items *items, const char *path, size_t len)
{
	if (items->n == items->cap) {
		size_t cap = items->cap ? items->cap * 2 : 64;
		struct deb_item *bigger = realloc(items->v, cap * sizeof(*bigger));
		if (!bigger)
			return NULL;
		items->v = bigger;
		items->cap = cap;
	}
	struct deb_item *it = &items->v[items->n];
	memset(it, 0, sizeof(*it));
	if (!(it->path = strndup(path, len)))
		return NULL;
	items->n++;
	return it;
}

/* The tree's entry f (rel below the root). */
static int take_tree_entry(struct deb_items *items, const FTSENT *f, const char *rel,
			   struct error *err)
{
	const struct stat *st = f->fts_statp;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode)) {
		error_addf(err, "%s: only files, directories and symlinks can be packaged", rel);
		return -EINVAL;
	}
	struct deb_item *it = add_item(items, rel, strlen(rel));
	if (!it)
		return -ENOMEM;
	*it = (struct deb_item){ it->path,
				 st->st_mode,
				 st->st_uid,
				 st->st_gid,
				 S_ISREG(st->st_mode) ? st->st_size : 0,
				 NULL,
				 NULL };
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(f->fts_accpath, target, sizeof(target) - 1);
		if (n < 0) {
			error_addf(err, "%s: %s", rel, strerror(errno));
			return -errno;
		}
		if (!(it->link = strndup(target, (size_t)n)))
			return -ENOMEM;
	}
	return 0;
}

/* Every entry of the tree but what more replaces. */
static int collect_tree(const char *rootdir, const struct deb_contents *more,
			struct deb_items *items, struct error *err)
{
	char *roots[] = { (char *)rootdir, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts) {
		error_addf(err, "%s: %s", rootdir, strerror(errno));
		return -errno;
	}
	size_t rootlen = strlen(rootdir);
	int rc = 0;
	FTSENT *f;
	errno = 0;
	while (!rc && (f = fts_read(fts))) {
		if (f->fts_info == FTS_DP)
			continue;
		if (f->fts_info == FTS_DNR || f->fts_info == FTS_ERR || f->fts_info == FTS_NS) {
			error_addf(err, "%s: %s", f->fts_path, strerror(f->fts_errno));
			rc = -f->fts_errno;
			break;
		}
		const char *rel = f->fts_path + rootlen;
		while (*rel == '/')
			rel++;
		if (*rel && is_replaced(more, rel)) {
			if (f->fts_info == FTS_D)
				fts_set(fts, f, FTS_SKIP);
			continue;
		}
		/* where the package's own entries go, the tree may hold only directories: a
		 * link there would take them elsewhere when dpkg unpacks them */
		if (f->fts_info != FTS_D && holds_more(more, rel)) {
			error_addf(err, "%s: must be a directory (wazofs puts /%s there)", rel,
				   more->entries[0].path);
			rc = -EINVAL;
			break;
		}
		rc = take_tree_entry(items, f, rel, err);
	}
	if (!rc && !f && errno) { /* NULL with errno 0 is the end of the walk */
		rc = -errno;
		error_addf(err, "%s: %s", rootdir, strerror(errno));
	}
	fts_close(fts);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct deb_item *)a)->path, ((const struct deb_item *)b)->path);
}

/* 1 when items (sorted) holds path. */
static int has_path(const struct deb_items *items, const char *path)
{
	struct deb_item key = { .path = (char *)path };
	return bsearch(&key, items->v, items->n, sizeof(*items->v), by_path) != NULL;
}

/* The entries of more, and each missing parent directory (0755 root:root). */
static int collect_more(const struct deb_contents *more, struct deb_items *items)
{
	size_t tree_n = items->n; /* sorted: the tree's, to look parents up in */
	for (size_t i = 0; more && i < more->n; i++) {
		const struct deb_entry *x = &more->entries[i];
		for (const char *slash = strchr(x->path, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			size_t len = (size_t)(slash - x->path);
			struct deb_items tree = { items->v, tree_n, tree_n, -1 };
			char parent[PATH_MAX];
			snprintf(parent, sizeof(parent), "%.*s", (int)len, x->path);
			int seen = has_path(&tree, parent);
			for (size_t k = tree_n; !seen && k < items->n; k++)
				seen = strcmp(items->v[k].path, parent) == 0;
			struct deb_item *it = seen ? NULL : add_item(items, parent, len);
			if (!seen && !it)
				return -ENOMEM;
			if (it)
				it->mode = S_IFDIR | 0755;
		}
		struct deb_item *it = add_item(items, x->path, strlen(x->path));
		if (!it)
			return -ENOMEM;
		it->mode = x->mode;
		it->mem = x;
		it->size = S_ISREG(x->mode) ? (off_t)x->len : 0;
	}
	return 0;
}

int deb_items_collect(const char *rootdir, const struct deb_contents *more, struct deb_items *items,
		      struct error *err)
{
	memset(items, 0, sizeof(*items));
	items->root_fd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (items->root_fd < 0) {
		error_addf(err, "%s: %s", rootdir, strerror(errno));
		return -errno;
	}
	int rc = collect_tree(rootdir, more, items, err);
	if (!rc) {
		qsort(items->v, items->n, sizeof(*items->v), by_path);
		rc = collect_more(more, items);
	}
	if (!rc)
		qsort(items->v, items->n, sizeof(*items->v), by_path);
	if (rc == -ENOMEM)
		error_addf(err, "the package's entries: out of memory");
	return rc;
}

void deb_items_release(struct deb_items *items)
{
	for (size_t i = 0; i < items->n; i++) {
		free(items->v[i].path);
		free(items->v[i].link);
	}
	free(items->v);
	if (items->root_fd >= 0)
		close(items->root_fd);
	memset(items, 0, sizeof(*items));
	items->root_fd = -1;
}

int deb_item_open(const struct deb_items *items, const struct deb_item *item)
{
	int fd = openat(items->root_fd, item->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The MD5 of item's content, in hex. */
static int item_md5(const struct deb_items *items, const struct deb_item *item, char hex[33])
{
	struct md5_ctx ctx;
	uint8_t digest[MD5_DIGEST_SIZE];
	md5_init(&ctx);
	if (item->mem) {
		md5_update(&ctx, item->mem->len, (const uint8_t *)item->mem->data);
	} else {
		int fd = deb_item_open(items, item);
		if (fd < 0)
			return fd;
		uint8_t buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			md5_update(&ctx, (size_t)n, buf);
		int e = n < 0 ? errno : 0;
		close(fd);
		if (e)
			return -e;
	}
	md5_digest(&ctx, sizeof(digest), digest);
	for (int i = 0; i < MD5_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

int deb_items_summary(const struct deb_items *items, unsigned long *installed_kb,
		      struct strbuf *conffiles, struct strbuf *md5sums, struct error *err)
{
	unsigned long kb = 0;
	for (size_t i = 0; i < items->n; i++) {
		const struct deb_item *it = &items->v[i];
		if (!S_ISREG(it->mode)) {
			kb++;
			continue;
		}
		kb += (unsigned long)((it->size + 1023) / 1024);
		if (strncmp(it->path, "etc/", 4) == 0)
			strbuf_addf(conffiles, "/%s\n", it->path);
		char hex[33];
		int rc = item_md5(items, it, hex);
		if (rc) {
			error_addf(err, "%s: %s", it->path, strerror(-rc));
			return rc;
		}
		strbuf_addf(md5sums, "%s  %s\n", hex, it->path);
	}
	*installed_kb = kb;
	return conffiles->oom || md5sums->oom ? -ENOMEM : 0;
}
