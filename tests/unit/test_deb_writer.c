/* Unit tests of core/deb_writer and core/plugin_package: build the hello world package
 * from examples/helloworld, read it back with the real dpkg-deb, install and purge it
 * with the real dpkg into a sandbox root. */
#include "base/fsutil.h"
#include "base/subproc.h"
#include "check.h"
#include "package_source.h"
#include "plugin/deb_writer.h"
#include "plugin/plugin_package.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static int run_capture(struct strbuf *out, const char *const *argv)
{
	struct subproc sp = { .argv = argv, .log_fd = 2, .capture = out };
	return subproc_run(&sp);
}

static void test_helloworld_package(void)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	CHECK_INT(plugin_meta_load("examples/helloworld/wazo/plugin.yml", "25.17", &m, &r), 0);
	char pkgdir[512], deb[512], conf[600];
	snprintf(pkgdir, sizeof(pkgdir), "%s/pkg", tmp);
	snprintf(deb, sizeof(deb), "%s/hello.deb", tmp);
	snprintf(conf, sizeof(conf), "%s/etc/asterisk/extensions_extra.d", pkgdir);
	CHECK_INT(mkdir_p(conf, 0755), 0);
	strcat(conf, "/helloworld.conf");
	CHECK_INT(write_file_atomic(conf, "[x]\n", 4, 0644), 0);
	struct error err = ERROR_INIT;
	int rc = package_source(&m, "examples/helloworld", pkgdir, deb, &err);
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg.buf);

	struct strbuf out = STRBUF_INIT;
	const char *field[] = { "dpkg-deb", "-f",	    deb,       "Package",
				"Version",  "Architecture", "Section", NULL };
	CHECK_INT(run_capture(&out, field), 0);
	CHECK_STR(out.buf, "Package: wazo-plugind-helloworld-demo\nVersion: 0.0.1\n"
			   "Architecture: all\nSection: wazo-plugind-plugin\n");
	strbuf_release(&out);
	const char *contents[] = { "dpkg-deb", "--contents", deb, NULL };
	CHECK_INT(run_capture(&out, contents), 0);
	CHECK(out.buf && strstr(out.buf, "root/root") &&
	      strstr(out.buf, "./usr/lib/wazo-plugind/plugins/demo/helloworld/wazo/rules") &&
	      strstr(out.buf, "./usr/share/doc/wazo-plugind-helloworld-demo/copyright") &&
	      strstr(out.buf, "./etc/asterisk/extensions_extra.d/helloworld.conf"));
	strbuf_release(&out);
	/* control.tar.gz ends with gzip's trailer (the tar's size), not with zero padding */
	const char *member[] = { "ar", "p", deb, "control.tar.gz", NULL };
	CHECK_INT(run_capture(&out, member), 0);
	if (out.len > 18) {
		const unsigned char *t = (const unsigned char *)out.buf + out.len - 4;
		unsigned long isize = t[0] | t[1] << 8 | t[2] << 16 | (unsigned long)t[3] << 24;
		CHECK(isize > 0 && isize % 512 == 0);
		CHECK(out.len < 4096);
	} else
		CHECK(!"control.tar.gz is missing");
	strbuf_release(&out);
	const char *conffiles[] = { "dpkg-deb", "--info", deb, "conffiles", NULL };
	CHECK_INT(run_capture(&out, conffiles), 0);
	CHECK_STR(out.buf, "/etc/asterisk/extensions_extra.d/helloworld.conf\n");
	strbuf_release(&out);
	const char *postrm[] = { "dpkg-deb", "--info", deb, "postrm", NULL };
	CHECK_INT(run_capture(&out, postrm), 0);
	CHECK(out.buf && strstr(out.buf, "\"$saved_rules\" postrm") &&
	      strstr(out.buf, "$DPKG_ROOT/var/lib/wazo-plugind/rules/rules.helloworld.demo"));
	strbuf_release(&out);
	plugin_meta_destroy(&m);
	error_release(&err);
	error_release(&r);
}

static void test_format0_has_no_postrm_call(void)
{
	const char *t = "name: a\nnamespace: b\nversion: '1'\n";
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	CHECK_INT(plugin_meta_parse(t, strlen(t), NULL, &m, &r), 0);
	char *pi, *pr, *po;
	CHECK_INT(plugin_scripts(&m, &pi, &pr, &po), 0);
	CHECK(strstr(po, "postrm)") == NULL && strstr(po, "\" postrm") == NULL);
	CHECK(strstr(pr, "\" uninstall") != NULL && strstr(pi, "\" install") != NULL);
	free(pi);
	free(pr);
	free(po);
	plugin_meta_destroy(&m);
	error_release(&r);
}

static void test_bad_version(void)
{
	struct error err = ERROR_INIT;
	struct deb_control ctl = { "p", "not a version", "M <m@x>", "s", "optional", NULL, "d", 0 };
	struct deb_scripts s = { 0 };
	CHECK_INT(deb_write("/nonexistent/x.deb", "/nonexistent", &ctl, &s, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "not a valid Debian version"));
	error_release(&err);
	CHECK_INT(deb_version_check("1:2.0~rc1-3"), 0);
	CHECK_INT(deb_version_check("v1"), -EINVAL);
	/* a newline in a one-line field would inject a control field */
	struct deb_control inj = {
		"p", "1", "M <m@x>", "s", "optional", "x\nProtected: yes", "d", 0
	};
	CHECK_INT(deb_write("/nonexistent/x.deb", "/nonexistent", &inj, &s, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "Depends field holds a control character"));
	error_release(&err);
}

static void test_unreadable_tree(void)
{
	struct error err = ERROR_INIT;
	char deb[300];
	snprintf(deb, sizeof(deb), "%s/x.deb", tmp);
	struct deb_control ctl = { "p", "1", "M <m@x>", "s", "optional", NULL, "d", 0 };
	struct deb_scripts s = { 0 };
	CHECK(deb_write(deb, "/nonexistent-tree", &ctl, &s, &err) < 0);
	CHECK(err.msg.buf && strstr(err.msg.buf, "nonexistent-tree"));
	CHECK(access(deb, F_OK) < 0);
	error_release(&err);
}

/* data.tar.xz is streamed into the package: no side file beside it (a directory in the
 * way of the old "<out>.data.tmp" made the write fail), and the package reads back whole
 * whatever the parity of its members' sizes. */
static void test_streamed_data(void)
{
	char tree[300], deb[300], side[320], file[340];
	snprintf(tree, sizeof(tree), "%s/stream-tree", tmp);
	snprintf(deb, sizeof(deb), "%s/stream.deb", tmp);
	snprintf(side, sizeof(side), "%s.data.tmp", deb);
	CHECK_INT(mkdir_p(tree, 0755), 0);
	CHECK_INT(mkdir_p(side, 0755), 0);
	struct deb_control ctl = { "stream", "1.0", "M <m@x>", "misc", "optional", NULL, "d", 0 };
	struct deb_scripts s = { 0 };
	for (int round = 0; round < 4; round++) {
		/* a file of a size that changes the compressed size from round to round */
		snprintf(file, sizeof(file), "%s/f%d", tree, round);
		char data[1200]; /* the largest write below is 1003 bytes */
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (char)((i * 7919u + (unsigned)round * 31u) % 251u);
		CHECK_INT(write_file_atomic(file, data, 100 + (size_t)round * 301, 0644), 0);
		struct strbuf out = STRBUF_INIT;
		struct error err = ERROR_INIT;
		int rc = deb_write(deb, tree, &ctl, &s, &err);
		CHECK_INT(rc, 0);
		if (rc)
			fprintf(stderr, "  %s\n", err.msg.buf);
		const char *ar_t[] = { "ar", "t", deb, NULL };
		CHECK_INT(run_capture(&out, ar_t), 0);
		CHECK_STR(out.buf, "debian-binary\ncontrol.tar.gz\ndata.tar.xz\n");
		strbuf_release(&out);
		const char *contents[] = { "dpkg-deb", "--contents", deb, NULL };
		CHECK_INT(run_capture(&out, contents), 0);
		char name[16];
		snprintf(name, sizeof(name), "./f%d\n", round);
		CHECK(out.buf && strstr(out.buf, name));
		strbuf_release(&out);
		const char *size[] = { "dpkg-deb", "-f", deb, "Installed-Size", NULL };
		CHECK_INT(run_capture(&out, size), 0);
		char want[32];
		snprintf(want, sizeof(want), "%d\n",
			 1 + round + 1); /* the root dir, one KiB a file */
		CHECK_STR(out.buf, want);
		strbuf_release(&out);
		error_release(&err);
	}
	struct stat st;
	CHECK(stat(side, &st) == 0 && S_ISDIR(st.st_mode));
}

/* The same tree and source date, written a second later into another file: the same
 * bytes; md5sums lists each regular file; entries in name order, dated source_date. */
static void test_reproducible(void)
{
	char tree[300], a[300], b[300], cmd[2048];
	snprintf(tree, sizeof(tree), "%s/repro", tmp);
	snprintf(a, sizeof(a), "%s/a.deb", tmp);
	snprintf(b, sizeof(b), "%s/b.deb", tmp);
	snprintf(cmd, sizeof(cmd),
		 "set -e; mkdir -p %s/usr/share/z/b %s/usr/share/z-a %s/etc/z; cd %s; "
		 "echo one > usr/share/z/b/f; echo two > usr/share/z-a/g; echo k > etc/z/z.conf; "
		 "ln -s b/f usr/share/z/link",
		 tree, tree, tree, tree);
	CHECK_INT(system(cmd), 0);
	struct deb_control ctl = {
		"z", "1.0", "M <m@x>", "misc", "optional", NULL, "d", 1600000000
	};
	struct deb_scripts s = { "#!/bin/sh\n", NULL, NULL };
	struct error err = ERROR_INIT;
	CHECK_INT(deb_write(a, tree, &ctl, &s, &err), 0);
	sleep(1);
	snprintf(cmd, sizeof(cmd), "touch %s/usr/share/z/b/f", tree); /* a later mtime */
	CHECK_INT(system(cmd), 0);
	CHECK_INT(deb_write(b, tree, &ctl, &s, &err), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	CHECK_INT(system(cmd), 0);
	struct strbuf out = STRBUF_INIT;
	const char *sums[] = { "dpkg-deb", "--info", a, "md5sums", NULL };
	CHECK_INT(run_capture(&out, sums), 0);
	CHECK_STR(out.buf, "ccc87e7257869ad33a6a0bd9e28a4ae4  etc/z/z.conf\n"
			   "c193497a1a06b2c72230e6146ff47080  usr/share/z-a/g\n"
			   "5bbf5a52328e7439ae6e719dfe712200  usr/share/z/b/f\n");
	strbuf_release(&out);
	const char *list[] = { "sh", "-c",
			       "dpkg-deb --fsys-tarfile \"$0\" | TZ=UTC tar -tv --full-time", a,
			       NULL };
	CHECK_INT(run_capture(&out, list), 0);
	/* every entry dated source_date, none now */
	size_t lines = 0, dated = 0;
	for (const char *l = out.buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		lines++;
		const char *nl = strchr(l, '\n');
		const char *d = strstr(l, " 2020-09-13 12:26:40 ");
		dated += d && (!nl || d < nl);
	}
	CHECK(lines >= 8);
	CHECK_INT(dated, lines);
	const char *a_at = out.buf ? strstr(out.buf, " ./usr/share/z-a/\n") : NULL;
	const char *b_at = out.buf ? strstr(out.buf, " ./usr/share/z/b/\n") : NULL;
	CHECK(a_at && b_at && a_at < b_at); /* "z-a" < "z/b": the paths' byte order */
	strbuf_release(&out);
	error_release(&err);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/wazofs-unit-deb.XXXXXX");
	if (!mkdtemp(tmp))
		return 2;
	RUN(test_helloworld_package);
	RUN(test_format0_has_no_postrm_call);
	RUN(test_bad_version);
	RUN(test_unreadable_tree);
	RUN(test_streamed_data);
	RUN(test_reproducible);
	if (!getenv("WAZOFS_KEEP"))
		rm_rf(tmp);
	else
		fprintf(stderr, "kept %s\n", tmp);
	return CHECK_SUMMARY();
}
