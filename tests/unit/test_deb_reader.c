/* Unit tests of core/deb_reader: packages made by wazofs's writer and by the real
 * dpkg-deb are read back; truncated, corrupt and foreign files are refused with a
 * message, never read half. */
#include "base/fsutil.h"
#include "base/subproc.h"
#include "check.h"
#include "package_source.h"
#include "plugin/deb_reader.h"
#include "plugin/plugin_package.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static int run(const char *const *argv)
{
	struct subproc sp = { .argv = argv, .log_fd = 2 };
	return subproc_run(&sp);
}

/* The hello world package as wazofs makes it, at deb. */
static int make_helloworld(const char *deb)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	if (plugin_meta_load("examples/helloworld/wazo/plugin.yml", "25.17", &m, &r))
		return -1;
	char pkgdir[512];
	snprintf(pkgdir, sizeof(pkgdir), "%s/pkg", tmp);
	mkdir_p(pkgdir, 0755);
	struct error err = ERROR_INIT;
	int rc = package_source(&m, "examples/helloworld", pkgdir, deb, &err);
	error_release(&err);
	plugin_meta_destroy(&m);
	return rc;
}

static void test_wazofs_package(const char *deb)
{
	struct deb_info d;
	struct error err = ERROR_INIT;
	CHECK(deb_looks_like_package(deb));
	CHECK_INT(deb_read(deb, DEB_READ_DATA, &d, &err), 0);
	char v[256];
	CHECK_INT(deb_control_field(d.control.buf, "Package", v, sizeof(v)), 0);
	CHECK_STR(v, "wazo-plugind-helloworld-demo");
	CHECK_INT(deb_control_field(d.control.buf, "section", v, sizeof(v)), 0);
	CHECK_STR(v, "wazo-plugind-plugin");
	CHECK_INT(deb_control_field(d.control.buf, "Version", v, sizeof(v)), 0);
	CHECK_STR(v, "0.0.1");
	CHECK_INT(deb_control_field(d.control.buf, "Nope", v, sizeof(v)), -ENOENT);
	CHECK_INT(deb_control_field(d.control.buf, "Package", v, 4), -ENAMETOOLONG);
	CHECK_INT(d.n_plugin_yml, 1);
	CHECK_STR(d.yml_ns, "demo");
	CHECK_STR(d.yml_name, "helloworld");
	struct strbuf yml = STRBUF_INIT;
	CHECK_INT(strbuf_read_file(&yml, "examples/helloworld/wazo/plugin.yml", 1 << 20), 0);
	CHECK(d.plugin_yml.len == yml.len && memcmp(d.plugin_yml.buf, yml.buf, yml.len) == 0);
	strbuf_release(&yml);
	deb_info_release(&d);

	/* without DEB_READ_DATA: the control file only */
	CHECK_INT(deb_read(deb, 0, &d, &err), 0);
	CHECK(d.control.len > 0 && d.n_plugin_yml == 0 && d.plugin_yml.len == 0);
	deb_info_release(&d);
	error_release(&err);
}

/* A package that dpkg-deb builds (gzip data, no plugin metadata). */
static void test_dpkg_deb_package(void)
{
	char dir[300], ctl[400], deb[300];
	snprintf(dir, sizeof(dir), "%s/plain/DEBIAN", tmp);
	CHECK_INT(mkdir_p(dir, 0755), 0);
	snprintf(ctl, sizeof(ctl), "%s/control", dir);
	const char text[] = "Package: plain\nVersion: 1.0\nArchitecture: all\n"
			    "Maintainer: t <t@t>\nDescription: plain\n long text\n";
	CHECK_INT(write_file_atomic(ctl, text, strlen(text), 0644), 0);
	snprintf(dir, sizeof(dir), "%s/plain", tmp);
	snprintf(deb, sizeof(deb), "%s/plain.deb", tmp);
	const char *build[] = { "dpkg-deb", "-Zgzip", "-b", dir, deb, NULL };
	CHECK_INT(run(build), 0);
	struct deb_info d;
	struct error err = ERROR_INIT;
	CHECK_INT(deb_read(deb, DEB_READ_DATA, &d, &err), 0);
	CHECK_STR(d.control.buf, text);
	CHECK_INT(d.n_plugin_yml, 0);
	char v[64];
	CHECK_INT(deb_control_field(d.control.buf, "Description", v, sizeof(v)), 0);
	CHECK_STR(v, "plain");
	deb_info_release(&d);
	error_release(&err);
}

/* Each damaged copy of deb: -EINVAL and a message. */
static void test_damaged(const char *deb)
{
	struct stat st;
	CHECK_INT(stat(deb, &st), 0);
	struct strbuf whole = STRBUF_INIT;
	struct error err = ERROR_INIT;
	CHECK_INT(strbuf_read_file(&whole, deb, 1 << 24), 0);
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/bad.deb", tmp);
	struct deb_info d;
	/* truncated: a third, two thirds, all but the last bytes */
	size_t cuts[] = { whole.len / 3, 2 * whole.len / 3, whole.len - 40 };
	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(write_file_atomic(bad, whole.buf, cuts[i], 0644), 0);
		CHECK_INT(deb_read(bad, DEB_READ_DATA, &d, &err), -EINVAL);
		CHECK(err.msg.len > 0);
		deb_info_release(&d);
		error_release(&err);
	}
	/* corrupt: bytes in the compressed data member (the last one) flipped */
	for (size_t i = whole.len * 3 / 4; i < whole.len * 3 / 4 + 64; i++)
		whole.buf[i] ^= 0x5a;
	CHECK_INT(write_file_atomic(bad, whole.buf, whole.len, 0644), 0);
	CHECK_INT(deb_read(bad, DEB_READ_DATA, &d, &err), -EINVAL);
	CHECK(err.msg.len > 0);
	deb_info_release(&d);
	error_release(&err);
	/* not a package at all */
	CHECK_INT(write_file_atomic(bad, "hello\n", 6, 0644), 0);
	CHECK(!deb_looks_like_package(bad));
	CHECK_INT(deb_read(bad, 0, &d, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "not a"));
	deb_info_release(&d);
	error_release(&err);
	strbuf_release(&whole);
	error_release(&err);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/wazofs-debr.XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	char deb[300];
	snprintf(deb, sizeof(deb), "%s/hello.deb", tmp);
	CHECK_INT(make_helloworld(deb), 0);
	RUN(test_wazofs_package, deb);
	RUN(test_dpkg_deb_package);
	RUN(test_damaged, deb);
	rm_rf(tmp);
	return CHECK_SUMMARY();
}
