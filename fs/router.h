/* router: turns a mount path into {kind, namespace, name, leaf} or an incoming/ path.
 * No I/O, no FUSE. */
#ifndef WAZOFS_ROUTER_H
#define WAZOFS_ROUTER_H
#include <limits.h>

enum route_kind {
	R_ROOT,		/* / */
	R_INCOMING_DIR, /* /incoming */
	R_INCOMING,	/* /incoming/ENTRY[/...]: rel and entry set */
	R_MARKET,	/* /market[/<ns>[/<name>[/<leaf>]]]: depth 0..3, deeper is R_NONE */
	R_NAMESPACE,	/* /<ns> */
	R_PLUGIN,	/* /<ns>/<name> */
	R_LEAF,		/* /<ns>/<name>/<leaf> */
	R_VERSIONS,	/* /<ns>/<name>/versions */
	R_VERSION,	/* /<ns>/<name>/versions/<file>: file set */
	R_SOURCE,	/* /<ns>/<name>/source[/...]: rel is the path below source/ */
	R_REPO,		/* /repo[/...]: rel is the path below repo/ ("" for repo/) */
	R_OVERVIEW,	/* /status */
	R_EVENTS,	/* /events */
	R_HISTORY,	/* /history */
	R_NONE,		/* deeper than anything that exists */
};

struct route {
	enum route_kind kind;
	char ns[NAME_MAX + 1], name[NAME_MAX + 1], leaf[NAME_MAX + 1];
	char entry[NAME_MAX + 1]; /* first component below incoming/ */
	char file[NAME_MAX + 1];  /* R_VERSION: the package file */
	const char *rel; /* path below incoming/, repo/ or source/ (points into the input) */
	int top_level;	 /* R_INCOMING: rel is the entry itself */
	int depth;	 /* R_MARKET: how many of ns, name, leaf are set */
};

/* Names at the top that are not namespaces (a namespace so named is hidden). */
extern const char *const route_reserved[];
/* Returns 0, -ENAMETOOLONG, or -ESTALE for no path (NULL: libfuse's path of an open
 * file whose name is gone, which only its handle can answer for). */
int route_parse(const char *path, struct route *r);
#endif
