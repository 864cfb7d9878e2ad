/* archive_extract: the extraction of a dropped archive (.tar, .tar.gz, .tgz, .tar.xz,
 * .tar.zst, .zip) with libarchive, run by wazofs-archive for the daemon's tree_import:
 * entries that would escape the tree (absolute, "..", links out), special files, and
 * archives over the size or entry limits are refused with a report. */
#ifndef WAZOFS_ARCHIVE_EXTRACT_H
#define WAZOFS_ARCHIVE_EXTRACT_H
#include "base/error.h"
#include "tree_import.h"

/* Extracts src ("-": stdin) into dest (created). Returns 0, -EINVAL with err's fields filled (a
 * refused archive or an unsupported entry), or -errno with err's message. */
int archive_extract(const char *src, const char *dest, const struct import_limits *lim,
		    struct error *err);
#endif
