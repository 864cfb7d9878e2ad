/* Unit tests of wazo_version: what a Wazo server's WAZO-VERSION may hold (the first
 * line, a version), what it may not (empty, binary, huge, not a version, not a file),
 * and the bounds min/max_wazo_version against the running version. */
#include "check.h"
#include "plugin/wazo_version.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/wazofs-wazo-version.XXXXXX";
static char file[512];

/* Writes len bytes of data as the file; returns what wazo_version_read says. */
static int read_with(const char *data, size_t len, char *out, size_t out_len, struct error *err)
{
	FILE *f = fopen(file, "w");
	if (!f)
		return -EIO;
	fwrite(data, 1, len, f);
	fclose(f);
	error_release(err);
	return wazo_version_read(root, out, out_len, err);
}

static void test_read(void)
{
	char v[64], dir[600];
	struct error err = ERROR_INIT;
	CHECK_INT(wazo_version_read(root, v, sizeof(v), &err), -ENOENT);
	snprintf(dir, sizeof(dir), "%s/" WAZO_VERSION_DIR, root);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(read_with("25.17\n", 6, v, sizeof(v), &err), 0);
	CHECK_STR(v, "25.17");
	CHECK_INT(read_with("26.01.2 \r\nsecond line\n", 22, v, sizeof(v), &err), 0);
	CHECK_STR(v, "26.01.2");
	CHECK_INT(read_with("24.01", 5, v, sizeof(v), &err), 0); /* no newline */
	CHECK_STR(v, "24.01");
	CHECK_INT(read_with("", 0, v, sizeof(v), &err), -EINVAL);
	CHECK(strstr(error_msg(&err), "empty"));
	CHECK_STR(v, "");
	CHECK_INT(read_with("\n25.17\n", 7, v, sizeof(v), &err), -EINVAL);
	CHECK_INT(read_with("25\0\1\2", 5, v, sizeof(v), &err), -EINVAL);
	CHECK(strstr(error_msg(&err), "binary"));
	CHECK_INT(read_with("not a version\n", 14, v, sizeof(v), &err), -EINVAL);
	CHECK(strstr(error_msg(&err), "'not a version' is not a Wazo version"));
	CHECK_INT(read_with("25.17; rm -rf /\n", 16, v, sizeof(v), &err), -EINVAL);
	static char huge[WAZO_VERSION_MAX_BYTES + 2];
	memset(huge, '9', sizeof(huge));
	CHECK_INT(read_with(huge, sizeof(huge), v, sizeof(v), &err), -EFBIG);
	CHECK_INT(read_with(huge, 100, v, sizeof(v), &err), -EINVAL); /* a line past 63 */
	/* not a regular file: a link is not followed, a FIFO not waited on */
	unlink(file);
	CHECK_INT(symlink("/etc/debian_version", file), 0);
	error_release(&err);
	CHECK(wazo_version_read(root, v, sizeof(v), &err) < 0);
	unlink(file);
	CHECK_INT(mkfifo(file, 0644), 0);
	error_release(&err);
	CHECK_INT(wazo_version_read(root, v, sizeof(v), &err), -EINVAL);
	CHECK(strstr(error_msg(&err), "not a regular file"));
	unlink(file);
	error_release(&err);
}

static void test_fits(void)
{
	char why[256];
	CHECK_INT(wazo_version_fits(NULL, NULL, "25.17", why, sizeof(why)), 1);
	CHECK_STR(why, "");
	CHECK_INT(wazo_version_fits("25.05", "25.12", "25.05", why, sizeof(why)), 1);
	CHECK_INT(wazo_version_fits("25.05", "25.12", "25.12", why, sizeof(why)), 1);
	CHECK_INT(wazo_version_fits("", "", "25.12", why, sizeof(why)), 1);
	CHECK_INT(wazo_version_fits("25.05", "25.12", "25.13", why, sizeof(why)), 0);
	CHECK_STR(why, "max_wazo_version 25.12 is older than the running Wazo 25.13");
	CHECK_INT(wazo_version_fits("25.05", "25.12", "25.4", why, sizeof(why)), 0);
	CHECK_STR(why, "min_wazo_version 25.05 is newer than the running Wazo 25.4");
	CHECK_INT(wazo_version_fits("25.5", NULL, "25.17", why, sizeof(why)), 1); /* 17 > 5 */
	CHECK_INT(wazo_version_fits("abc", NULL, "25.17", why, sizeof(why)), 0);
	CHECK(strstr(why, "cannot be compared"));
	CHECK(wazo_version_valid("25.17"));
	CHECK(wazo_version_valid("23.10.1~rc1+b2"));
	CHECK(!wazo_version_valid("v25"));
	CHECK(!wazo_version_valid(""));
	CHECK(!wazo_version_valid("25 17"));
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	snprintf(file, sizeof(file), "%s/" WAZO_VERSION_DIR "/" WAZO_VERSION_FILE, root);
	RUN(test_read);
	RUN(test_fits);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		return 1;
	return CHECK_SUMMARY();
}
