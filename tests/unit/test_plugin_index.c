/* Unit tests of plugin_index (the O(1) lookup of installed plugins) and of the records
 * dpkg_list_plugins hands out (one allocation each, copies that outlive their list). */
#include "check.h"
#include "plugin/dpkg.h"
#include "plugin/plugin_index.h"
#include <stdio.h>
#include <stdlib.h>

enum { N = 1000 };

static int order(const void *a, const void *b)
{
	const struct installed_plugin *x = a, *y = b;
	return dpkg_plugin_cmp(x->ns, x->name, y->ns, y->name);
}

int main(void)
{
	static struct installed_plugin list[N];
	static char names[N][2][16];
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i][0], 16, "ns%zu", i % 7);
		snprintf(names[i][1], 16, "p%zu", i);
		list[i].ns = names[i][0];
		list[i].name = names[i][1];
	}
	qsort(list, N, sizeof(*list), order);
	struct plugin_index idx;
	CHECK_INT(plugin_index_build(&idx, list, N), 0);
	int found = 0, fallback = 0;
	for (size_t i = 0; i < N; i++) {
		found += plugin_index_find(&idx, list, N, list[i].ns, list[i].name) == i;
		struct plugin_index none = { 0 }; /* no table: the sorted list is searched */
		fallback += plugin_index_find(&none, list, N, list[i].ns, list[i].name) == i;
	}
	CHECK_INT(found, N);
	CHECK_INT(fallback, N);
	CHECK_INT(plugin_index_find(&idx, list, N, "ns1", "p2"), N); /* p2 is in ns2 */
	CHECK_INT(plugin_index_find(&idx, list, N, "ns2", "p"), N);
	CHECK_INT(plugin_index_find(&idx, list, N, "", ""), N);
	CHECK(idx.mask + 1 >= 2 * N);
	/* a namespace is the slice from its lower bound */
	size_t first = plugin_lower_bound(list, N, "ns3", ""), in_ns3 = 0;
	for (size_t i = first; i < N && strcmp(list[i].ns, "ns3") == 0; i++)
		in_ns3++;
	CHECK_STR(list[first].ns, "ns3");
	CHECK(first == 0 || strcmp(list[first - 1].ns, "ns3") < 0);
	CHECK_INT(in_ns3, N / 7 + (3 < N % 7));
	CHECK_INT(plugin_lower_bound(list, N, "zz", ""), N);
	plugin_index_free(&idx);
	CHECK(idx.slots == NULL);

	struct plugin_index empty;
	CHECK_INT(plugin_index_build(&empty, NULL, 0), 0);
	CHECK_INT(plugin_index_find(&empty, NULL, 0, "a", "b"), 0);
	plugin_index_free(&empty);

	/* a copy owns its strings */
	struct installed_plugin src = { .ns = "demo",
					.name = "hello",
					.version = "1.0-2",
					.package = "wazo-plugind-hello-demo",
					.depends = "" };
	struct installed_plugin copy;
	CHECK_INT(dpkg_copy_plugin(&copy, &src), 0);
	CHECK(copy.ns != src.ns && copy.strings != NULL);
	CHECK_STR(copy.ns, "demo");
	CHECK_STR(copy.name, "hello");
	CHECK_STR(copy.version, "1.0-2");
	CHECK_STR(copy.package, "wazo-plugind-hello-demo");
	CHECK_STR(copy.depends, "");
	free(copy.strings);
	return CHECK_SUMMARY();
}
