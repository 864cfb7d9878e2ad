/* Unit tests of fs/router.c (pure: no FUSE, no I/O): every kind of mount path, the
 * components it sets, and what is too deep or too long. */
#include "check.h"
#include "router.h"
#include <errno.h>
#include <string.h>

static struct route r;

static int kind_of(const char *path)
{
	return route_parse(path, &r) == 0 ? (int)r.kind : -1;
}

static void test_top(void)
{
	CHECK_INT(kind_of("/"), R_ROOT);
	CHECK_INT(kind_of("/status"), R_OVERVIEW);
	CHECK_INT(kind_of("/events"), R_EVENTS);
	CHECK_INT(kind_of("/history"), R_HISTORY);
	CHECK_INT(kind_of("/history/x"), R_NONE);
	CHECK_INT(kind_of("/incoming"), R_INCOMING_DIR);
	CHECK_INT(kind_of("/incoming/"), R_INCOMING_DIR);
	/* every reserved name routes to something other than a namespace */
	for (const char *const *n = route_reserved; *n; n++) {
		char path[64];
		snprintf(path, sizeof(path), "/%s", *n);
		CHECK(kind_of(path) != R_NAMESPACE);
	}
}

static void test_incoming(void)
{
	CHECK_INT(kind_of("/incoming/hello"), R_INCOMING);
	CHECK_STR(r.entry, "hello");
	CHECK_STR(r.rel, "hello");
	CHECK_INT(r.top_level, 1);
	CHECK_INT(kind_of("/incoming/hello/wazo/plugin.yml"), R_INCOMING);
	CHECK_STR(r.entry, "hello");
	CHECK_STR(r.rel, "hello/wazo/plugin.yml");
	CHECK_INT(r.top_level, 0);
}

static void test_plugins(void)
{
	CHECK_INT(kind_of("/demo"), R_NAMESPACE);
	CHECK_STR(r.ns, "demo");
	CHECK_INT(kind_of("/demo/hello"), R_PLUGIN);
	CHECK_STR(r.name, "hello");
	CHECK_INT(kind_of("/demo/hello/status"), R_LEAF);
	CHECK_STR(r.leaf, "status");
	CHECK_INT(kind_of("/demo/hello/status/x"), R_NONE);
	CHECK_INT(kind_of("/demo/hello/versions"), R_VERSIONS);
	CHECK_INT(kind_of("/demo/hello/versions/p_1.0_all.deb"), R_VERSION);
	CHECK_STR(r.file, "p_1.0_all.deb");
	CHECK_INT(kind_of("/demo/hello/versions/p_1.0_all.deb/x"), R_NONE);
	/* doubled and trailing slashes are the same path */
	CHECK_INT(kind_of("//demo//hello/"), R_PLUGIN);
	CHECK_STR(r.ns, "demo");
	CHECK_STR(r.name, "hello");
}

static void test_market_and_repo(void)
{
	CHECK_INT(kind_of("/market"), R_MARKET);
	CHECK_INT(r.depth, 0);
	CHECK_INT(kind_of("/market/demo/hello/info"), R_MARKET);
	CHECK_INT(r.depth, 3);
	CHECK_STR(r.leaf, "info");
	CHECK_INT(kind_of("/market/demo/hello/info/x"), R_NONE);
	CHECK_INT(kind_of("/repo"), R_REPO);
	CHECK_STR(r.rel, "");
	CHECK_INT(kind_of("/repo/dists/wazofs/Release"), R_REPO);
	CHECK_STR(r.rel, "dists/wazofs/Release");
}

static void test_too_long(void)
{
	char path[NAME_MAX + 8];
	path[0] = '/';
	memset(path + 1, 'a', NAME_MAX + 1);
	path[NAME_MAX + 2] = 0;
	CHECK_INT(route_parse(path, &r), -ENAMETOOLONG);
	path[NAME_MAX + 1] = 0; /* NAME_MAX bytes: fits */
	CHECK_INT(route_parse(path, &r), 0);
	CHECK_INT(r.kind, R_NAMESPACE);
}

/* libfuse's NULL path of an open file whose name is gone is no route */
static void test_no_path(void)
{
	CHECK_INT(route_parse(NULL, &r), -ESTALE);
}

int main(void)
{
	RUN(test_top);
	RUN(test_incoming);
	RUN(test_plugins);
	RUN(test_market_and_repo);
	RUN(test_too_long);
	RUN(test_no_path);
	return CHECK_SUMMARY();
}
