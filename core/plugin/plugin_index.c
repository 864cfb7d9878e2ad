/* plugin_index: see plugin_index.h. */
#include "plugin_index.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a over "ns\0name" */
static size_t hash(const char *ns, const char *name)
{
	uint64_t h = 14695981039346656037ULL;
	for (const char *s = ns;; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
		if (!*s)
			break;
	}
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

int plugin_index_build(struct plugin_index *idx, const struct installed_plugin *list, size_t n)
{
	memset(idx, 0, sizeof(*idx));
	size_t size = 16;
	while (size < 2 * n)
		size *= 2;
	idx->slots = calloc(size, sizeof(*idx->slots));
	if (!idx->slots)
		return -ENOMEM;
	idx->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		size_t s = hash(list[i].ns, list[i].name) & idx->mask;
		while (idx->slots[s])
			s = (s + 1) & idx->mask;
		idx->slots[s] = i + 1;
	}
	return 0;
}

size_t plugin_lower_bound(const struct installed_plugin *list, size_t n, const char *ns,
			  const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dpkg_plugin_cmp(list[mid].ns, list[mid].name, ns, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t plugin_index_find(const struct plugin_index *idx, const struct installed_plugin *list,
			 size_t n, const char *ns, const char *name)
{
	if (!idx->slots) {
		size_t i = plugin_lower_bound(list, n, ns, name);
		return i < n && dpkg_plugin_cmp(list[i].ns, list[i].name, ns, name) == 0 ? i : n;
	}
	for (size_t s = hash(ns, name) & idx->mask; idx->slots[s]; s = (s + 1) & idx->mask) {
		const struct installed_plugin *p = &list[idx->slots[s] - 1];
		if (strcmp(p->name, name) == 0 && strcmp(p->ns, ns) == 0)
			return idx->slots[s] - 1;
	}
	return n;
}

void plugin_index_free(struct plugin_index *idx)
{
	free(idx->slots);
	memset(idx, 0, sizeof(*idx));
}
