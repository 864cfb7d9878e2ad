/* Unit tests of the pure parts of core/plugin/dpkg: the Depends field, package names,
 * the plugin order, and the reading of a dpkg database (a status file written here the
 * way dpkg writes it, read by dpkg_list_plugins through the real dpkg-query). */
#include "base/fsutil.h"
#include "check.h"
#include "plugin/dpkg.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void test_depends_on(void)
{
	const char *p = "wazo-plugind-a-demo";
	CHECK_INT(dpkg_depends_on("wazo-plugind-a-demo", p), 1);
	CHECK_INT(dpkg_depends_on("x, wazo-plugind-a-demo (>= 1.0), y", p), 1);
	CHECK_INT(dpkg_depends_on("x | wazo-plugind-a-demo", p), 1);
	CHECK_INT(dpkg_depends_on("x,wazo-plugind-a-demo", p), 1);
	CHECK_INT(dpkg_depends_on("wazo-plugind-a-demo:any", p), 1);
	CHECK_INT(dpkg_depends_on("\twazo-plugind-a-demo\t(= 2)", p), 1);
	/* a longer or shorter name is another package */
	CHECK_INT(dpkg_depends_on("wazo-plugind-a-demo2", p), 0);
	CHECK_INT(dpkg_depends_on("wazo-plugind-a-dem", p), 0);
	CHECK_INT(dpkg_depends_on("xwazo-plugind-a-demo", p), 0);
	/* a name inside a version is not a dependency */
	CHECK_INT(dpkg_depends_on("x (>= wazo-plugind-a-demo)", p), 0);
	CHECK_INT(dpkg_depends_on("", p), 0);
	CHECK_INT(dpkg_depends_on(NULL, p), 0);
}

static void test_split_package(void)
{
	char name[64], ns[64];
	CHECK_INT(
	    dpkg_split_package("wazo-plugind-hello-world-demo", name, sizeof(name), ns, sizeof(ns)),
	    0);
	CHECK_STR(name, "hello-world");
	CHECK_STR(ns, "demo");
	CHECK_INT(dpkg_split_package("wazo-plugind-x-y", name, sizeof(name), ns, sizeof(ns)), 0);
	CHECK_STR(name, "x");
	CHECK_STR(ns, "y");
	CHECK_INT(dpkg_split_package("wazo-plugin-x-y", name, sizeof(name), ns, sizeof(ns)),
		  -EINVAL);
	CHECK_INT(dpkg_split_package("wazo-plugind-x", name, sizeof(name), ns, sizeof(ns)),
		  -EINVAL);
	CHECK_INT(dpkg_split_package("wazo-plugind--demo", name, sizeof(name), ns, sizeof(ns)),
		  -EINVAL);
	CHECK_INT(dpkg_split_package("wazo-plugind-x-", name, sizeof(name), ns, sizeof(ns)),
		  -EINVAL);
	/* a namespace is [a-z0-9]+ */
	CHECK_INT(dpkg_split_package("wazo-plugind-x-De", name, sizeof(name), ns, sizeof(ns)),
		  -EINVAL);
	CHECK_INT(dpkg_split_package("wazo-plugind-x-demo", name, 1, ns, sizeof(ns)),
		  -ENAMETOOLONG);
}

static void test_plugin_order(void)
{
	CHECK(dpkg_plugin_cmp("a", "z", "b", "a") < 0);
	CHECK(dpkg_plugin_cmp("b", "a", "a", "z") > 0);
	CHECK(dpkg_plugin_cmp("a", "a", "a", "b") < 0);
	CHECK_INT(dpkg_plugin_cmp("a", "b", "a", "b"), 0);
}

static void test_list_plugins(void)
{
	char root[] = "/tmp/wazofs-unit-dpkg.XXXXXX";
	if (!mkdtemp(root)) {
		CHECK(!"mkdtemp");
		return;
	}
	char dir[128], path[160];
	snprintf(dir, sizeof(dir), "%s/var/lib/dpkg/info", root);
	CHECK_INT(mkdir_p(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/var/lib/dpkg/updates", root);
	CHECK_INT(mkdir_p(dir, 0755), 0);
	static const char status[] =
	    "Package: wazo-plugind-zeta-demo\nStatus: install ok installed\n"
	    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 2.0-1\n"
	    "Depends: wazo-plugind-alpha-demo (>= 1), asterisk\nDescription: z\n\n"
	    "Package: wazo-plugind-alpha-demo\nStatus: install ok half-configured\n"
	    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 1.0\nDescription: a\n\n"
	    "Package: wazo-plugind-gone-demo\nStatus: deinstall ok config-files\n"
	    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 0.1\nDescription: g\n\n"
	    "Package: asterisk\nStatus: install ok installed\nSection: comm\n"
	    "Architecture: all\nVersion: 20\nDescription: pbx\n\n"
	    "Package: wazo-plugind-beta-acme\nStatus: install ok installed\n"
	    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 3\nDescription: b\n\n";
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", root);
	CHECK_INT(write_file_atomic(path, status, sizeof(status) - 1, 0644), 0);
	struct installed_plugin *list = NULL;
	size_t n = 0;
	CHECK_INT(dpkg_list_plugins(root, &list, &n), 0);
	/* plugins only, in namespace then name order; config-files only is not installed */
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(list[0].ns, "acme");
		CHECK_STR(list[0].name, "beta");
		CHECK_STR(list[0].version, "3");
		CHECK_STR(list[1].name, "alpha");
		CHECK_INT(dpkg_is_installed(&list[1]), 0); /* half-configured */
		CHECK_STR(list[2].name, "zeta");
		CHECK_INT(dpkg_is_installed(&list[2]), 1);
		CHECK_STR(list[2].version, "2.0-1");
		CHECK_INT(dpkg_depends_on(list[2].depends, "wazo-plugind-alpha-demo"), 1);
		CHECK_STR(list[2].package, "wazo-plugind-zeta-demo");
	}
	dpkg_free_plugins(list, n);
	rm_rf(root);
}

int main(void)
{
	RUN(test_depends_on);
	RUN(test_split_package);
	RUN(test_plugin_order);
	RUN(test_list_plugins);
	return CHECK_SUMMARY();
}
