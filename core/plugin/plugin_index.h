/* plugin_index: finds a plugin of a list by namespace and name in O(1): an open-addressing
 * hash table of indexes into the list (which it does not own). */
#ifndef WAZOFS_PLUGIN_INDEX_H
#define WAZOFS_PLUGIN_INDEX_H
#include "dpkg.h"
#include <stddef.h>

struct plugin_index {
	size_t *slots; /* list index + 1; 0 is an empty slot */
	size_t mask;   /* number of slots - 1 (a power of two, at least twice the list) */
};

/* Builds the index of list[0..n). Returns 0 or -ENOMEM (then idx is empty and lookups
 * fall back to a binary search of the sorted list). */
int plugin_index_build(struct plugin_index *idx, const struct installed_plugin *list, size_t n);
/* The index in list of ns/name, or n when it is not there. */
size_t plugin_index_find(const struct plugin_index *idx, const struct installed_plugin *list,
			 size_t n, const char *ns, const char *name);
void plugin_index_free(struct plugin_index *idx);
/* In list sorted by dpkg_plugin_cmp: the index of the first plugin not before ns/name
 * (with name "", the first of namespace ns); n when there is none. */
size_t plugin_lower_bound(const struct installed_plugin *list, size_t n, const char *ns,
			  const char *name);
#endif
