/* daemon_sources: the view of a plugin's kept source (MOUNT/<ns>/<name>/source/): the
 * tree kept for its installed version in STATE/sources, read by root through
 * descriptors that follow no link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so
 * a link the source holds is shown as a link and never leads anywhere. */
#include "base/fsutil.h"
#include "plugin/source_store.h"
#include "registry.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kept tree of ns/name's installed version, opened (O_PATH); -ENOENT for none. */
static int open_tree(struct daemon *p, const char *ns, const char *name)
{
	char version[128], tree[PATH_MAX];
	pthread_mutex_lock(&p->lock);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	int has = ip && dpkg_is_installed(ip) && installed_extra_of(p, ip)->has_source;
	if (has)
		snprintf(version, sizeof(version), "%s", ip->version);
	pthread_mutex_unlock(&p->lock);
	if (!has)
		return -ENOENT;
	int rc = source_tree_path(p->cfg.state, ns, name, version, tree, sizeof(tree));
	if (rc)
		return rc;
	int fd = open(tree, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* rel below the kept tree, opened with flags (O_PATH for a look); -errno. */
static int open_rel(struct daemon *p, const char *ns, const char *name, const char *rel, int flags)
{
	int tfd = open_tree(p, ns, name);
	if (tfd < 0 || !*rel) {
		if (tfd >= 0 && !(flags & O_PATH)) { /* the tree itself, opened for real */
			int fd = openat(tfd, ".", flags | O_CLOEXEC);
			close(tfd);
			return fd < 0 ? -errno : fd;
		}
		return tfd;
	}
	int fd = open_beneath(tfd, rel, flags, 0);
	close(tfd);
	return fd == -ELOOP ? -ENOENT : fd; /* a link on the way leads nowhere */
}

int daemon_source_stat(struct daemon *p, const char *ns, const char *name, const char *rel,
		       struct stat *st)
{
	int fd = open_rel(p, ns, name, rel, O_PATH);
	if (fd < 0)
		return fd;
	int rc = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int daemon_source_list(struct daemon *p, const char *ns, const char *name, const char *rel,
		       struct name_list *out)
{
	int fd = open_rel(p, ns, name, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			name_list_add(out, de->d_name);
	closedir(d);
	return 0;
}

int daemon_source_open(struct daemon *p, const char *ns, const char *name, const char *rel,
		       struct view *v)
{
	view_init(v);
	struct stat st;
	int rc = daemon_source_stat(p, ns, name, rel, &st);
	if (!rc && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (!rc && !S_ISREG(st.st_mode))
		rc = -EINVAL;
	if (rc)
		return rc;
	/* O_NONBLOCK: what is there now is a file, but never wait on anything else */
	int fd = open_rel(p, ns, name, rel, O_RDONLY | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -EIO;
	}
	if (fd < 0)
		return fd;
	v->fd = fd;
	v->mtime = st.st_mtim;
	return 0;
}

int daemon_source_readlink(struct daemon *p, const char *ns, const char *name, const char *rel,
			   char *buf, size_t len)
{
	int fd = open_rel(p, ns, name, rel, O_PATH);
	if (fd < 0)
		return fd;
	ssize_t n = readlinkat(fd, "", buf, len - 1);
	int rc = n < 0 ? (errno == ENOENT ? -EINVAL : -errno) : 0;
	close(fd);
	if (!rc)
		buf[n] = 0;
	return rc;
}
