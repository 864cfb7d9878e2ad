/* deb_items: what a package's data.tar holds, in name order: the tree's entries (by
 * lstat; under fakeroot, with the owners `rules package` gave them) and the entries
 * given in memory (struct deb_contents), with their missing parent directories. Read
 * once, before anything is written: Installed-Size, conffiles and md5sums come from it,
 * then data.tar is written from it, so the same tree always gives the same order. */
#ifndef WAZOFS_DEB_ITEMS_H
#define WAZOFS_DEB_ITEMS_H
#include "base/error.h"
#include "base/strbuf.h"
#include "deb_writer.h"
#include <sys/stat.h>

struct deb_item {
	char *path;  /* relative ("usr/share/x"); "" for the tree's root */
	mode_t mode; /* type and permissions */
	uid_t uid;   /* as lstat gave them (the tree's), 0 for memory's */
	gid_t gid;
	off_t size;		     /* a regular file's */
	char *link;		     /* a link's target (the tree's, read here) */
	const struct deb_entry *mem; /* an entry given in memory; NULL: the tree's */
};

struct deb_items {
	struct deb_item *v;
	size_t n, cap;
	int root_fd; /* the tree, opened: files are read below it, no link followed */
};

/* Reads rootdir and more into items, sorted by path. 0, or -errno with err saying
 * which entry (a type that cannot be packaged, a link where more's entries go). */
int deb_items_collect(const char *rootdir, const struct deb_contents *more, struct deb_items *items,
		      struct error *err);
void deb_items_release(struct deb_items *items);
/* Opens the regular file of item (a tree entry) for reading: the fd or -errno. */
int deb_item_open(const struct deb_items *items, const struct deb_item *item);
/* Installed-Size (KiB), conffiles (every regular file below etc/, "/path\n"), and
 * md5sums ("HEX  path\n" for every regular file, as dpkg --verify reads them). */
int deb_items_summary(const struct deb_items *items, unsigned long *installed_kb,
		      struct strbuf *conffiles, struct strbuf *md5sums, struct error *err);
#endif
