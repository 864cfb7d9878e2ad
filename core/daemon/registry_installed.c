/* registry_installed: the registry's records of installed plugins, read from dpkg's
 * database (the one source of truth for what is installed) and read again when its
 * status file changes; a change is told to fs/ plugin by plugin. */
#include "base/fsutil.h"
#include "plugin/plugin_package.h"
#include "plugin/source_store.h"
#include "plugin/wazo_version.h"
#include "registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

static int same_record(const struct installed_plugin *a, const struct installed_plugin *b)
{
	return strcmp(a->version, b->version) == 0 && strcmp(a->status, b->status) == 0 &&
	       a->installed_at.tv_sec == b->installed_at.tv_sec &&
	       a->installed_at.tv_nsec == b->installed_at.tv_nsec;
}

/* Under p->lock: tells fs/ about every plugin that differs between two sorted lists. */
static void installed_changed(struct daemon *p, const struct installed_plugin *a, size_t na,
			      const struct installed_plugin *b, size_t nb)
{
	size_t i = 0, k = 0;
	while (i < na || k < nb) {
		int c = i == na	  ? 1
			: k == nb ? -1
				  : dpkg_plugin_cmp(a[i].ns, a[i].name, b[k].ns, b[k].name);
		if (c < 0) {
			daemon_plugin_changed(p, a[i].ns, a[i].name);
			i++;
		} else if (c > 0) {
			daemon_plugin_changed(p, b[k].ns, b[k].name);
			k++;
		} else {
			if (!same_record(&a[i], &b[k])) {
				daemon_plugin_changed(p, a[i].ns, a[i].name);
				daemon_plugin_changed(p, b[k].ns, b[k].name);
			}
			i++, k++;
		}
	}
}

/* Frees the n kept status texts of an installed list that was replaced (texts may be
 * NULL). */
void rendered_texts_free(struct rendered_text *texts, size_t n)
{
	for (size_t i = 0; texts && i < n; i++)
		free(texts[i].text);
	free(texts);
}

void installed_extras_free(struct installed_extra *x, size_t n)
{
	for (size_t i = 0; x && i < n; i++) {
		free(x[i].min_wazo);
		free(x[i].max_wazo);
	}
	free(x);
}

const struct installed_extra *installed_extra_of(struct daemon *p,
						 const struct installed_plugin *ip)
{
	static const struct installed_extra none = { .compatible = -1 };
	return p->installed_extra ? &p->installed_extra[ip - p->installed] : &none;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* The source's SHA-256 the installed package's build info says, into out ("" none). */
static void buildinfo_sha256(struct daemon *p, const struct installed_plugin *ip, char *out,
			     size_t len)
{
	char path[PATH_MAX];
	struct strbuf sb = STRBUF_INIT;
	out[0] = 0;
	if (path_fmt(path, sizeof(path), "%s/usr/share/doc/%s/" PLUGIN_BUILDINFO,
		     strcmp(p->cfg.root, "/") ? p->cfg.root : "", ip->package) == 0 &&
	    strbuf_read_file(&sb, path, 1 << 16) == 0) {
		const char *v = strstr(sb.buf, "\nSource-SHA256: ");
		if (v && strspn(v + 16, "0123456789abcdef") == 64)
			snprintf(out, len, "%.64s", v + 16);
	}
	strbuf_release(&sb);
}

/* The extra of ip, read from its metadata under root and its kept source. */
static void read_extra(struct daemon *p, const struct installed_plugin *ip,
		       struct installed_extra *x)
{
	char path[PATH_MAX];
	struct plugin_meta m = { 0 };
	struct error err = ERROR_INIT;
	x->compatible = -1;
	if (path_fmt(path, sizeof(path), "%s/" PLUGINS_DIR "/%s/%s/wazo/plugin.yml",
		     strcmp(p->cfg.root, "/") ? p->cfg.root : "", ip->ns, ip->name) == 0 &&
	    plugin_meta_load(path, NULL, &m, &err) == 0) {
		x->min_wazo = dup_or_null(m.min_wazo_version);
		x->max_wazo = dup_or_null(m.max_wazo_version);
	}
	plugin_meta_destroy(&m);
	error_release(&err);
	buildinfo_sha256(p, ip, x->source_sha256, sizeof(x->source_sha256));
	source_lookup(p->cfg.state, ip->ns, ip->name, ip->version, x->origin, sizeof(x->origin),
		      NULL, &x->has_source);
}

/* The extras of list: an unchanged record's from the old list, else read. NULL when
 * out of memory. */
static struct installed_extra *read_extras(struct daemon *p, const struct installed_plugin *list,
					   size_t n, const struct installed_plugin *old,
					   const struct installed_extra *old_x, size_t n_old)
{
	struct installed_extra *x = calloc(n ? n : 1, sizeof(*x));
	for (size_t i = 0, k = 0; x && i < n; i++) {
		while (k < n_old &&
		       dpkg_plugin_cmp(old[k].ns, old[k].name, list[i].ns, list[i].name) < 0)
			k++;
		if (old_x && k < n_old && same_record(&old[k], &list[i]) &&
		    dpkg_plugin_cmp(old[k].ns, old[k].name, list[i].ns, list[i].name) == 0) {
			/* what read_extra read (its compatibility is judged under the lock) */
			x[i].compatible = -1;
			x[i].min_wazo = dup_or_null(old_x[k].min_wazo);
			x[i].max_wazo = dup_or_null(old_x[k].max_wazo);
			x[i].has_source = old_x[k].has_source;
			memcpy(x[i].origin, old_x[k].origin, sizeof(x[i].origin));
			memcpy(x[i].source_sha256, old_x[k].source_sha256,
			       sizeof(x[i].source_sha256));
		} else
			read_extra(p, &list[i], &x[i]);
	}
	return x;
}

/* Under p->lock: x's compatibility with the running version; 1 when it changed. */
static int judge(struct daemon *p, struct installed_extra *x)
{
	int was = x->compatible;
	char reason[sizeof(x->reason)];
	if (!p->wazo_version[0])
		x->compatible = -1, reason[0] = 0;
	else
		x->compatible = wazo_version_fits(x->min_wazo, x->max_wazo, p->wazo_version, reason,
						  sizeof(reason));
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
	return was != x->compatible;
}

/* Under p->lock: every installed plugin judged again; a change is told (fs/ drops its
 * text, events gets a line) when tell. */
static void judge_all(struct daemon *p, int tell)
{
	for (size_t i = 0; p->installed_extra && i < p->n_installed; i++) {
		struct installed_extra *x = &p->installed_extra[i];
		int was = x->compatible;
		if (!judge(p, x) || !tell)
			continue;
		const struct installed_plugin *ip = &p->installed[i];
		if (p->installed_status && p->installed_status[i].text) {
			free(p->installed_status[i].text);
			p->installed_status[i].text = NULL;
		}
		daemon_plugin_changed(p, ip->ns, ip->name);
		if (was >= 0 && x->compatible >= 0)
			daemon_compat_event(p, ip, x);
	}
}

/* Under p->lock: a plugin of the new list whose compatibility differs from its record
 * in the old one (an upgrade to a version that does not fit, say) gets its event. */
static void tell_compat_changes(struct daemon *p, const struct installed_plugin *old,
				const struct installed_extra *old_x, size_t n_old)
{
	for (size_t i = 0, k = 0; old_x && p->installed_extra && i < p->n_installed; i++) {
		const struct installed_plugin *ip = &p->installed[i];
		while (k < n_old && dpkg_plugin_cmp(old[k].ns, old[k].name, ip->ns, ip->name) < 0)
			k++;
		if (k < n_old && dpkg_plugin_cmp(old[k].ns, old[k].name, ip->ns, ip->name) == 0 &&
		    old_x[k].compatible >= 0 && p->installed_extra[i].compatible >= 0 &&
		    old_x[k].compatible != p->installed_extra[i].compatible)
			daemon_compat_event(p, ip, &p->installed_extra[i]);
	}
}

void registry_wazo_version(struct daemon *p, char *out, size_t len)
{
	pthread_mutex_lock(&p->lock);
	snprintf(out, len, "%s", p->wazo_version);
	pthread_mutex_unlock(&p->lock);
}

int registry_set_wazo_version(struct daemon *p, const char *version, const char *error)
{
	pthread_mutex_lock(&p->lock);
	char old[sizeof(p->wazo_version)];
	snprintf(old, sizeof(old), "%s", p->wazo_version);
	int changed = 0;
	snprintf(p->wazo_error, sizeof(p->wazo_error), "%s", version ? "" : error);
	if (version && strcmp(version, old)) {
		snprintf(p->wazo_version, sizeof(p->wazo_version), "%s", version);
		daemon_wazo_event(p, old, version);
		judge_all(p, 1);
		daemon_market_changed(p); /* what the market offers depends on it */
		changed = old[0] != 0;
	}
	clock_gettime(CLOCK_REALTIME, &p->tree_changed); /* MOUNT/status says it */
	pthread_mutex_unlock(&p->lock);
	return changed;
}

void refresh_installed(struct daemon *p)
{
	/* the status file as it was before the query: a change made during it is seen
	 * by the loop's next look, and the state read here is not read twice */
	struct stat before;
	char status[PATH_MAX];
	dpkg_status_path(p->cfg.root, status, sizeof(status));
	int have_before = stat(status, &before) == 0;
	struct installed_plugin *list;
	size_t n;
	pthread_mutex_lock(&p->refresh_lock);
	int rc = dpkg_list_plugins(p->cfg.root, &list, &n);
	if (rc) {
		pthread_mutex_unlock(&p->refresh_lock);
		syslog(LOG_WARNING, "reading the dpkg database under %s failed: %s", p->cfg.root,
		       strerror(-rc));
		return;
	}
	struct plugin_index idx;
	plugin_index_build(&idx, list, n); /* without it, a binary search */
	struct rendered_text *texts = calloc(n ? n : 1, sizeof(*texts)); /* NULL: not kept */
	/* the old list is replaced under refresh_lock alone, which this thread holds: read
	 * without the lock */
	pthread_mutex_lock(&p->lock);
	struct installed_plugin *seen = p->installed;
	struct installed_extra *seen_x = p->installed_extra;
	size_t n_seen = p->n_installed;
	struct installed_extra *extras = NULL;
	pthread_mutex_unlock(&p->lock);
	extras = read_extras(p, list, n, seen, seen_x, n_seen);
	pthread_mutex_lock(&p->lock);
	struct installed_plugin *old = p->installed;
	size_t n_old = p->n_installed;
	struct plugin_index old_idx = p->installed_index;
	struct rendered_text *old_texts = p->installed_status;
	struct installed_extra *old_x = p->installed_extra;
	p->installed = list;
	p->n_installed = n;
	p->installed_index = idx;
	p->installed_status = texts;
	p->installed_extra = extras;
	judge_all(p, 0);
	tell_compat_changes(p, old, old_x, n_old);
	installed_changed(p, old, n_old, list, n);
	if (have_before) {
		p->dpkg_seen = before;
		if (before.st_mtim.tv_sec > p->tree_changed.tv_sec)
			p->tree_changed = before.st_mtim;
	}
	pthread_mutex_unlock(&p->lock);
	rendered_texts_free(old_texts, n_old);
	installed_extras_free(old_x, n_old);
	dpkg_free_plugins(old, n_old);
	plugin_index_free(&old_idx);
	pthread_mutex_unlock(&p->refresh_lock);
}

/* Whether dpkg's status file changed since the last read of the database. */
int registry_dpkg_changed(struct daemon *p, const char *status)
{
	struct stat st;
	if (stat(status, &st) < 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	int changed = !file_state_same(&st, &p->dpkg_seen);
	pthread_mutex_unlock(&p->lock);
	return changed;
}

struct timespec daemon_tree_mtime(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct timespec t = p->tree_changed;
	pthread_mutex_unlock(&p->lock);
	return t;
}

/* Under p->lock. */
const struct installed_plugin *find_installed(struct daemon *p, const char *ns, const char *name)
{
	size_t i = plugin_index_find(&p->installed_index, p->installed, p->n_installed, ns, name);
	return i < p->n_installed ? &p->installed[i] : NULL;
}
