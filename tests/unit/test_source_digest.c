/* Unit tests of source_digest: the SHA-256 of a source tree is the same for the same
 * names, modes, contents and link targets wherever the tree is and whatever its times;
 * it changes with any of those; a .git at the top does not count; the date is the
 * newest mtime of its files and links. */
#include "check.h"
#include "plugin/source_digest.h"
#include <stdio.h>
#include <stdlib.h>

static char dir[] = "/tmp/wazofs-digest.XXXXXX";

static int sh(const char *fmt)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "set -e; cd %s; %s", dir, fmt);
	return system(cmd);
}

static void digest_of(const char *name, struct source_digest *d)
{
	char path[600];
	struct error err = ERROR_INIT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK_INT(source_digest_tree(path, d, &err), 0);
	error_release(&err);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	CHECK_INT(
	    sh("mkdir -p a/wazo a/lib; echo x > a/wazo/plugin.yml; echo '#!/bin/sh' > "
	       "a/wazo/rules; chmod 755 a/wazo/rules; ln -s ../wazo/rules a/lib/link; "
	       "touch -h -d '2020-01-01' a/lib/link a/wazo/rules; "
	       "touch -d '2021-06-07 08:09:10 UTC' a/wazo/plugin.yml; cp -a a b; "
	       "touch -d '1999-01-01' b/wazo/rules; cp -r a c; mkdir -p d/.git; cp -a a/. d/; "
	       "echo junk > d/.git/HEAD; touch -d '2030-01-01' d/.git/HEAD"),
	    0);
	struct source_digest a, b, c, d, e;
	digest_of("a", &a);
	digest_of("b", &b);
	digest_of("c", &c);
	digest_of("d", &d);
	CHECK_INT(strlen(a.sha256), 64);
	CHECK_STR(a.sha256, b.sha256); /* another place, other times */
	CHECK_STR(a.sha256, c.sha256); /* cp -r: other times again */
	CHECK_STR(a.sha256, d.sha256); /* .git left out */
	CHECK_INT(a.newest, 1623053350);
	CHECK_INT(d.newest, 1623053350); /* .git's times do not count */
	CHECK_INT(sh("chmod 700 b/wazo/rules"), 0);
	digest_of("b", &e);
	CHECK(strcmp(a.sha256, e.sha256) != 0); /* a mode */
	CHECK_INT(sh("echo y > c/wazo/plugin.yml"), 0);
	digest_of("c", &e);
	CHECK(strcmp(a.sha256, e.sha256) != 0); /* a content */
	CHECK_INT(sh("ln -sfn ../wazo/plugin.yml d/lib/link"), 0);
	digest_of("d", &e);
	CHECK(strcmp(a.sha256, e.sha256) != 0); /* a link's target */
	CHECK_INT(sh("mv a/lib a/lib2"), 0);
	digest_of("a", &e);
	CHECK(strcmp(a.sha256, e.sha256) != 0); /* a name */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return CHECK_SUMMARY();
}
