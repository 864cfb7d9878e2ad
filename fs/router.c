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

int route_parse(const char *path, struct route *r)
{
	memset(r, 0, sizeof(*r));
	if (!path) /* libfuse's path of an open file whose name is gone */
		return -ESTALE;
	const char *p = path;
	char first[NAME_MAX + 1];
	int n = component(&p, first);
	if (n < 0)
		return n;
	if (n == 0) {
		r->kind = R_ROOT;
		return 0;
	}
	if (strcmp(first, "incoming") == 0) {
		while (*p == '/')
			p++;
		if (!*p) {
			r->kind = R_INCOMING_DIR;
			return 0;
		}
		r->kind = R_INCOMING;
		r->rel = p;
		n = component(&p, r->entry);
		if (n < 0)
			return n;
		while (*p == '/')
			p++;
		r->top_level = *p == 0;
		return 0;
	}
	if (strcmp(first, "repo") == 0) {
		while (*p == '/')
			p++;
		r->kind = R_REPO;
		r->rel = p;
		return 0;
	}
	if (strcmp(first, "market") == 0) {
		char *parts[3] = { r->ns, r->name, r->leaf };
		r->kind = R_MARKET;
		for (r->depth = 0; r->depth < 3; r->depth++) {
			n = component(&p, parts[r->depth]);
			if (n <= 0)
				return n;
		}
		while (*p == '/')
			p++;
		if (*p)
			r->kind = R_NONE;
		return 0;
	}
	static const struct {
		const char *name;
		enum route_kind kind;
	} files[] = { { "status", R_OVERVIEW }, { "events", R_EVENTS }, { "history", R_HISTORY } };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(first, files[i].name) == 0) {
			while (*p == '/')
				p++;
			r->kind = *p ? R_NONE : files[i].kind;
			return 0;
		}
	snprintf(r->ns, sizeof(r->ns), "%s", first);
	r->kind = R_NAMESPACE;
	n = component(&p, r->name);
	if (n <= 0)
		return n;
	r->kind = R_PLUGIN;
	n = component(&p, r->leaf);
	if (n <= 0)
		return n;
	r->kind = R_LEAF;
	if (strcmp(r->leaf, "versions") == 0) {
		r->kind = R_VERSIONS;
		n = component(&p, r->file);
		if (n <= 0)
			return n;
		r->kind = R_VERSION;
	}
	while (*p == '/')
		p++;
	if (*p)
		r->kind = R_NONE;
	return 0;
}
