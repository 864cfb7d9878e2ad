/* registry_installed: the registry's records of installed plugins, read from dpkg's
 * database (the one source of truth for what is installed) and read again when its
 * status file changes; a change is told to fs/ plugin by plugin. */
#include "base/fsutil.h"
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
	int rc = dpkg_list_plugins(p->cfg.root, &list, &n);
	if (rc) {
		syslog(LOG_WARNING, "reading the dpkg database under %s failed: %s", p->cfg.root,
		       strerror(-rc));
		return;
	}
	struct plugin_index idx;
	plugin_index_build(&idx, list, n); /* without it, a binary search */
	struct rendered_text *texts = calloc(n ? n : 1, sizeof(*texts)); /* NULL: not kept */
	pthread_mutex_lock(&p->lock);
	struct installed_plugin *old = p->installed;
	size_t n_old = p->n_installed;
	struct plugin_index old_idx = p->installed_index;
	struct rendered_text *old_texts = p->installed_status;
	p->installed = list;
	p->n_installed = n;
	p->installed_index = idx;
	p->installed_status = texts;
	installed_changed(p, old, n_old, list, n);
	if (have_before) {
		p->dpkg_seen = before;
		if (before.st_mtim.tv_sec > p->tree_changed.tv_sec)
			p->tree_changed = before.st_mtim;
	}
	pthread_mutex_unlock(&p->lock);
	rendered_texts_free(old_texts, n_old);
	dpkg_free_plugins(old, n_old);
	plugin_index_free(&old_idx);
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
