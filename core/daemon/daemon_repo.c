/* daemon_repo: the kept packages as the daemon shows them: MOUNT/repo/ (an APT
 * repository, apt_repo.h) and MOUNT/<ns>/<name>/versions/. Both answer from one index
 * in memory, rebuilt (without p->lock) whenever a job or a removal ends. */
#include "daemon_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Under p->lock: the versions/ of every plugin r keeps packages of. */
static void versions_changed(struct daemon *p, const struct apt_repo *r)
{
	for (size_t i = 0; i < r->n; i++) {
		char name[256], ns[256];
		if (dpkg_split_package(r->pkgs[i].package, name, sizeof(name), ns, sizeof(ns)) == 0)
			daemon_plugin_changed(p, ns, name);
	}
}

void daemon_repo_refresh(struct daemon *p)
{
	const char *dir = p->packages_dir;
	pthread_mutex_lock(&p->repo_build);
	struct apt_repo fresh;
	struct strbuf warn = STRBUF_INIT;
	struct error err = ERROR_INIT;
	/* p->repo only changes under repo_build, which this thread holds: read it freely */
	int rc = apt_repo_build(dir, &p->repo, time(NULL), &fresh, &warn);
	if (warn.len)
		syslog(LOG_WARNING, "%s", warn.buf);
	if (rc) {
		syslog(LOG_ERR, "cannot index %s for repo/: %s", dir, strerror(-rc));
	} else if (p->repo_built && apt_repo_same_files(&fresh, &p->repo)) {
		apt_repo_free(&fresh); /* nothing changed: the signed Release stays */
	} else {
		if (p->cfg.sign_key[0] &&
		    apt_repo_sign(&fresh, p->cfg.sign_key, p->cfg.job_timeout, &err))
			syslog(LOG_ERR, "repo/ stays unsigned: signing with key '%s' failed: %s",
			       p->cfg.sign_key, err.msg.buf ? err.msg.buf : "");
		pthread_mutex_lock(&p->lock);
		struct apt_repo old = p->repo;
		p->repo = fresh;
		p->repo_built = 1;
		daemon_repo_changed(p);
		versions_changed(p, &old);
		versions_changed(p, &p->repo);
		pthread_mutex_unlock(&p->lock);
		apt_repo_free(&old);
	}
	pthread_mutex_unlock(&p->repo_build);
	strbuf_release(&warn);
	error_release(&err);
}

struct timespec daemon_repo_mtime(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct timespec t = p->repo.built;
	pthread_mutex_unlock(&p->lock);
	return t;
}

int daemon_repo_list(struct daemon *p, const char *rel, struct name_list *out)
{
	pthread_mutex_lock(&p->lock);
	int rc = apt_repo_list(&p->repo, rel, out);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Under p->lock: a view of a package file of the index (opened by name in its dir). */
static int open_package(struct daemon *p, const char *file, struct view *v)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", p->repo.dir, file);
	v->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return v->fd < 0 ? -errno : 0;
}

int daemon_repo_open(struct daemon *p, const char *rel, struct view *v)
{
	view_init(v);
	const struct strbuf *text = NULL;
	const char *file = NULL;
	int rc = -ENOENT;
	pthread_mutex_lock(&p->lock);
	switch (apt_repo_lookup(&p->repo, rel, &text, &file)) {
	case REPO_DIR: rc = -EISDIR; break;
	case REPO_FILE: rc = open_package(p, file, v); break;
	case REPO_TEXT:
		v->buf = malloc(text->len + 1);
		rc = v->buf ? 0 : -ENOMEM;
		if (v->buf) {
			memcpy(v->buf, text->buf ? text->buf : "", text->len);
			v->len = text->len;
			v->mtime = p->repo.built;
		}
		break;
	case REPO_NONE: break;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Under p->lock: 1 when the kept package pkg is a version of package (its control
 * file's name). */
static int is_version_of(const struct repo_package *pkg, const char *package)
{
	return strcmp(pkg->package, package) == 0;
}

int daemon_list_versions(struct daemon *p, const char *ns, const char *name, struct name_list *out)
{
	char package[300];
	plugin_package_name(name, ns, package, sizeof(package));
	pthread_mutex_lock(&p->lock);
	int known = find_job_for_plugin(p, ns, name) || find_installed(p, ns, name);
	for (size_t i = 0; known && i < p->repo.n; i++)
		if (is_version_of(&p->repo.pkgs[i], package))
			name_list_add(out, p->repo.pkgs[i].file);
	pthread_mutex_unlock(&p->lock);
	return known ? 0 : -ENOENT;
}

int daemon_version_open(struct daemon *p, const char *ns, const char *name, const char *file,
			struct view *v)
{
	view_init(v);
	char package[300];
	plugin_package_name(name, ns, package, sizeof(package));
	int rc = -ENOENT;
	pthread_mutex_lock(&p->lock);
	int known = find_job_for_plugin(p, ns, name) || find_installed(p, ns, name);
	for (size_t i = 0; known && i < p->repo.n; i++)
		if (is_version_of(&p->repo.pkgs[i], package) &&
		    strcmp(p->repo.pkgs[i].file, file) == 0)
			rc = open_package(p, file, v);
	pthread_mutex_unlock(&p->lock);
	return rc;
}
