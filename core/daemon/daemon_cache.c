/* daemon_cache: which paths of the mount a change touches, told to fs/ so the kernel's
 * cache of them is dropped (daemon_cache_hooks). The kernel keeps names and attributes
 * for a while; every change the daemon makes itself (a job, a dpkg run, the market, a
 * copy taken from incoming/) goes through here. */
#include "base/fsutil.h"
#include "base/tree_walk.h"
#include "daemon_internal.h"
#include "plugin/plugin_package.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void daemon_set_cache_hooks(struct daemon *p, const struct daemon_cache_hooks *h)
{
	pthread_mutex_lock(&p->lock);
	p->cache = *h;
	pthread_mutex_unlock(&p->lock);
}

void daemon_path_changed(struct daemon *p, const char *fmt, ...)
{
	if (!p->cache.changed)
		return;
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(path))
		p->cache.changed(p->cache.ctx, path);
}

void daemon_plugin_changed(struct daemon *p, const char *ns, const char *name, const char *version)
{
	if (!ns[0])
		return;
	daemon_path_changed(p, "/");
	daemon_path_changed(p, "/status");
	daemon_path_changed(p, "/%s", ns);
	if (!name[0])
		return;
	static const char *const leaves[] = { "", "/status", "/log", "/plugin.yml", "/versions" };
	for (size_t i = 0; i < sizeof(leaves) / sizeof(*leaves); i++)
		daemon_path_changed(p, "/%s/%s%s", ns, name, leaves[i]);
	/* the market's info says which version is installed */
	daemon_path_changed(p, "/market/%s/%s/info", ns, name);
	if (version && version[0]) {
		char deb[512];
		plugin_deb_filename(name, ns, version, deb, sizeof(deb));
		daemon_path_changed(p, "/%s/%s/%s", ns, name, deb);
	}
}

void daemon_job_paths_changed(struct daemon *p, const struct job *j)
{
	daemon_path_changed(p, "/status");
	daemon_path_changed(p, "/history");
	daemon_plugin_changed(p, j->st.ns, j->st.name, NULL);
	if (!j->entry[0])
		return;
	daemon_path_changed(p, "/incoming");
	daemon_path_changed(p, "/incoming/%s", j->entry);
	daemon_path_changed(p, "/incoming/%s.status", j->entry);
	daemon_path_changed(p, "/incoming/%s.log", j->entry);
}

struct collect {
	const char *prefix; /* the mount's path of the walk's root */
	struct name_list *out;
};

/* Names deeper than this in a copy are not listed (the kernel drops them with their
 * directory's entry anyway) */
enum { COLLECT_DEPTH = 32 };

static int collect_visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	const struct collect *c = ctx;
	if (when == TREE_DIR_POST)
		return 0;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s%s", c->prefix, e->rel[0] ? "/" : "", e->rel) <
	    (int)sizeof(path))
		name_list_add(c->out, path);
	return when == TREE_DIR_PRE && e->depth > COLLECT_DEPTH ? TREE_SKIP : 0;
}

/* Adds rel (the mount's path of dir) and every path below it (links not followed). */
static void collect_tree(const char *dir, const char *rel, struct name_list *out)
{
	struct collect c = { rel, out };
	const struct tree_walk w = {
		.visit = collect_visit, .ctx = &c, .max_depth = COLLECT_DEPTH + 1, .vanished_ok = 1
	};
	if (tree_walk(dir, &w) == -ENOENT)
		name_list_add(out, rel); /* gone already: its name is still dropped */
}

int daemon_remove_copy(struct daemon *p, const char *entry)
{
	char dir[PATH_MAX], rel[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", p->incoming, entry);
	snprintf(rel, sizeof(rel), "/incoming/%s", entry);
	struct name_list paths = { 0 };
	collect_tree(dir, rel, &paths);
	int rc = rm_rf(dir);
	pthread_mutex_lock(&p->lock);
	daemon_path_changed(p, "/incoming");
	for (size_t i = 0; i < paths.n; i++)
		daemon_path_changed(p, "%s", paths.v[i]);
	pthread_mutex_unlock(&p->lock);
	name_list_free(&paths);
	return rc;
}

void daemon_cache_flush(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct daemon_cache_hooks h = p->cache;
	pthread_mutex_unlock(&p->lock);
	if (h.flush)
		h.flush(h.ctx);
}
