/* Unit tests of core/base/records and core/plugin/archive_helper: the record stream
 * (any byte in a value, malformed streams refused), and wazofs-archive (the real one,
 * BUILD/wazofs-archive) answering as the functions it runs: a package written through
 * it reads back through it, a refused archive comes back with its report, and a helper
 * that crashes or is missing is an error with a message, never a crash of the caller. */
#include "base/fsutil.h"
#include "base/records.h"
#include "check.h"
#include "jobs/tree_import.h"
#include "plugin/archive_helper.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[] = "/tmp/wazofs-unit-helper.XXXXXX";

static void test_records(void)
{
	struct strbuf sb = STRBUF_INIT;
	static const char bin[] = { 'a', '\n', 0, 'b', ' ', '9', '\n' };
	records_put(&sb, "bytes", bin, sizeof(bin));
	records_put_str(&sb, "empty", NULL);
	records_put_str(&sb, "text", "hello");
	size_t pos = 0;
	struct record rec;
	CHECK_INT(records_next(sb.buf, sb.len, &pos, &rec), 1);
	CHECK(record_is(&rec, "bytes"));
	CHECK_INT(rec.value_len, sizeof(bin));
	CHECK(!memcmp(rec.value, bin, sizeof(bin)));
	CHECK_INT(records_next(sb.buf, sb.len, &pos, &rec), 1);
	CHECK(record_is(&rec, "empty"));
	CHECK_INT(rec.value_len, 0);
	CHECK_INT(records_next(sb.buf, sb.len, &pos, &rec), 1);
	CHECK(record_is(&rec, "text") && !record_is(&rec, "tex"));
	struct strbuf v = STRBUF_INIT;
	record_copy(&rec, &v);
	CHECK_STR(v.buf, "hello");
	CHECK_INT(records_next(sb.buf, sb.len, &pos, &rec), 0);
	/* malformed: a length past the end, no length, a bad name, no closing newline */
	static const char *const bad[] = { "a 10\nshort\n", "a\nx\n",	"A 1\nx\n",
					   "a 1\nxy",	    "a -1\n\n", "a 1x\nx\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pos = 0;
		CHECK_INT(records_next(bad[i], strlen(bad[i]), &pos, &rec), -EPROTO);
	}
	strbuf_release(&v);
	strbuf_release(&sb);
}

static void test_package_round_trip(void)
{
	char root[300], deb[300];
	snprintf(root, sizeof(root), "%s/root/etc/x", tmp);
	CHECK_INT(mkdir_p(root, 0755), 0);
	snprintf(root, sizeof(root), "%s/root/etc/x/x.conf", tmp);
	CHECK_INT(write_file_atomic(root, "k = v\n", 6, 0644), 0);
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(deb, sizeof(deb), "%s/x.deb", tmp);
	struct deb_control ctl = { "wazofs-test-x", "1.2-3", "t <t@example.org>",	   "misc",
				   "optional",	    NULL,    "a test\nwith a second line", 0 };
	struct deb_scripts scripts = { "#!/bin/sh\nexit 0\n", NULL, NULL };
	struct error err = ERROR_INIT;
	/* more: wazo/ from memory replaces what the tree has there; parents are added */
	char old[300];
	snprintf(old, sizeof(old), "%s/root/usr/lib/p/wazo", tmp);
	CHECK_INT(mkdir_p(old, 0755), 0);
	snprintf(old, sizeof(old), "%s/root/usr/lib/p/wazo/old", tmp);
	CHECK_INT(write_file_atomic(old, "old\n", 4, 0644), 0);
	const struct deb_entry entries[] = {
		{ "usr/lib/p/wazo", S_IFDIR | 0750, NULL, 0 },
		{ "usr/lib/p/wazo/rules", S_IFREG | 0751, "#!/bin/sh\n", 10 },
		{ "usr/share/doc/x/link", S_IFLNK | 0777, "../t", 4 }
	};
	const char *const replaced[] = { "usr/lib/p/wazo" };
	struct deb_contents more = { entries, 3, replaced, 1, 1 };
	int fd = open(deb, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK_INT(helper_deb_write(fd, root, &more, NULL, &ctl, &scripts, &err), 0);
	close(fd);
	char cmd[900];
	int cmd_n = snprintf(
	    cmd, sizeof(cmd),
	    "dpkg-deb -c %s | awk '{print $1, $2, $6, $7, $8}' | grep -q "
	    "'^drwxr-x--- root/root ./usr/lib/p/wazo/' && "
	    "dpkg-deb -c %s | grep -q '^-rwxr-x--x root/root .* ./usr/lib/p/wazo/rules$' && "
	    "dpkg-deb -c %s | grep -q '^drwxr-xr-x root/root .* ./usr/share/doc/x/$' && "
	    "dpkg-deb -c %s | grep -q ' ./usr/share/doc/x/link -> ../t$' && "
	    "dpkg-deb -c %s | grep -q ' ./etc/x/x.conf$' && "
	    "! dpkg-deb -c %s | grep -q 'wazo/old'",
	    deb, deb, deb, deb, deb, deb);
	CHECK(cmd_n > 0 && cmd_n < (int)sizeof(cmd));
	CHECK_INT(system(cmd), 0);
	struct deb_info d;
	CHECK_INT(helper_deb_read(deb, 0, &d, &err), 0);
	char v[64];
	CHECK_INT(deb_control_field(d.control.buf ? d.control.buf : "", "Version", v, sizeof(v)),
		  0);
	CHECK_STR(v, "1.2-3");
	CHECK(d.control.buf && strstr(d.control.buf, "\n with a second line"));
	deb_info_release(&d);
	/* an invalid version is refused by the writer, with its message */
	ctl.version = "x!";
	fd = open(deb, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(helper_deb_write(fd, root, NULL, NULL, &ctl, &scripts, &err) < 0);
	close(fd);
	CHECK(err.msg.buf && *err.msg.buf);
	error_release(&err);
	/* not a package: the reader's error comes back */
	CHECK(helper_deb_read(root, 0, &d, &err) < 0);
	CHECK(err.msg.len > 0);
	deb_info_release(&d);
	error_release(&err);
}

static void test_refused_archive(void)
{
	char src[300], dest[300], cmd[900];
	snprintf(src, sizeof(src), "%s/evil.tar", tmp);
	snprintf(dest, sizeof(dest), "%s/out", tmp);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p e/wazo && touch e/wazo/plugin.yml && "
		 "tar -cf evil.tar e --transform 's|^e/wazo/plugin.yml|../escape|' 2>/dev/null",
		 tmp);
	CHECK_INT(system(cmd), 0);
	struct error err = ERROR_INIT;
	struct import_limits lim = { .max_bytes = 1 << 20, .max_entries = 100 };
	CHECK_INT(tree_import(src, dest, &lim, &err), -EINVAL);
	CHECK(err.n >= 1);
	CHECK(err.n >= 1 && strstr(err.e[0].message, "escape"));
	char escaped[300];
	snprintf(escaped, sizeof(escaped), "%s/escape", tmp);
	CHECK(access(escaped, F_OK) < 0);
	error_release(&err);
}

static void test_helper_dies_or_is_missing(void)
{
	char crash[300];
	snprintf(crash, sizeof(crash), "%s/crash", tmp);
	CHECK_INT(write_file_atomic(crash, "#!/bin/sh\nkill -SEGV $$\n", 24, 0755), 0);
	const char *real = strdup(archive_helper_path());
	archive_helper_use(crash);
	struct deb_info d;
	struct error err = ERROR_INIT;
	CHECK_INT(helper_deb_read("/nonexistent.deb", 0, &d, &err), -EIO);
	CHECK_STR(err.msg.buf, "wazofs-archive died of signal 11");
	deb_info_release(&d);
	error_release(&err);
	/* one that hangs is killed past its time, and says so */
	char hang[300];
	snprintf(hang, sizeof(hang), "%s/hang", tmp);
	CHECK_INT(write_file_atomic(hang, "#!/bin/sh\nexec sleep 59\n", 24, 0755), 0);
	archive_helper_use(hang);
	archive_helper_set_timeout(1);
	time_t start = time(NULL);
	CHECK_INT(helper_deb_read("/nonexistent.deb", 0, &d, &err), -ETIMEDOUT);
	CHECK_STR(err.msg.buf, "wazofs-archive did not finish within 1 seconds");
	CHECK(time(NULL) - start < 10);
	archive_helper_set_timeout(0);
	deb_info_release(&d);
	error_release(&err);
	archive_helper_use("/nonexistent/wazofs-archive");
	CHECK_INT(helper_deb_read("/nonexistent.deb", 0, &d, &err), -ENOENT);
	CHECK(err.msg.buf && strstr(err.msg.buf, "cannot run /nonexistent/wazofs-archive"));
	deb_info_release(&d);
	error_release(&err);
	archive_helper_use(real);
	free((void *)real);
	error_release(&err);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_records);
	RUN(test_package_round_trip);
	RUN(test_refused_archive);
	RUN(test_helper_dies_or_is_missing);
	rm_rf(tmp);
	return CHECK_SUMMARY();
}
