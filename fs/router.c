/* router: mount paths to routes (see router.h). */
#include "router.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int component(const char **p, char *out)
{
	while (**p == '/')
		(*p)++;
	size_t n = strcspn(*p, "/");
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n;
	return (int)n;
}

const char *const route_reserved[] = { "incoming", "market", "status", "events",
				       "history",  "repo",   NULL };

/* Skips slashes: whether anything is left. */
static int more(const char **p)
{
	while (**p == '/')
		(*p)++;
	return **p != 0;
}

/* Below incoming/: the entry and the rest. */
static int parse_incoming(const char *p, struct route *r)
{
	if (!more(&p)) {
		r->kind = R_INCOMING_DIR;
		return 0;
	}
	r->kind = R_INCOMING;
	r->rel = p;
	int n = component(&p, r->entry);
	if (n < 0)
		return n;
	r->top_level = !more(&p);
	return 0;
}

/* Below market/: up to namespace, name and leaf. */
static int parse_market(const char *p, struct route *r)
{
	char *parts[3] = { r->ns, r->name, r->leaf };
	r->kind = R_MARKET;
	for (r->depth = 0; r->depth < 3; r->depth++) {
		int n = component(&p, parts[r->depth]);
		if (n <= 0)
			return n;
	}
	if (more(&p))
		r->kind = R_NONE;
	return 0;
}

/* Below a namespace: a plugin, its leaf, its versions/ and their files. */
static int parse_plugin(const char *p, struct route *r)
{
	r->kind = R_NAMESPACE;
	int n = component(&p, r->name);
	if (n <= 0)
		return n;
	r->kind = R_PLUGIN;
	n = component(&p, r->leaf);
	if (n <= 0)
		return n;
	r->kind = R_LEAF;
	if (strcmp(r->leaf, "source") == 0) {
		more(&p);
		r->kind = R_SOURCE;
		r->rel = p;
		return 0;
	}
	if (strcmp(r->leaf, "versions") == 0) {
		r->kind = R_VERSIONS;
		n = component(&p, r->file);
		if (n <= 0)
			return n;
		r->kind = R_VERSION;
	}
	if (more(&p))
		r->kind = R_NONE;
	return 0;
}

int route_parse(const char *path, struct route *r)
{
	memset(r, 0, sizeof(*r));
	if (!path) /* no path: an open file whose name is gone */
		return -ESTALE;
	const char *p = path;
	char first[NAME_MAX + 1];
	int n = component(&p, first);
	if (n <= 0) {
		r->kind = R_ROOT;
		return n;
	}
	if (strcmp(first, "incoming") == 0)
		return parse_incoming(p, r);
	if (strcmp(first, "repo") == 0) {
		more(&p);
		r->kind = R_REPO;
		r->rel = p;
		return 0;
	}
	if (strcmp(first, "market") == 0)
		return parse_market(p, r);
	static const struct {
		const char *name;
		enum route_kind kind;
	} files[] = { { "status", R_OVERVIEW }, { "events", R_EVENTS }, { "history", R_HISTORY } };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(first, files[i].name) == 0) {
			r->kind = more(&p) ? R_NONE : files[i].kind;
			return 0;
		}
	snprintf(r->ns, sizeof(r->ns), "%s", first);
	return parse_plugin(p, r);
}
