/* nodes: see nodes.h. Three hash tables over one set of nodes: by number (every request),
 * by (parent, name) (lookups, and paths the core says changed), by backing inode
 * (copies). */
#include "nodes.h"
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BUCKETS = 4096 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *by_ino[BUCKETS], *by_name[BUCKETS], *by_backing[BUCKETS];
static struct node root = { .ino = FUSE_ROOT_ID, .nlookup = 1, .name = "", .fd = -1 };
static fuse_ino_t next_ino = FUSE_ROOT_ID + 1;

static uint64_t fnv(uint64_t h, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	return h;
}

static size_t name_slot(const struct node *parent, const char *name)
{
	return fnv(1469598103934665603ULL ^ parent->ino, name) % BUCKETS;
}

static void unchain(struct node **head, struct node *n, size_t link)
{
	for (struct node **pp = head; *pp;
	     pp = (struct node **)((char *)*pp + link)) /* the chain's next field */
		if (*pp == n) {
			*pp = *(struct node **)((char *)n + link);
			return;
		}
}

#define UNCHAIN(table, slot, n, field) unchain(&(table)[slot], n, offsetof(struct node, field))

int nodes_init(void)
{
	by_ino[FUSE_ROOT_ID % BUCKETS] = &root;
	return 0;
}

/* Under lock: n leaves every table and is freed, and with it a parent it alone kept. */
static void drop(struct node *n)
{
	/* the root (no parent) and a node held or naming others stay */
	for (struct node *parent = n->parent; parent && n->nlookup == 0 && n->children == 0;
	     n = parent, parent = n->parent) {
		UNCHAIN(by_ino, n->ino % BUCKETS, n, hnext_ino);
		UNCHAIN(by_name, name_slot(parent, n->name), n, hnext_name);
		if (n->fd >= 0) {
			UNCHAIN(by_backing, n->backing % BUCKETS, n, hnext_backing);
			close(n->fd);
		}
		free(n->name);
		free(n);
		parent->children--;
	}
}

void nodes_free(void)
{
	pthread_mutex_lock(&lock);
	for (size_t b = 0; b < BUCKETS; b++)
		while (by_ino[b] && by_ino[b] != &root) {
			struct node *n = by_ino[b];
			by_ino[b] = n->hnext_ino;
			if (n->fd >= 0)
				close(n->fd);
			free(n->name);
			free(n);
		}
	memset(by_name, 0, sizeof(by_name));
	memset(by_backing, 0, sizeof(by_backing));
	pthread_mutex_unlock(&lock);
}

static struct node *get_locked(fuse_ino_t ino)
{
	for (struct node *n = by_ino[ino % BUCKETS]; n; n = n->hnext_ino)
		if (n->ino == ino)
			return n;
	return NULL;
}

struct node *nodes_get(fuse_ino_t ino)
{
	pthread_mutex_lock(&lock);
	struct node *n = get_locked(ino);
	pthread_mutex_unlock(&lock);
	return n;
}

static struct node *child_locked(struct node *parent, const char *name)
{
	for (struct node *n = by_name[name_slot(parent, name)]; n; n = n->hnext_name)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

struct node *nodes_child(struct node *parent, const char *name)
{
	pthread_mutex_lock(&lock);
	struct node *n = child_locked(parent, name);
	pthread_mutex_unlock(&lock);
	return n;
}

/* Under lock: n is named name under parent (the newest name first in its chain). */
static int name_locked(struct node *n, struct node *parent, const char *name)
{
	char *copy = parent ? strdup(name) : NULL; /* every node but the root has a parent */
	if (!copy)
		return parent ? -ENOMEM : -EINVAL;
	if (n->parent) {
		UNCHAIN(by_name, name_slot(n->parent, n->name), n, hnext_name);
		n->parent->children--;
	}
	free(n->name);
	n->name = copy;
	n->parent = parent;
	parent->children++;
	size_t s = name_slot(parent, name);
	n->hnext_name = by_name[s];
	by_name[s] = n;
	return 0;
}

static struct node *new_locked(struct node *parent, const char *name, int fd, ino_t backing)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n || name_locked(n, parent, name)) {
		free(n);
		return NULL;
	}
	n->ino = next_ino++;
	n->fd = fd;
	n->backing = backing;
	n->hnext_ino = by_ino[n->ino % BUCKETS];
	by_ino[n->ino % BUCKETS] = n;
	if (fd >= 0) {
		n->hnext_backing = by_backing[backing % BUCKETS];
		by_backing[backing % BUCKETS] = n;
	}
	return n;
}

struct node *nodes_lookup_view(struct node *parent, const char *name)
{
	pthread_mutex_lock(&lock);
	struct node *n = child_locked(parent, name);
	if (n && n->fd >= 0)
		n = NULL; /* a copy's node of that name (a copy named as a view) */
	if (!n)
		n = new_locked(parent, name, -1, 0);
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&lock);
	return n;
}

struct node *nodes_lookup_copy(struct node *parent, const char *name, ino_t st_ino, int fd)
{
	pthread_mutex_lock(&lock);
	struct node *n = by_backing[st_ino % BUCKETS];
	while (n && n->backing != st_ino)
		n = n->hnext_backing;
	if (n) {
		close(fd);
		if (n->parent != parent || strcmp(n->name, name))
			name_locked(n, parent, name); /* out of memory: keeps its old name */
	} else {
		n = new_locked(parent, name, fd, st_ino);
		if (!n)
			close(fd);
	}
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&lock);
	return n;
}

void nodes_rename(struct node *n, struct node *parent, const char *name)
{
	pthread_mutex_lock(&lock);
	name_locked(n, parent, name);
	pthread_mutex_unlock(&lock);
}

void nodes_forget(fuse_ino_t ino, uint64_t count)
{
	pthread_mutex_lock(&lock);
	struct node *n = get_locked(ino);
	if (n && n != &root) {
		n->nlookup = count < n->nlookup ? n->nlookup - count : 0;
		drop(n);
	}
	pthread_mutex_unlock(&lock);
}

/* Under lock. */
static int path_locked(const struct node *n, char *out, size_t len)
{
	size_t pos = len;
	int rc = 0;
	if (len < 2)
		rc = -ENAMETOOLONG;
	else
		out[--pos] = 0;
	for (; !rc && n && n != &root; n = n->parent) {
		size_t k = strlen(n->name);
		if (k + 1 > pos) {
			rc = -ENAMETOOLONG;
			break;
		}
		pos -= k;
		memcpy(out + pos, n->name, k);
		out[--pos] = '/';
	}
	if (rc)
		return rc;
	if (pos == len - 1)
		out[--pos] = '/'; /* the root */
	memmove(out, out + pos, len - pos);
	return 0;
}

int nodes_path(struct node *n, char *out, size_t len)
{
	pthread_mutex_lock(&lock);
	int rc = path_locked(n, out, len);
	pthread_mutex_unlock(&lock);
	return rc;
}

void nodes_path_inos(const char *path, fuse_ino_t *ino, fuse_ino_t *parent)
{
	pthread_mutex_lock(&lock);
	struct node *n = &root, *up = NULL;
	char name[NAME_MAX + 1];
	for (const char *p = path; n && *p;) {
		while (*p == '/')
			p++;
		size_t k = strcspn(p, "/");
		if (!k)
			break;
		if (k > NAME_MAX) {
			n = up = NULL;
			break;
		}
		memcpy(name, p, k);
		name[k] = 0;
		p += k;
		up = n;
		n = child_locked(n, name);
		if (!n && *p && p[strspn(p, "/")])
			up = NULL; /* a directory on the way is not held */
	}
	*ino = n ? n->ino : 0;
	*parent = up ? up->ino : 0;
	pthread_mutex_unlock(&lock);
}

void nodes_below(const char *path, struct name_list *out)
{
	fuse_ino_t top, parent;
	nodes_path_inos(path, &top, &parent);
	if (!top)
		return;
	char p[PATH_MAX];
	pthread_mutex_lock(&lock);
	const struct node *t = get_locked(top);
	for (size_t b = 0; t && b < BUCKETS; b++)
		for (const struct node *n = by_ino[b]; n; n = n->hnext_ino) {
			const struct node *up = n->parent;
			while (up && up != t)
				up = up->parent;
			if (up && n != t && path_locked(n, p, sizeof(p)) == 0)
				name_list_add(out, p);
		}
	pthread_mutex_unlock(&lock);
}

uint64_t nodes_view_ino(const char *path)
{
	/* backing inode numbers stay far below 2^62 on the file systems a state dir is on */
	return (fnv(1469598103934665603ULL, path) >> 2) | (1ULL << 62);
}
