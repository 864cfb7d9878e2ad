/* deb_writer: writes a Debian binary package with libarchive: an ar archive of
 * debian-binary, control.tar.gz (control, conffiles, md5sums, the maintainer scripts)
 * and data.tar.xz, its entries in name order, every time the source's date: the same
 * tree gives the same bytes.
 * The package is built under a temporary name beside the destination, fsync'ed and
 * renamed into place. */
#ifndef WAZOFS_DEB_WRITER_H
#define WAZOFS_DEB_WRITER_H
#include "base/error.h"
#include "base/strbuf.h"
#include <sys/types.h>
#include <time.h>

struct deb_control {
	const char *package, *version, *maintainer, *section, *priority;
	const char *depends;	 /* "a, b (>= 1)" or NULL */
	const char *description; /* first line is the synopsis; may hold more lines */
	/* every time written in the package (ar members, tar entries): the source's date
	 * (SOURCE_DATE_EPOCH); 0: now */
	time_t source_date;
};

struct deb_scripts {
	const char *postinst, *prerm, *postrm; /* script texts, or NULL */
};

/* An entry of the package given in memory rather than read from the tree (the plugin's
 * wazo/ and the doc files): root:root. path is relative ("usr/share/x"); data is a
 * file's content or a link's target. */
struct deb_entry {
	const char *path;
	mode_t mode; /* S_IFREG, S_IFDIR or S_IFLNK, and the permissions */
	const char *data;
	size_t len;
};
/* What deb_write_fd adds to the tree and how it reads it. */
struct deb_contents {
	const struct deb_entry *entries; /* added after the tree's; their missing parent
					    directories are added too, 0755 root:root */
	size_t n;
	/* a tree entry at or below one of these paths is left out (the entries replace it) */
	const char *const *replaced;
	size_t n_replaced;
	/* the tree's owners are kept as stat() shows them (under fakeroot: what `rules
	 * package` set there, as dpkg-deb keeps them); an owner that is the writing
	 * process's own real uid or gid becomes root, its set-id bit dropped. Otherwise
	 * every entry is root:root. */
	int keep_owners;
};

/* Packs the tree at rootdir (its content becomes /) into out_path. Files under /etc
 * become conffiles. Returns 0, or -errno with a message in err naming what failed. */
int deb_write(const char *out_path, const char *rootdir, const struct deb_control *ctl,
	      const struct deb_scripts *scripts, struct error *err);
/* The same into fd (a new, empty, seekable file; fsync'ed), with more (may be NULL). */
int deb_write_fd(int fd, const char *rootdir, const struct deb_contents *more,
		 const struct deb_control *ctl, const struct deb_scripts *scripts,
		 struct error *err);

/* 0 when v follows dpkg's version syntax ([epoch:]upstream[-revision]: digits for the
 * epoch, an upstream part that starts with a digit, only alphanumerics and . + ~, with
 * - and : only where they may stand), -EINVAL otherwise. */
int deb_version_check(const char *v);
/* 1 when s holds a control character (below 0x20, or DEL): it cannot stand in a one-line
 * control field. */
int deb_has_control_char(const char *s);
#endif
