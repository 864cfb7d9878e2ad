/* tree_snapshot: see tree_snapshot.h. */
#include "tree_snapshot.h"
#include "fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deep enough for any plugin; a deeper tree is refused (-ELOOP), not walked. */
enum { SNAPSHOT_MAX_DEPTH = 64 };

struct walk {
	struct tree_snapshot *s;
	size_t max_bytes, max_entries;
	struct error *err;
};

static int fail(struct walk *w, const char *path, int rc)
{
	error_addf(w->err, "%s: %s", *path ? path : ".", strerror(-rc));
	return rc;
}

static struct tree_snapshot_entry *add(struct walk *w, const char *path, mode_t mode)
{
	struct tree_snapshot *s = w->s;
	if (s->n >= w->max_entries)
		return NULL;
	struct tree_snapshot_entry *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->v = v;
	struct tree_snapshot_entry *e = &v[s->n];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)))
		return NULL;
	e->mode = mode;
	s->n++;
	return e;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file fd (already fstat'ed as st) into e. */
static int read_file(struct walk *w, int fd, const struct stat *st, struct tree_snapshot_entry *e)
{
	if ((size_t)st->st_size > w->max_bytes - w->s->bytes)
		return -EFBIG;
	size_t len = (size_t)st->st_size;
	e->data = malloc(len ? len : 1);
	if (!e->data)
		return -ENOMEM;
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, e->data + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break; /* shrunk meanwhile: what was there */
		got += (size_t)r;
	}
	e->len = got;
	w->s->bytes += got;
	return 0;
}

/* The entries of the directory dfd (path below the root, "" for the root). */
static int walk_dir(struct walk *w, int dfd, const char *path, int depth);

/* The names in directory dfd, sorted (out and *n); -E2BIG past the walk's bound. */
static int read_names(struct walk *w, int dfd, const char *path, char ***out, size_t *n)
{
	int lfd = dup(dfd);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return fail(w, path, -errno);
	}
	char **names = NULL;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char **bigger =
		    *n + 1 > w->max_entries ? NULL : realloc(names, (*n + 1) * sizeof(*names));
		if (!bigger || !(bigger[*n] = strdup(de->d_name))) {
			names = bigger ? bigger : names;
			rc = *n + 1 > w->max_entries ? -E2BIG : -ENOMEM;
			break;
		}
		names = bigger;
		(*n)++;
	}
	closedir(d);
	if (names && *n)
		qsort(names, *n, sizeof(*names), by_name);
	*out = names;
	return rc;
}

/* A link of the walk: its target is its data. */
static int take_link(struct walk *w, int dfd, const char *name, const char *sub,
		     struct tree_snapshot_entry *e)
{
	char target[PATH_MAX];
	ssize_t len = readlinkat(dfd, name, target, sizeof(target));
	if (len < 0 || !(e->data = malloc((size_t)len + 1)))
		return fail(w, sub, len < 0 ? -errno : -ENOMEM);
	memcpy(e->data, target, (size_t)len);
	e->data[len] = 0;
	e->len = (size_t)len;
	return 0;
}

/* One name of directory dfd (sub: its path in the walk). */
static int take_entry(struct walk *w, int dfd, const char *name, const char *sub, int depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(w, sub, -errno);
	struct tree_snapshot_entry *e = add(w, sub, st.st_mode);
	if (!e)
		return fail(w, sub, w->s->n >= w->max_entries ? -E2BIG : -ENOMEM);
	if (S_ISLNK(st.st_mode))
		return take_link(w, dfd, name, sub, e);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		error_addf(w->err, "%s: only files, directories and links are taken", sub);
		return -EINVAL;
	}
	/* what is opened is what was looked at: a swap meanwhile is refused */
	struct stat ost;
	int fd = open_as_seen(dfd, name, S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY,
			      &st, &ost);
	if (fd < 0)
		return fail(w, sub, fd);
	e->mode = ost.st_mode;
	int rc = S_ISDIR(ost.st_mode) ? walk_dir(w, fd, sub, depth + 1) : read_file(w, fd, &ost, e);
	if (rc && !S_ISDIR(ost.st_mode))
		fail(w, sub, rc);
	close(fd);
	return rc;
}

static int walk_dir(struct walk *w, int dfd, const char *path, int depth)
{
	if (depth > SNAPSHOT_MAX_DEPTH)
		return fail(w, path, -ELOOP);
	char **names = NULL;
	size_t n = 0;
	int rc = read_names(w, dfd, path, &names, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		char sub[PATH_MAX];
		if (snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "", names[i]) >=
		    (int)sizeof(sub))
			rc = fail(w, path, -ENAMETOOLONG);
		else
			rc = take_entry(w, dfd, names[i], sub, depth);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int tree_snapshot_take(int dirfd, const char *rel, size_t max_bytes, size_t max_entries,
		       struct tree_snapshot *s, struct error *err)
{
	memset(s, 0, sizeof(*s));
	struct walk w = { s, max_bytes, max_entries, err };
	int fd = open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fail(&w, rel, fd);
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? fail(&w, rel, -errno) : 0;
	struct tree_snapshot_entry *root = rc ? NULL : add(&w, "", st.st_mode);
	if (!rc && !root)
		rc = fail(&w, rel, -ENOMEM);
	if (!rc)
		rc = walk_dir(&w, fd, "", 1);
	close(fd);
	if (rc)
		tree_snapshot_release(s);
	return rc;
}

void tree_snapshot_release(struct tree_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].data);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
