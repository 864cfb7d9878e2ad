/* deb_reader: reads a Debian binary package with libarchive, without dpkg: the control
 * file, and (when asked) the wazo-plugind metadata in its data member,
 * usr/lib/wazo-plugind/plugins/<ns>/<name>/wazo/plugin.yml. Reading the data member to
 * its end is also how a truncated or corrupt package is caught before dpkg sees it. */
#ifndef WAZOFS_DEB_READER_H
#define WAZOFS_DEB_READER_H
#include "base/error.h"
#include "base/strbuf.h"
#include <stddef.h>

#define DEB_CONTROL_MAX (256 * 1024)

struct deb_info {
	struct strbuf control; /* the control file, as in the package */
	/* DEB_READ_DATA only: */
	int n_plugin_yml;		 /* how many metadata files the data member holds */
	char yml_ns[256], yml_name[256]; /* the <ns>/<name> of the first one's path */
	struct strbuf plugin_yml;	 /* the first one's content */
};

enum { DEB_READ_DATA = 1 };

/* 1 when the file at path starts like a Debian package (an ar archive whose first
 * member is debian-binary), else 0. */
int deb_looks_like_package(const char *path);
/* Reads path: 0, or -EINVAL (not a package, truncated, corrupt: err says what and where)
 * or another -errno with err. Release out with deb_info_release, also on failure. */
int deb_read(const char *path, int flags, struct deb_info *out, struct error *err);
void deb_info_release(struct deb_info *d);
/* The value of field in a control paragraph (names compare without case; the first line
 * only, leading blanks removed). 0, -ENOENT or -ENAMETOOLONG (past len). */
int deb_control_field(const char *control, const char *field, char *out, size_t len);
#endif
