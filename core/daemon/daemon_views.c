/* daemon_views: the read-only tree as the core sees it: namespaces, plugins and their
 * view files (status, plugin.yml, log, the package), market/ entries, and the
 * incoming/ENTRY.status and ENTRY.log of jobs. Everything answers from memory or one
 * local file; nothing waits on a job. */
#include "base/fsutil.h"
#include "plugin/plugin_package.h"
#include "registry.h"
#include "yaml/yaml11.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

void view_release(struct view *v)
{
	if (v->fd >= 0)
		close(v->fd);
	free(v->buf);
	view_init(v);
}

/* ---- the tree ---- */

/* A job shows in the tree under its namespace and name only when both are valid
 * tokens: a name that is not one (a request's "../..") never reaches a listing. */
static int job_listable(const struct job *j)
{
	return plugin_token_valid(j->st.ns, strlen(j->st.ns), 0) &&
	       plugin_token_valid(j->st.name, strlen(j->st.name), 1);
}

int daemon_list_namespaces(struct daemon *p, struct name_list *out)
{
	pthread_mutex_lock(&p->lock);
	/* installed plugins are sorted: each namespace starts where the previous ends */
	for (size_t i = 0; i < p->n_installed; i++)
		if (i == 0 || strcmp(p->installed[i].ns, p->installed[i - 1].ns))
			name_list_add(out, p->installed[i].ns);
	for (struct job *j = p->jobs; j; j = j->next)
		if (job_listable(j))
			name_list_add_unique(out, j->st.ns);
	for (size_t i = 0; i < p->empty_ns.n; i++)
		name_list_add_unique(out, p->empty_ns.v[i]);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int daemon_list_plugins(struct daemon *p, const char *ns, struct name_list *out)
{
	pthread_mutex_lock(&p->lock);
	int known = name_list_has(&p->empty_ns, ns);
	for (size_t i = plugin_lower_bound(p->installed, p->n_installed, ns, "");
	     i < p->n_installed && strcmp(p->installed[i].ns, ns) == 0; i++)
		known = 1, name_list_add(out, p->installed[i].name);
	for (struct job *j = p->jobs; j; j = j->next)
		if (strcmp(j->st.ns, ns) == 0 && job_listable(j))
			known = 1, name_list_add_unique(out, j->st.name);
	pthread_mutex_unlock(&p->lock);
	return known ? 0 : -ENOENT;
}

/* Under p->lock: when a plugin last changed (j or ip set): its job's last change, else
 * when dpkg installed it (the tree's time when that is unknown). */
static struct timespec plugin_changed_at(struct daemon *p, const struct job *j,
					 const struct installed_plugin *ip)
{
	if (j)
		return j->changed;
	return ip->installed_at.tv_sec ? ip->installed_at : p->tree_changed;
}

int daemon_plugin_mtime(struct daemon *p, const char *ns, const char *name, struct timespec *out)
{
	pthread_mutex_lock(&p->lock);
	struct job *j = find_job_for_plugin(p, ns, name);
	const struct installed_plugin *ip = j ? NULL : find_installed(p, ns, name);
	if (j || ip)
		*out = plugin_changed_at(p, j, ip);
	pthread_mutex_unlock(&p->lock);
	return j || ip ? 0 : -ENOENT;
}

/* Under p->lock: the package file kept in state for an installed plugin, if any (from
 * the index of state/packages that repo/ and versions/ answer from: no file system call
 * under the lock). */
static int deb_name(struct daemon *p, const char *ns, const char *name, char *out, size_t len)
{
	const struct installed_plugin *ip = find_installed(p, ns, name);
	if (!ip)
		return -ENOENT;
	plugin_deb_filename(name, ns, ip->version, out, len);
	return apt_repo_find(&p->repo, out) ? 0 : -ENOENT;
}

/* Where the metadata of an installed plugin is, under root. */
static void metadata_path(struct daemon *p, const char *ns, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/" PLUGINS_DIR "/%s/%s/wazo/plugin.yml",
		 strcmp(p->cfg.root, "/") ? p->cfg.root : "", ns, name);
}

int daemon_list_leaves(struct daemon *p, const char *ns, const char *name, struct name_list *out)
{
	char yml[PATH_MAX + 600];
	metadata_path(p, ns, name, yml, sizeof(yml));
	int has_yml_file = access(yml, F_OK) == 0;
	pthread_mutex_lock(&p->lock);
	struct job *j = find_job_for_plugin(p, ns, name);
	int known = j || find_installed(p, ns, name);
	if (known) {
		name_list_add(out, "status");
		/* only when there is one to show (a removal may have taken the file) */
		if ((j && j->plugin_yml) || has_yml_file)
			name_list_add(out, "plugin.yml");
		name_list_add(out, "log");
		name_list_add(out, "versions");
		const struct installed_plugin *ip = find_installed(p, ns, name);
		if (ip && dpkg_is_installed(ip) && installed_extra_of(p, ip)->has_source)
			name_list_add(out, "source");
		if (ip && dpkg_is_installed(ip))
			name_list_add(out, "verify");
		char deb[512];
		if (deb_name(p, ns, name, deb, sizeof(deb)) == 0)
			name_list_add(out, deb);
	}
	pthread_mutex_unlock(&p->lock);
	return known ? 0 : -ENOENT;
}

static int open_file_view(const char *path, struct view *v, int missing_is_empty)
{
	/* a regular file only, looked at before it is opened: an open of a FIFO (a state
	 * file gone wrong) would wait for a writer, and pair with the daemon's own */
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return -EIO;
	v->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (v->fd >= 0 && (fstat(v->fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(v->fd);
		v->fd = -1;
		return -EIO;
	}
	if (v->fd >= 0)
		return 0;
	if (errno == ENOENT && missing_is_empty) {
		v->buf = strdup("");
		return v->buf ? 0 : -ENOMEM;
	}
	return -errno;
}

/* Whether the installed version fits the running Wazo, into a status. */
static void set_fit(struct job_status *st, const struct installed_extra *x)
{
	st->compatible = x->compatible;
	snprintf(st->incompatible_reason, sizeof(st->incompatible_reason), "%s", x->reason);
}

/* busy: a dpkg run is under way, so a half-installed state is a step, not an error;
 * x: what dpkg does not say (its origin, its compatibility) */
static int status_of_installed(const struct installed_plugin *ip, const struct installed_extra *x,
			       int busy, struct strbuf *sb)
{
	struct job_status st;
	job_status_init(&st);
	snprintf(st.origin, sizeof(st.origin), "%s", x->origin);
	snprintf(st.source_sha256, sizeof(st.source_sha256), "%s", x->source_sha256);
	set_fit(&st, x);
	snprintf(st.ns, sizeof(st.ns), "%s", ip->ns);
	snprintf(st.name, sizeof(st.name), "%s", ip->name);
	snprintf(st.version, sizeof(st.version), "%s", ip->version);
	snprintf(st.package, sizeof(st.package), "%s", ip->package);
	if (dpkg_is_installed(ip)) {
		st.state = JOB_STATE_INSTALLED;
		st.step = STEP_COMPLETED;
	} else if (busy) {
		st.step = STEP_INSTALLING;
	} else {
		st.step = STEP_INSTALLING;
		job_status_fail(&st, "install-error", "Installation error", NULL,
				"dpkg reports the package as '%s', not installed", ip->status);
	}
	job_status_render(&st, sb);
	job_status_destroy(&st);
	return sb->oom ? -ENOMEM : 0;
}

/* Under p->lock: the status text of ip, installed, into sb (sb->oom on failure). It is
 * rendered at its first read and kept beside the installed list: the record does not
 * change until a refresh replaces the list, and the kept texts with it. */
static void installed_status_text(struct daemon *p, const struct installed_plugin *ip,
				  struct strbuf *sb)
{
	struct rendered_text *kept =
	    p->installed_status ? &p->installed_status[ip - p->installed] : NULL;
	if (kept && kept->text) {
		strbuf_add(sb, kept->text, kept->len);
		return;
	}
	if (status_of_installed(ip, installed_extra_of(p, ip), 0, sb) || !kept)
		return;
	kept->text = malloc(sb->len + 1);
	if (kept->text) {
		memcpy(kept->text, sb->buf, sb->len + 1);
		kept->len = sb->len;
	}
}

/* Under p->lock: the status text of j. A job that failed leaves the plugin installed
 * (an older version, or a rebuild refused): its status keeps saying whether that one fits
 * the running Wazo, and the text is dropped when that changes (judge_all). */
static void job_status_text(struct daemon *p, const struct job *j,
			    const struct installed_plugin *ip, struct strbuf *sb)
{
	struct job_status st = j->st; /* a shallow copy: details stays the job's */
	if (st.state == JOB_STATE_ERROR && st.compatible < 0 && ip && dpkg_is_installed(ip))
		set_fit(&st, installed_extra_of(p, ip));
	job_status_render(&st, sb);
}

/* Under p->lock: the status view of a plugin (its job's, or the installed one's). */
static int status_view(struct daemon *p, const struct job *j, const struct installed_plugin *ip,
		       struct view *v)
{
	struct strbuf sb = STRBUF_INIT;
	/* a package dpkg has not finished with also depends on whether dpkg runs */
	v->cacheable = j || dpkg_is_installed(ip);
	v->mtime = plugin_changed_at(p, j, ip);
	if (j)
		job_status_text(p, j, ip, &sb);
	else if (dpkg_is_installed(ip))
		installed_status_text(p, ip, &sb);
	else
		status_of_installed(ip, installed_extra_of(p, ip), dpkg_busy(p->cfg.root), &sb);
	int rc = sb.oom ? -ENOMEM : 0;
	v->buf = strbuf_detach(&sb, &v->len);
	return rc;
}

int daemon_view_open(struct daemon *p, const char *ns, const char *name, const char *leaf,
		     struct view *v)
{
	view_init(v);
	char path[PATH_MAX + 600];
	int rc = -ENOENT;
	pthread_mutex_lock(&p->lock);
	struct job *j = find_job_for_plugin(p, ns, name);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	if (!j && !ip) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	if (strcmp(leaf, "status") == 0) {
		rc = status_view(p, j, ip, v);
	} else if (strcmp(leaf, "verify") == 0 && ip && dpkg_is_installed(ip)) {
		/* computed at its open only (daemon_verify): here its name, empty, now */
		clock_gettime(CLOCK_REALTIME, &v->mtime);
		v->buf = calloc(1, 1);
		rc = v->buf ? 0 : -ENOMEM;
	} else if (strcmp(leaf, "plugin.yml") == 0 && j && j->plugin_yml) {
		v->cacheable = 1;
		v->mtime = j->changed;
		v->buf = malloc(j->plugin_yml_len + 1);
		if (v->buf) {
			memcpy(v->buf, j->plugin_yml, j->plugin_yml_len);
			v->len = j->plugin_yml_len;
			rc = 0;
		} else
			rc = -ENOMEM;
	} else if (strcmp(leaf, "plugin.yml") == 0) {
		metadata_path(p, ns, name, path, sizeof(path));
		v->cacheable = 1; /* replaced only by a dpkg run, which is told */
		rc = 1;
	} else if (strcmp(leaf, "log") == 0) {
		if (j)
			snprintf(path, sizeof(path), "%s", j->log_path);
		else
			plugin_log_path(p, ns, name, path, sizeof(path));
		rc = 2;
	} else {
		char deb[512];
		if (deb_name(p, ns, name, deb, sizeof(deb)) == 0 && strcmp(deb, leaf) == 0)
			rc = path_fmt(path, sizeof(path), "%s/packages/%s", p->cfg.state, deb) ? 0
											       : 1;
	}
	pthread_mutex_unlock(&p->lock);
	if (rc > 0)
		rc = open_file_view(path, v, rc == 2);
	return rc;
}

int daemon_mkdir_namespace(struct daemon *p, const char *ns)
{
	if (!plugin_token_valid(ns, strlen(ns), 0))
		return -EINVAL;
	struct name_list all = { 0 };
	daemon_list_namespaces(p, &all);
	int exists = name_list_has(&all, ns);
	name_list_free(&all);
	if (exists)
		return -EEXIST;
	pthread_mutex_lock(&p->lock);
	int rc = name_list_add_unique(&p->empty_ns, ns);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int daemon_rmdir_namespace(struct daemon *p, const char *ns)
{
	struct name_list plugins = { 0 };
	int rc = daemon_list_plugins(p, ns, &plugins);
	size_t n = plugins.n;
	name_list_free(&plugins);
	if (rc)
		return rc;
	if (n)
		return -ENOTEMPTY;
	pthread_mutex_lock(&p->lock);
	name_list_remove(&p->empty_ns, ns);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ---- market/ ---- */

int daemon_market_list(struct daemon *p, const char *ns, struct name_list *out)
{
	pthread_mutex_lock(&p->lock);
	int known = !ns;
	for (size_t i = 0; p->market && i < p->market->n_items; i++) {
		const struct market_item *it = &p->market->items[i];
		if (!ns)
			name_list_add_unique(out, it->ns);
		else if (strcmp(it->ns, ns) == 0)
			known = 1, name_list_add_unique(out, it->name);
	}
	int has_market = p->market != NULL;
	pthread_mutex_unlock(&p->lock);
	return has_market && known ? 0 : -ENOENT;
}

int daemon_market_info(struct daemon *p, const char *ns, const char *name, struct view *v)
{
	struct strbuf sb = STRBUF_INIT;
	view_init(v);
	pthread_mutex_lock(&p->lock);
	const struct market_item *it = market_find(p->market, ns, name);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	if (it)
		market_info_render(it, ip && dpkg_is_installed(ip) ? ip->version : NULL,
				   p->wazo_version, &sb);
	v->mtime = p->market_seen.st_mtim;
	v->cacheable = 1;
	pthread_mutex_unlock(&p->lock);
	if (!it)
		return -ENOENT;
	v->buf = strbuf_detach(&sb, &v->len);
	return v->buf ? 0 : -ENOMEM;
}

/* ---- MOUNT/status, MOUNT/history ---- */

static void render_queued(struct strbuf *sb)
{
	struct job_status st;
	job_status_init(&st);
	st.state = JOB_STATE_QUEUED;
	job_status_render(&st, sb);
	job_status_destroy(&st);
}

/* Under p->lock: the jobs of the list (newest first) as overview items, oldest first;
 * a finished one (installed, about to go) is not a job any more. Returns how many. */
static size_t add_jobs_oldest_first(struct strbuf *sb, const struct job *j)
{
	if (!j)
		return 0;
	size_t n = add_jobs_oldest_first(sb, j->next);
	if (j->phase != JOB_QUEUED && j->st.state == JOB_STATE_INSTALLED)
		return n;
	char plugin[200];
	snprintf(plugin, sizeof(plugin), "%s/%s", j->st.ns, j->st.name);
	strbuf_addf(sb, "  -\n");
	if (j->entry[0])
		y11_add_kv(sb, 4, "entry", j->entry);
	if (j->st.name[0])
		y11_add_kv(sb, 4, "plugin", plugin);
	y11_add_kv(sb, 4, "state",
		   job_state_name(j->phase == JOB_QUEUED ? JOB_STATE_QUEUED : j->st.state));
	y11_add_kv(sb, 4, "step", job_step_name(j->st.step));
	return n + 1;
}

/* Under p->lock: the running Wazo version, where it comes from, why the file's last
 * read was refused; the installed plugins it does not fit, and those that have no kept
 * source (wazo-plugind's, a package's, apt's: to fetch again after an upgrade). */
static void add_wazo_fields(struct daemon *p, struct strbuf *sb)
{
	y11_add_kv(sb, 0, "wazo_version", p->wazo_version);
	y11_add_kv(sb, 0, "wazo_version_from",
		   p->cfg.wazo_version_from[0] ? p->cfg.wazo_version_from
		   : p->wazo_version[0]	       ? "file"
					       : "none");
	if (p->wazo_error[0])
		y11_add_kv(sb, 0, "wazo_version_error", p->wazo_error);
	const char *keys[] = { "incompatible", "without_source" };
	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		for (size_t i = 0; i < p->n_installed; i++) {
			const struct installed_plugin *ip = &p->installed[i];
			const struct installed_extra *x = installed_extra_of(p, ip);
			if (!dpkg_is_installed(ip) || (k == 0 ? x->compatible != 0 : x->has_source))
				continue;
			if (n++ == 0)
				strbuf_addf(sb, "%s:\n", keys[k]);
			strbuf_addf(sb, "  - %s/%s\n", ip->ns, ip->name);
		}
		if (!n)
			strbuf_addf(sb, "%s: []\n", keys[k]);
	}
}

int daemon_overview_open(struct daemon *p, struct view *v)
{
	struct strbuf sb = STRBUF_INIT;
	view_init(v);
	pthread_mutex_lock(&p->lock);
	size_t installed = 0;
	for (size_t i = 0; i < p->n_installed; i++)
		installed += dpkg_is_installed(&p->installed[i]);
	v->mtime = p->tree_changed;
	y11_add_kv(&sb, 0, "wazofs_version", WAZOFS_VERSION);
	y11_add_kv(&sb, 0, "root", p->cfg.root);
	y11_add_kv(&sb, 0, "state", p->cfg.state);
	add_wazo_fields(p, &sb);
	strbuf_addf(&sb, "plugins_installed: %zu\n", installed);
	/* repo/: how many packages it serves, and whether InRelease is signed (a sign_key
	 * that gpg cannot use leaves it unsigned: syslog says why) */
	strbuf_addf(&sb, "repo_packages: %zu\nrepo_signed: %s\n", p->repo.n,
		    p->repo.inrelease.len ? "true" : "false");
	struct strbuf items = STRBUF_INIT;
	size_t n = add_jobs_oldest_first(&items, p->jobs);
	for (size_t i = 0; i < p->queue.n; i++) {
		if (find_job_for_entry(p, p->queue.v[i]))
			continue;
		strbuf_addf(&items, "  -\n");
		y11_add_kv(&items, 4, "entry", p->queue.v[i]);
		y11_add_kv(&items, 4, "state", job_state_name(JOB_STATE_QUEUED));
		y11_add_kv(&items, 4, "step", job_step_name(STEP_STARTING));
		n++;
	}
	strbuf_addf(&sb, "jobs:%s\n", n ? "" : " []");
	if (items.len)
		strbuf_add(&sb, items.buf, items.len);
	sb.oom |= items.oom;
	strbuf_release(&items);
	pthread_mutex_unlock(&p->lock);
	v->buf = strbuf_detach(&sb, &v->len);
	return v->buf ? 0 : -ENOMEM;
}

int daemon_history_open(struct daemon *p, struct view *v)
{
	char path[PATH_MAX];
	view_init(v);
	int rc = path_fmt(path, sizeof(path), "%s/history", p->cfg.state);
	return rc ? rc : open_file_view(path, v, 1);
}

/* ---- incoming/ views ---- */

int daemon_incoming_virtual(struct daemon *p, struct name_list *out)
{
	char name[NAME_MAX + 16];
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->queue.n; i++) {
		snprintf(name, sizeof(name), "%s.status", p->queue.v[i]);
		name_list_add_unique(out, name);
	}
	for (struct job *j = p->jobs; j; j = j->next) {
		if (!j->entry[0])
			continue;
		snprintf(name, sizeof(name), "%s.status", j->entry);
		name_list_add_unique(out, name);
		snprintf(name, sizeof(name), "%s.log", j->entry);
		name_list_add_unique(out, name);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Splits "ENTRY.status" / "ENTRY.log"; returns the job under p->lock or NULL. */
static struct job *virtual_job(struct daemon *p, const char *fname, int *is_status)
{
	char entry[NAME_MAX + 1];
	size_t n = strlen(fname);
	if (n > 7 && strcmp(fname + n - 7, ".status") == 0)
		*is_status = 1, n -= 7;
	else if (n > 4 && strcmp(fname + n - 4, ".log") == 0)
		*is_status = 0, n -= 4;
	else
		return NULL;
	if (n >= sizeof(entry))
		return NULL;
	memcpy(entry, fname, n);
	entry[n] = 0;
	return find_job_for_entry(p, entry);
}

int daemon_incoming_view_open(struct daemon *p, const char *fname, struct view *v)
{
	int is_status;
	char path[PATH_MAX];
	view_init(v);
	pthread_mutex_lock(&p->lock);
	struct job *j = virtual_job(p, fname, &is_status);
	size_t flen = strlen(fname);
	if (!j && flen > 7 && strcmp(fname + flen - 7, ".status") == 0) {
		/* a copy waiting behind another job */
		char entry[NAME_MAX + 1];
		snprintf(entry, sizeof(entry), "%.*s", (int)(flen - 7), fname);
		if (name_list_has(&p->queue, entry)) {
			struct strbuf sb = STRBUF_INIT;
			render_queued(&sb);
			v->mtime = p->tree_changed;
			pthread_mutex_unlock(&p->lock);
			v->buf = strbuf_detach(&sb, &v->len);
			return v->buf ? 0 : -ENOMEM;
		}
	}
	if (!j) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	if (is_status) {
		struct strbuf sb = STRBUF_INIT;
		job_status_render(&j->st, &sb);
		v->mtime = j->changed;
		v->cacheable = 1;
		v->buf = strbuf_detach(&sb, &v->len);
		pthread_mutex_unlock(&p->lock);
		return v->buf ? 0 : -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s", j->log_path);
	pthread_mutex_unlock(&p->lock);
	return open_file_view(path, v, 1);
}

int daemon_incoming_virtual_unlink(struct daemon *p, const char *fname)
{
	int is_status;
	char entry[NAME_MAX + 1];
	pthread_mutex_lock(&p->lock);
	struct job *j = virtual_job(p, fname, &is_status);
	if (!j || !is_status) {
		pthread_mutex_unlock(&p->lock);
		return j ? 0 : -ENOENT; /* ENTRY.log: nothing to do */
	}
	if (j->phase == JOB_RUNNING) {
		pthread_mutex_unlock(&p->lock);
		return -EBUSY;
	}
	snprintf(entry, sizeof(entry), "%s", j->entry);
	drop_job(p, j, 0);
	pthread_mutex_unlock(&p->lock);
	registry_flush_files(p);
	registry_copy_forget(p, entry);
	int rc = daemon_remove_copy(p, entry);
	/* the kernel's names and attributes of the copy go before rm returns: a look at
	 * incoming/ENTRY right after it finds nothing (bounded wait, as at a job's end) */
	daemon_cache_flush(p);
	return rc;
}
