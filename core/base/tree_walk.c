/* tree_walk: see tree_walk.h. */
#include "tree_walk.h"
#include "name_list.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int walk_fail(const struct tree_walk *w, const char *path, int e)
{
	if (w->err)
		error_addf(w->err, "%s: %s", path, strerror(e));
	return -e;
}

/* The names in directory path but . and .., into names. 0 or -errno. */
static int read_names(const char *path, struct name_list *names)
{
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int rc = 0;
	for (;;) {
		errno = 0;
		const struct dirent *de = readdir(d);
		if (!de) {
			rc = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = name_list_add(names, de->d_name);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

/* Visits the entries of the directory path (len bytes of the PATH_MAX buffer). */
static int walk_entries(char *path, size_t len, size_t root_len, int depth,
			const struct tree_walk *w);

/* Visits path (len bytes of a PATH_MAX buffer; the root is its first root_len). */
static int walk_at(char *path, size_t len, size_t root_len, int depth, const struct tree_walk *w)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT && w->vanished_ok && depth > 0 ? 0
								      : walk_fail(w, path, errno);
	struct tree_entry e = { path, depth ? path + root_len + 1 : "", &st, depth };
	if (!S_ISDIR(st.st_mode))
		return w->visit(&e, TREE_OTHER, w->ctx);
	if (depth > w->max_depth)
		return walk_fail(w, path, ELOOP);
	int rc = w->visit(&e, TREE_DIR_PRE, w->ctx);
	if (rc == TREE_SKIP)
		return 0;
	if (rc)
		return rc;
	rc = walk_entries(path, len, root_len, depth, w);
	return rc ? rc : w->visit(&e, TREE_DIR_POST, w->ctx);
}

static int walk_entries(char *path, size_t len, size_t root_len, int depth,
			const struct tree_walk *w)
{
	struct name_list names = { 0 };
	int rc = read_names(path, &names);
	if (rc) {
		name_list_free(&names);
		return rc == -ENOENT && w->vanished_ok && depth > 0 ? 0 : walk_fail(w, path, -rc);
	}
	for (size_t i = 0; !rc && i < names.n; i++) {
		size_t n = strlen(names.v[i]);
		if (len + 1 + n >= PATH_MAX) {
			rc = walk_fail(w, path, ENAMETOOLONG);
			break;
		}
		path[len] = '/';
		memcpy(path + len + 1, names.v[i], n + 1);
		rc = walk_at(path, len + 1 + n, root_len, depth + 1, w);
		path[len] = 0;
	}
	name_list_free(&names);
	return rc;
}

int tree_walk(const char *root, const struct tree_walk *w)
{
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len >= PATH_MAX)
		return walk_fail(w, root, ENAMETOOLONG);
	char *path = malloc(PATH_MAX);
	if (!path)
		return walk_fail(w, root, ENOMEM);
	memcpy(path, root, len);
	path[len] = 0;
	int rc = walk_at(path, len, len, 0, w);
	free(path);
	return rc;
}
