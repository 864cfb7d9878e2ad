/* Unit tests of tree_copy: the in-process copy of a plugin tree gives what `cp -a` gives
 * (names, types, modes, link targets, contents, mtimes, owners when asked), and refuses
 * what a plugin tree cannot hold, naming it. */
#include "base/tree_copy.h"
#include "check.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/wazofs-tree-copy.XXXXXX";

static int sh(const char *fmt, const char *a)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), fmt, a, a, a, a, a);
	return system(cmd);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	CHECK_INT(
	    sh("set -e; cd %s; mkdir -p src/wazo src/lib/deep/er src/ro; "
	       "printf 'name: x\\n' > src/wazo/plugin.yml; printf '#!/bin/sh\\n' > src/wazo/rules; "
	       "chmod 0755 src/wazo/rules; chmod 0640 src/wazo/plugin.yml; "
	       "head -c 300000 /dev/urandom > src/lib/deep/er/blob; : > src/empty; "
	       "ln -s ../wazo/plugin.yml src/lib/link; ln -s /nonexistent src/dangling; "
	       "chmod 0555 src/ro; chown 1234:2345 src/wazo/rules; "
	       "touch -d '2001-02-03 04:05:06' src/lib/deep/er/blob src/lib; "
	       "touch -h -d '2002-02-03 04:05:06' src/lib/link",
	       dir),
	    0);
	char src[256], a[256], b[256];
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(a, sizeof(a), "%s/mine", dir);
	snprintf(b, sizeof(b), "%s/cp", dir);
	struct error err = ERROR_INIT;
	CHECK_INT(tree_copy(src, a, TREE_COPY_OWNERS, &err), 0);
	CHECK(err.msg.len == 0);
	CHECK_INT(sh("cp -a %s/src %s/cp", dir), 0);
	/* the same listing: type, mode, owner, size, mtime, link target, for every path */
	CHECK_INT(
	    sh("cd %s && for d in mine cp; do (cd $d && find . -printf '%%y %%m %%u:%%g %%s %%T@ "
	       "%%p %%l\\n' "
	       "| grep -v '^d .* \\.$' | sort > ../$d.list); done && diff mine.list cp.list >&2",
	       dir),
	    0);
	CHECK_INT(sh("cd %s && diff -r --no-dereference mine cp >&2", dir), 0);

	/* without owners: the copier owns the copy, with the modes of the tree */
	snprintf(b, sizeof(b), "%s/noown", dir);
	CHECK_INT(sh("chmod 4755 %s/src/wazo/rules", dir), 0);
	CHECK_INT(tree_copy(src, b, 0, &err), 0);
	struct stat st;
	snprintf(a, sizeof(a), "%s/noown/wazo/rules", dir);
	CHECK_INT(stat(a, &st), 0);
	CHECK_INT(st.st_uid, getuid());
	CHECK_INT(st.st_mode & 07777, 04755);

	/* a byte limit (the kept sources' source_max_bytes): the tree holds 300,000 bytes
	 * and a few more; .git at the top left out when asked */
	CHECK_INT(sh("mkdir -p %s/src/.git && head -c 500000 /dev/zero > %s/src/.git/pack", dir),
		  0);
	snprintf(b, sizeof(b), "%s/small", dir);
	CHECK_INT(tree_copy_max(src, b, TREE_COPY_NO_GIT, 200000, &err), -EFBIG);
	CHECK(err.msg.buf && strstr(err.msg.buf, "more than 200000 bytes"));
	error_release(&err);
	snprintf(b, sizeof(b), "%s/fits", dir);
	CHECK_INT(tree_copy_max(src, b, TREE_COPY_NO_GIT, 400000, &err), 0);
	snprintf(a, sizeof(a), "%s/fits/.git", dir);
	CHECK(access(a, F_OK) < 0 && errno == ENOENT);
	snprintf(a, sizeof(a), "%s/fits/lib/deep/er/blob", dir);
	CHECK_INT(access(a, F_OK), 0);
	snprintf(b, sizeof(b), "%s/withgit", dir);
	CHECK_INT(tree_copy_max(src, b, 0, 400000, &err), -EFBIG); /* .git counts when kept */
	error_release(&err);
	CHECK_INT(sh("rm -rf %s/src/.git", dir), 0);

	/* refusals */
	CHECK_INT(sh("mkfifo %s/src/fifo", dir), 0);
	snprintf(b, sizeof(b), "%s/withfifo", dir);
	CHECK_INT(tree_copy(src, b, 0, &err), -EINVAL);
	CHECK(err.msg.buf &&
	      strstr(err.msg.buf, "src/fifo: not a file, directory or symbolic link"));
	error_release(&err);
	CHECK_INT(tree_copy(src, b, 0, &err), -EEXIST); /* dest must not exist */
	CHECK(err.msg.buf && strstr(err.msg.buf, "withfifo: File exists"));
	error_release(&err);
	snprintf(b, sizeof(b), "%s/src/wazo/rules", dir);
	CHECK_INT(tree_copy(b, a, 0, &err), -ENOTDIR);
	error_release(&err);
	sh("rm -rf %s", dir);
	return CHECK_SUMMARY();
}
