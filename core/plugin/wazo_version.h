/* wazo_version: the running Wazo version as a Wazo server records it (the first line
 * of <root>/usr/share/wazo/WAZO-VERSION), and whether a plugin's min_wazo_version and
 * max_wazo_version admit it. */
#ifndef WAZOFS_WAZO_VERSION_H
#define WAZOFS_WAZO_VERSION_H
#include "base/error.h"
#include <stddef.h>

#define WAZO_VERSION_DIR  "usr/share/wazo"
#define WAZO_VERSION_FILE "WAZO-VERSION"
/* The most the file may hold: a version is one short line. */
enum { WAZO_VERSION_MAX_BYTES = 4096 };

/* 1 when v looks like a Wazo version: a digit first, then digits, letters and
 * . + ~ -, shorter than 64 bytes. */
int wazo_version_valid(const char *v);
/* Reads the version recorded under root into out (len bytes). Returns 0; -ENOENT when
 * there is no file; -EFBIG for a file over WAZO_VERSION_MAX_BYTES; -EINVAL for one
 * that is not a regular file, empty, binary or not a version; err says which. */
int wazo_version_read(const char *root, char *out, size_t len, struct error *err);
/* 1 when running lies within min and max (NULL or "": no bound); else 0, with reason
 * naming the field, its value and the running version. A bound that cannot be compared
 * with running does not fit either. */
int wazo_version_fits(const char *min, const char *max, const char *running, char *reason,
		      size_t len);
#endif
