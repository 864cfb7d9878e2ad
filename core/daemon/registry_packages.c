/* registry_packages: the registry's index of the kept packages (state/packages), from
 * which repo/ and versions/ answer; rebuilt (without p->lock) whenever a job or a
 * removal ends, and only when its files changed; one rebuild at a time (repo_build:
 * the worker and the remover both end jobs). */
#include "registry.h"
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

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
