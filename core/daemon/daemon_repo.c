/* daemon_repo: the views of the kept packages: MOUNT/repo/ (an APT repository,
 * apt_repo.h) and MOUNT/<ns>/<name>/versions/. Both answer from the registry's index
 * (registry_packages.c). */
#include "base/fsutil.h"
#include "registry.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

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
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/%s", p->repo.dir, file))
		return -ENAMETOOLONG;
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
