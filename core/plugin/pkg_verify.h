/* pkg_verify: an installed package's files against the checksums dpkg keeps for it
 * (ROOT/var/lib/dpkg/info/PACKAGE.md5sums, from the package's DEBIAN/md5sums), as
 * `dpkg --verify` does: a line "changed /PATH" for a file whose content differs (or
 * that is no longer a regular file), "missing /PATH" for one that is gone, nothing when
 * every file matches. Files are read as the system under root sees them (links resolve
 * inside root), never waited on (no FIFO is opened for reading). */
#ifndef WAZOFS_PKG_VERIFY_H
#define WAZOFS_PKG_VERIFY_H
#include "base/error.h"
#include "base/strbuf.h"

/* Appends the lines to out; a package without checksums gets one line saying so.
 * 0, or -errno with err saying why (root unreadable, out of memory). */
int package_verify(const char *root, const char *package, struct strbuf *out, struct error *err);
#endif
