/* source_store: the sources of the plugins wazofs built, kept beside their packages so
 * a plugin can be rebuilt (after a Wazo upgrade) without fetching anything again.
 * STATE/sources/<package>_<version>/ holds `origin` (where it came from, credentials
 * redacted; then the source's date, "date EPOCH") and `tree/` (the plugin root as it was copied,
 * extracted or cloned, before any rules step; a clone's .git left out). A plugin installed from a
 * package or by apt has an origin and no tree. Entries are pruned with the packages
 * (keep_versions) and go with the plugin. */
#ifndef WAZOFS_SOURCE_STORE_H
#define WAZOFS_SOURCE_STORE_H
#include "base/error.h"
#include <stddef.h>
#include <time.h>

#define SOURCES_DIR	   "sources"
#define SOURCE_TREE	   "tree"
#define SOURCE_ORIGIN	   "origin"
#define SOURCE_PENDING_DIR ".pending"

/* STATE/sources/<package>_<version> (kept) and STATE/sources/.pending/<same> (made
 * free, its parent made): 0 or -errno. */
int source_paths(const char *state, const char *ns, const char *name, const char *version,
		 char *kept, char *pending, size_t len);
/* Copies the plugin root to pending/tree (at most max_bytes of files, 0: no limit; no
 * link followed) and writes origin there: 0, -EFBIG past max_bytes, or -errno; err
 * says why. pending is removed on failure. */
int source_keep(const char *pending, const char *root, const char *origin, time_t date,
		unsigned long long max_bytes, struct error *err);
/* Writes pending holding origin alone (a package or an apt install). */
int source_keep_origin(const char *pending, const char *origin, time_t date, struct error *err);
/* pending replaces kept, marked as the newest; the other entries of the plugin's
 * package but the keep_versions newest are removed. 0 or -errno. */
int source_commit(const char *state, const char *package, const char *kept, const char *pending,
		  unsigned keep_versions);
/* Removes every entry of package (the plugin is gone). */
void source_remove_all(const char *state, const char *package);
/* The origin line kept for ns/name at version (out "" when none), its source's date
 * (0: unknown; date may be NULL) and whether its tree is kept: 0, or -ENOENT when
 * nothing is kept. */
int source_lookup(const char *state, const char *ns, const char *name, const char *version,
		  char *origin, size_t len, time_t *date, int *has_tree);
/* The kept tree of ns/name at version: 0 with its path in out, or -ENOENT. */
int source_tree_path(const char *state, const char *ns, const char *name, const char *version,
		     char *out, size_t len);
#endif
