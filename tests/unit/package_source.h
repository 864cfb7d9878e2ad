/* package_source: the package of the plugin source at src (relative to the current
 * directory) with pkgdir as `rules package` left it, written by wazofs's packaging into a
 * new file at deb, as the pipeline does it (wazo/ read into a snapshot first). */
#ifndef WAZOFS_TEST_PACKAGE_SOURCE_H
#define WAZOFS_TEST_PACKAGE_SOURCE_H
#include "base/tree_snapshot.h"
#include "plugin/plugin_package.h"
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static inline int package_source(const struct plugin_meta *m, const char *src, const char *pkgdir,
				 const char *deb, struct error *err)
{
	char rel[1024];
	snprintf(rel, sizeof(rel), "%s/wazo", src);
	struct tree_snapshot wazo;
	int rc = tree_snapshot_take(AT_FDCWD, rel, 1 << 26, 10000, &wazo, err);
	if (rc)
		return rc;
	unlink(deb);
	int fd = open(deb, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	rc = fd < 0 ? -1 : plugin_package_write(m, &wazo, NULL, pkgdir, fd, NULL, err);
	if (fd >= 0)
		close(fd);
	tree_snapshot_release(&wazo);
	return rc;
}
#endif
