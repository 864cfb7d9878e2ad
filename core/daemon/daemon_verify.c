/* daemon_verify: the view MOUNT/<ns>/<name>/verify: the installed plugin's files
 * against its package's checksums (plugin/pkg_verify), computed at each call. It reads
 * every file of the package, so fs/ calls it from a thread of its own, never from a
 * request thread. */
#include "plugin/pkg_verify.h"
#include "registry.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int daemon_verify(struct daemon *p, const char *ns, const char *name, struct view *v)
{
	char package[256];
	view_init(v);
	pthread_mutex_lock(&p->lock);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	int installed = ip && dpkg_is_installed(ip);
	if (installed)
		snprintf(package, sizeof(package), "%s", ip->package);
	pthread_mutex_unlock(&p->lock);
	if (!installed)
		return -ENOENT;
	struct strbuf sb = STRBUF_INIT;
	struct error err = ERROR_INIT;
	int rc = package_verify(p->cfg.root, package, &sb, &err);
	if (rc) /* said in the view: the read succeeds and tells why */
		strbuf_addf(&sb, "cannot verify: %s\n", error_msg(&err));
	error_release(&err);
	clock_gettime(CLOCK_REALTIME, &v->mtime);
	v->buf = strbuf_detach(&sb, &v->len);
	if (!v->buf)
		v->buf = calloc(1, 1);
	return v->buf ? 0 : -ENOMEM;
}
