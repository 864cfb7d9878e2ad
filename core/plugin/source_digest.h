/* source_digest: what identifies the source a plugin was built from, for its build info
 * and its status: the SHA-256 of the tree (each entry in name order: its type, mode and
 * path, then a file's content or a link's target; a .git at the top left out) and the
 * newest mtime of its files and links (the source's date when it has no commit). Read
 * by descriptors beneath the root that follow no link. */
#ifndef WAZOFS_SOURCE_DIGEST_H
#define WAZOFS_SOURCE_DIGEST_H
#include "base/error.h"
#include <time.h>

struct source_digest {
	char sha256[65]; /* hex */
	time_t newest;	 /* 0 when the tree holds no file */
};

/* 0, or -errno with err naming the entry that could not be read. */
int source_digest_tree(const char *root, struct source_digest *d, struct error *err);
#endif
