/* deb_writer: writes a Debian binary package with libarchive: an ar archive of
 * debian-binary, control.tar.gz and data.tar.xz, every file owned by root:root.
 * The package is built under a temporary name beside the destination, fsync'ed and
 * renamed into place. */
#ifndef WAZOFS_DEB_WRITER_H
#define WAZOFS_DEB_WRITER_H
#include "base/error.h"
#include "base/strbuf.h"

struct deb_control {
	const char *package, *version, *maintainer, *section, *priority;
	const char *depends;	 /* "a, b (>= 1)" or NULL */
	const char *description; /* first line is the synopsis; may hold more lines */
};

struct deb_scripts {
	const char *postinst, *prerm, *postrm; /* script texts, or NULL */
};

/* Packs the tree at rootdir (its content becomes /) into out_path. Files under /etc
 * become conffiles. Returns 0, or -errno with a message in err naming what failed. */
int deb_write(const char *out_path, const char *rootdir, const struct deb_control *ctl,
	      const struct deb_scripts *scripts, struct error *err);

/* 0 when v follows dpkg's version syntax ([epoch:]upstream[-revision]: digits for the
 * epoch, an upstream part that starts with a digit, only alphanumerics and . + ~, with
 * - and : only where they may stand), -EINVAL otherwise. */
int deb_version_check(const char *v);
/* 1 when s holds a control character (below 0x20, or DEL): it cannot stand in a one-line
 * control field. */
int deb_has_control_char(const char *s);
#endif
