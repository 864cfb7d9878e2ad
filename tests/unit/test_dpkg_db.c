/* Unit tests of core/plugin/dpkg_db: the dpkg database read in process must give what
 * the real dpkg-query gives on the same database (status file, journal in updates/,
 * continuation lines, every state), and the journal must win over the status file. */
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "check.h"
#include "plugin/dpkg_db.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char status_file[] =
    "Package: wazo-plugind-zeta-demo\nStatus: install ok installed\nMaintainer: m "
    "<m@example.org>\nPriority: optional\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 2.0-1\n"
    "Depends: wazo-plugind-alpha-demo (>= 1), asterisk\nDescription: z\n long text\n .\n"
    " more\n\n"
    "Package: wazo-plugind-alpha-demo\nStatus: install ok half-configured\nMaintainer: m "
    "<m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 1.0\nDescription: a\n\n"
    "Package: wazo-plugind-gone-demo\nStatus: deinstall ok config-files\nMaintainer: m "
    "<m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 0.1\nDescription: g\n\n"
    "Package: wazo-plugind-broken-demo\nStatus: install reinstreq half-installed\nMaintainer: m "
    "<m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 0.2\nDescription: b\n\n"
    "Package: wazo-plugind-never-demo\nStatus: purge ok not-installed\n"
    "Architecture: all\n\n"
    "Package: asterisk\nStatus: hold ok installed\nMaintainer: m <m@example.org>\nSection: comm\n"
    "Architecture: amd64\nVersion: 8:20.1\nDepends: libc6 (>= 2.34),\n libssl3\n"
    "Description: pbx\n\n"
    "Package: wazo-plugind-old-demo\nStatus: install ok installed\nMaintainer: m <m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 1\nDescription: o\n";

/* the journal dpkg leaves between checkpoints: 0002 is applied after 0001 and wins */
static const char journal_1[] =
    "Package: wazo-plugind-old-demo\nStatus: install ok unpacked\nMaintainer: m <m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 2\n"
    "Description: o\n\n";
static const char journal_2[] =
    "Package: wazo-plugind-old-demo\nStatus: install ok installed\nMaintainer: m <m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 3\n"
    "Description: o\n\n"
    "Package: wazo-plugind-new-acme\nStatus: install ok installed\nMaintainer: m <m@example.org>\n"
    "Section: wazo-plugind-plugin\nArchitecture: all\nVersion: 9\n"
    "Description: n\n";

static int as_line(const struct dpkg_record *rec, void *ctx)
{
	strbuf_addf(ctx, "%s\t%s\t%s\t%s\t%s\n", rec->status, rec->package, rec->version,
		    rec->section, rec->depends);
	return 0;
}

static int stop_at_second(const struct dpkg_record *rec, void *ctx)
{
	(void)rec;
	return ++*(int *)ctx == 2 ? -ECANCELED : 0;
}

/* Sorts the lines of sb in place (the record order of the two readers may differ). */
static void sort_lines(struct strbuf *sb)
{
	char path[] = "/tmp/wazofs-unit-lines.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write_all(fd, sb->buf ? sb->buf : "", sb->len)) {
		CHECK(!"temp file");
		return;
	}
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "LC_ALL=C sort %s", path);
	FILE *f = popen(cmd, "r");
	strbuf_release(sb);
	char buf[4096];
	size_t n;
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(sb, buf, n);
	if (f)
		pclose(f);
	unlink(path);
}

/* What the real dpkg-query shows of the database under admindir, in the same form. */
static void dpkg_query(const char *admindir, struct strbuf *out)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "dpkg-query --admindir=%s --show --showformat "
		 "'${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Section}\\t${Depends}\\n'"
		 " | sed 's/ \\t/\\t/'",
		 admindir);
	FILE *f = popen(cmd, "r");
	char buf[4096];
	size_t n;
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	CHECK(f && pclose(f) == 0);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK_INT(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static void test_status_abbrev(void)
{
	char a[4];
	CHECK_INT(dpkg_status_abbrev("install ok installed", a), 0);
	CHECK_STR(a, "ii");
	CHECK_INT(dpkg_status_abbrev("deinstall ok config-files", a), 0);
	CHECK_STR(a, "rc");
	CHECK_INT(dpkg_status_abbrev("install reinstreq half-installed", a), 0);
	CHECK_STR(a, "iHR");
	CHECK_INT(dpkg_status_abbrev("hold ok triggers-pending", a), 0);
	CHECK_STR(a, "ht");
	CHECK_INT(dpkg_status_abbrev("install ok", a), -EINVAL);
	CHECK_INT(dpkg_status_abbrev("install ok installed extra", a), -EINVAL);
	CHECK_INT(dpkg_status_abbrev("install fine installed", a), -EINVAL);
}

static void test_same_as_dpkg_query(void)
{
	char root[] = "/tmp/wazofs-unit-dpkgdb.XXXXXX";
	if (!mkdtemp(root)) {
		CHECK(!"mkdtemp");
		return;
	}
	char admin[128], updates[160];
	snprintf(admin, sizeof(admin), "%s/var/lib/dpkg", root);
	snprintf(updates, sizeof(updates), "%s/updates", admin);
	CHECK_INT(mkdir_p(updates, 0755), 0);
	CHECK_INT(mkdir_p(admin, 0755), 0);

	/* no status file yet: no package, no error */
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
	CHECK_INT(dpkg_db_read(admin, as_line, &got), 0);
	CHECK_INT(got.len, 0);

	put(admin, "status", status_file);
	CHECK_INT(dpkg_db_read(admin, as_line, &got), 0);
	dpkg_query(admin, &want);
	sort_lines(&got);
	sort_lines(&want);
	CHECK_STR(got.buf, want.buf);
	/* the fields themselves, so that agreeing on nothing cannot pass */
	CHECK(got.buf && strstr(got.buf, "ii\twazo-plugind-zeta-demo\t2.0-1\twazo-plugind-plugin\t"
					 "wazo-plugind-alpha-demo (>= 1), asterisk\n"));
	CHECK(got.buf && strstr(got.buf, "iHR\twazo-plugind-broken-demo\t0.2\t"));
	CHECK(got.buf && strstr(got.buf, "hi\tasterisk\t8:20.1\tcomm\tlibc6 (>= 2.34), libssl3"));
	CHECK(got.buf && !strstr(got.buf, "never"));

	/* the journal: its records replace the status file's, in order */
	put(updates, "0001", journal_1);
	put(updates, "0002", journal_2);
	put(updates, "tmp.i",
	    "Package: wazo-plugind-half-demo\nStatus: install ok installed\nMaintainer: m "
	    "<m@example.org>\n");
	strbuf_release(&got);
	strbuf_release(&want);
	CHECK_INT(dpkg_db_read(admin, as_line, &got), 0);
	dpkg_query(admin, &want);
	sort_lines(&got);
	sort_lines(&want);
	CHECK_STR(got.buf, want.buf);
	CHECK(got.buf && strstr(got.buf, "ii\twazo-plugind-old-demo\t3\t"));
	CHECK(got.buf && strstr(got.buf, "ii\twazo-plugind-new-acme\t9\t"));
	CHECK(got.buf && !strstr(got.buf, "half-demo"));

	/* the callback's error ends the read */
	int calls = 0;
	CHECK_INT(dpkg_db_read(admin, stop_at_second, &calls), -ECANCELED);
	CHECK_INT(calls, 2);
	strbuf_release(&got);
	strbuf_release(&want);
	rm_rf(root);
}

int main(void)
{
	RUN(test_status_abbrev);
	RUN(test_same_as_dpkg_query);
	return CHECK_SUMMARY();
}
