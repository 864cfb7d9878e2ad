/* daemon_cache: what a change touches, told to fs/ so the kernel's cache of it is
 * dropped (daemon_cache_hooks). The kernel keeps names and attributes for a while;
 * every change the daemon makes itself (a job, a dpkg run, the market, the kept
 * packages, a copy taken from incoming/) goes through here. */
#include "base/fsutil.h"
#include "registry.h"
#include <errno.h>
#include <string.h>

void daemon_set_cache_hooks(struct daemon *p, const struct daemon_cache_hooks *h)
{
	pthread_mutex_lock(&p->lock);
	p->cache = *h;
	pthread_mutex_unlock(&p->lock);
}

void daemon_plugin_changed(struct daemon *p, const char *ns, const char *name)
{
	if (ns[0] && p->cache.plugin)
		p->cache.plugin(p->cache.ctx, ns, name);
}

void daemon_job_paths_changed(struct daemon *p, const struct job *j)
{
	if (p->cache.job)
		p->cache.job(p->cache.ctx, j->entry);
	daemon_plugin_changed(p, j->st.ns, j->st.name);
}

void daemon_market_changed(struct daemon *p)
{
	if (p->cache.market)
		p->cache.market(p->cache.ctx);
}

void daemon_repo_changed(struct daemon *p)
{
	if (p->cache.repo)
		p->cache.repo(p->cache.ctx);
}

int daemon_remove_copy(struct daemon *p, const char *entry)
{
	char dir[PATH_MAX];
	if (path_fmt(dir, sizeof(dir), "%s/%s", p->incoming, entry))
		return -ENAMETOOLONG;
	int rc = rm_rf(dir);
	pthread_mutex_lock(&p->lock);
	if (p->cache.copy_gone)
		p->cache.copy_gone(p->cache.ctx, entry);
	pthread_mutex_unlock(&p->lock);
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
