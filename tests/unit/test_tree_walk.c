/* Unit tests of tree_walk, the one directory walk of core/, and of the helpers on it:
 * the order of the visits, links never followed, skipping, errors and their path, the
 * depth bound, entries removed meanwhile; rm_rf and chown_tree over a tree with a link
 * leading out of it. */
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/tree_copy.h"
#include "base/tree_walk.h"
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/wazofs-tree-walk.XXXXXX";

static int sh(const char *fmt)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "set -e; cd %s; %s", dir, fmt);
	return system(cmd);
}

static char *at(const char *rel)
{
	static char p[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
	return p[i];
}

/* Records "WHEN rel depth" lines; skips directories named "skip"; fails at "fail". */
struct record {
	struct strbuf log;
	int remove_siblings; /* the first file visited removes v/f1 and v/f2 but itself */
};

static int record_visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	struct record *r = ctx;
	static const char *names[] = { "pre", "post", "other" };
	strbuf_addf(&r->log, "%s %s %d%s\n", names[when], e->rel[0] ? e->rel : ".", e->depth,
		    when == TREE_OTHER && S_ISLNK(e->st->st_mode) ? " link" : "");
	if (r->remove_siblings && when == TREE_OTHER) {
		for (int i = 1; i <= 2; i++) {
			char f[512];
			snprintf(f, sizeof(f), "%s/v/f%d", dir, i);
			if (strcmp(f, e->path))
				unlink(f);
		}
		r->remove_siblings = 0;
	}
	const char *base = strrchr(e->rel, '/');
	base = base ? base + 1 : e->rel;
	if (strcmp(base, "fail") == 0)
		return -EPERM;
	return when == TREE_DIR_PRE && strcmp(base, "skip") == 0 ? TREE_SKIP : 0;
}

/* The walk of a tree with one entry per directory (so readdir's order does not matter). */
static void order_and_links(void)
{
	CHECK_INT(sh("mkdir -p t/a/b t/s/skip/inner out; : > t/a/b/file; : > t/s/skip/inner/x; "
		     "ln -s ../../out t/a/b/link"),
		  0);
	struct record r = { STRBUF_INIT, 0 };
	const struct tree_walk w = { .visit = record_visit, .ctx = &r, .max_depth = 10 };
	CHECK_INT(tree_walk(at("t/a"), &w), 0);
	/* b's two entries in either order */
	const char *one =
	    "pre . 0\npre b 1\nother b/file 2\nother b/link 2 link\npost b 1\npost . 0\n";
	const char *two =
	    "pre . 0\npre b 1\nother b/link 2 link\nother b/file 2\npost b 1\npost . 0\n";
	const char *got = r.log.buf ? r.log.buf : "";
	CHECK(strcmp(got, one) == 0 || strcmp(got, two) == 0);
	if (strcmp(got, one) && strcmp(got, two))
		fprintf(stderr, "# got:\n%s", got);
	strbuf_release(&r.log);

	/* TREE_SKIP: neither the entries nor the post visit of that directory */
	r = (struct record){ STRBUF_INIT, 0 };
	CHECK_INT(tree_walk(at("t/s"), &w), 0);
	CHECK_STR(r.log.buf, "pre . 0\npre skip 1\npost . 0\n");
	strbuf_release(&r.log);

	/* a file as the root: one visit */
	r = (struct record){ STRBUF_INIT, 0 };
	CHECK_INT(tree_walk(at("t/a/b/file"), &w), 0);
	CHECK_STR(r.log.buf, "other . 0\n");
	strbuf_release(&r.log);
}

static void errors(void)
{
	CHECK_INT(sh("mkdir -p e/d1/d2/d3 e/x; : > e/x/fail"), 0);
	struct error err = ERROR_INIT;
	struct record r = { STRBUF_INIT, 0 };
	struct tree_walk w = { .visit = record_visit, .ctx = &r, .max_depth = 10, .err = &err };
	/* a visit's error ends the walk, and is returned as it is */
	CHECK_INT(tree_walk(at("e/x"), &w), -EPERM);
	CHECK_STR(r.log.buf, "pre . 0\nother fail 1\n");
	/* deeper than max_depth: -ELOOP naming the directory */
	w.max_depth = 1;
	CHECK_INT(tree_walk(at("e/d1"), &w), -ELOOP);
	CHECK_STR(err.msg.buf, at("e/d1/d2/d3: Too many levels of symbolic links"));
	/* a missing root */
	error_release(&err);
	w.vanished_ok = 1;
	CHECK_INT(tree_walk(at("e/none"), &w), -ENOENT);
	CHECK_STR(err.msg.buf, at("e/none: No such file or directory"));
	error_release(&err);
	strbuf_release(&r.log);
}

static void vanished(void)
{
	CHECK_INT(sh("mkdir -p v; : > v/f1; : > v/f2"), 0);
	struct error err = ERROR_INIT;
	/* the first file visited removes the other, whose name was read already */
	struct record r = { STRBUF_INIT, 1 };
	struct tree_walk w = { .visit = record_visit, .ctx = &r, .max_depth = 4, .err = &err };
	CHECK_INT(tree_walk(at("v"), &w), -ENOENT);
	CHECK(strstr(err.msg.buf ? err.msg.buf : "", ": No such file or directory") != NULL);
	strbuf_release(&r.log);
	CHECK_INT(sh(": > v/f1; : > v/f2"), 0);
	r = (struct record){ STRBUF_INIT, 1 };
	w.vanished_ok = 1;
	CHECK_INT(tree_walk(at("v"), &w), 0);
	const char *got = r.log.buf ? r.log.buf : "";
	CHECK(strcmp(got, "pre . 0\nother f1 1\npost . 0\n") == 0 ||
	      strcmp(got, "pre . 0\nother f2 1\npost . 0\n") == 0);
	strbuf_release(&r.log);
	error_release(&err);
}

static void remove_and_chown(void)
{
	/* 300 levels (deeper than any copy's bound), a read-only directory, a link out */
	CHECK_INT(sh("mkdir -p keep r/ro; : > keep/target; p=r; for i in $(seq 300); do "
		     "p=$p/d; done; mkdir -p $p; : > $p/leaf; ln -s ../keep r/out; "
		     "ln -s ../keep/target r/ro/t; chmod 0555 r/ro"),
		  0);
	CHECK_INT(chown_tree(at("r"), 4321, 4322), 0);
	struct stat st;
	CHECK_INT(lstat(at("r/ro/t"), &st), 0);
	CHECK_INT(st.st_uid, 4321);
	CHECK_INT(lstat(at("r/ro"), &st), 0);
	CHECK_INT(st.st_gid, 4322);
	CHECK_INT(lstat(at("keep/target"), &st), 0);
	CHECK_INT(st.st_uid, getuid()); /* the link's target is not the tree's */
	CHECK_INT(sh("test \"$(find r -not -user 4321 | wc -l)\" = 0"), 0);
	CHECK_INT(rm_rf(at("r")), 0);
	CHECK(access(at("r"), F_OK) < 0 && errno == ENOENT);
	CHECK_INT(access(at("keep/target"), F_OK), 0);
	CHECK_INT(rm_rf(at("r")), 0); /* nothing there: nothing to do */
	CHECK_INT(rm_rf(at("keep/target")), 0);
	CHECK(access(at("keep/target"), F_OK) < 0);
}

/* rm_rf and chown_tree go by descriptors: a tree deeper than PATH_MAX (which a walk by
 * path cannot reach) is changed and removed whole, and a directory that is a link by
 * the time it is reached is taken as a link. */
static void deep_and_swapped(void)
{
	char name[201];
	memset(name, 'd', 200);
	name[200] = 0;
	CHECK_INT(sh("mkdir deep"), 0);
	int fd = open(at("deep"), O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	for (int i = 0; fd >= 0 && i < 30; i++) { /* 30 x 201 bytes: past PATH_MAX */
		CHECK_INT(mkdirat(fd, name, 0755), 0);
		int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = sub;
	}
	CHECK(fd >= 0);
	if (fd >= 0) {
		int f = openat(fd, "leaf", O_WRONLY | O_CREAT, 0644);
		CHECK(f >= 0);
		if (f >= 0)
			close(f);
		close(fd);
	}
	CHECK_INT(chown_tree(at("deep"), 65534, 65534), 0);
	CHECK_INT(rm_rf(at("deep")), 0);
	CHECK_INT(access(at("deep"), F_OK), -1);
	/* a link where a directory was: removed as a link, its target untouched */
	CHECK_INT(sh("mkdir -p outside/keep swap && touch outside/keep/f && ln -s ../outside/keep "
		     "swap/d"),
		  0);
	CHECK_INT(rm_rf(at("swap")), 0);
	CHECK_INT(access(at("outside/keep/f"), F_OK), 0);
	CHECK_INT(sh("mkdir swap2 && ln -s ../outside swap2/d"), 0);
	CHECK_INT(chown_tree(at("swap2"), 65534, 65534), 0);
	struct stat st;
	CHECK_INT(stat(at("outside/keep/f"), &st), 0);
	CHECK_INT(st.st_uid, 0);
	CHECK_INT(rm_rf(at("swap2")), 0);
	CHECK_INT(rm_rf(at("outside")), 0);
}

/* A writer that swaps directory d of tree for a link to outside and back, as fast as it
 * can, until killed (a build's survivor, a member changing a copy). */
static pid_t start_swapper(const char *tree, const char *outside)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char d[600], away[600];
	snprintf(d, sizeof(d), "%s/d", tree);
	snprintf(away, sizeof(away), "%s/d.away", tree);
	for (;;) {
		if (rename(d, away) == 0) {
			symlink(outside, d);
			usleep(300);
			unlink(d);
			rename(away, d);
			usleep(300);
		}
	}
}

/* rm_rf, chown_tree and tree_copy of a tree whose directory is swapped for a link to
 * another directory while they walk it: what the link leads to is never removed,
 * changed or copied (a walk by path would follow it in one round or another). */
static void walks_race_a_swapper(void)
{
	CHECK_INT(sh("mkdir -p race-outside && for i in $(seq 1 50); do echo secret > "
		     "race-outside/s$i; done && chmod 600 race-outside/*"),
		  0);
	int leaked = 0, lost = 0, chowned = 0;
	for (int round = 0; round < 40; round++) {
		CHECK_INT(sh("rm -rf race race-copy && mkdir -p race/d && for i in $(seq 1 50); do "
			     "echo x > race/d/f$i; done"),
			  0);
		pid_t sw = start_swapper(at("race"), at("race-outside"));
		struct error err = ERROR_INIT;
		switch (round % 3) {
		case 0: rm_rf(at("race")); break;
		case 1: chown_tree(at("race"), 65534, 65534); break;
		default: tree_copy(at("race"), at("race-copy"), 0, &err); break;
		}
		kill(sw, SIGKILL);
		waitpid(sw, NULL, 0);
		error_release(&err);
		for (int i = 1; i <= 50; i++) {
			char f[64];
			struct stat st;
			snprintf(f, sizeof(f), "race-outside/s%d", i);
			if (stat(at(f), &st) < 0)
				lost++;
			else if (st.st_uid != 0)
				chowned++;
			/* a link copied as a link is right; a directory holding the secrets is not
			 */
			struct stat dst;
			snprintf(f, sizeof(f), "race-copy/d/s%d", i);
			if (lstat(at("race-copy/d"), &dst) == 0 && S_ISDIR(dst.st_mode) &&
			    access(at(f), F_OK) == 0)
				leaked++;
		}
	}
	CHECK_INT(lost, 0);
	CHECK_INT(chowned, 0);
	CHECK_INT(leaked, 0);
	CHECK_INT(sh("rm -rf race race-copy race-outside"), 0);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(order_and_links);
	RUN(errors);
	RUN(vanished);
	RUN(remove_and_chown);
	RUN(deep_and_swapped);
	RUN(walks_race_a_swapper);
	rm_rf(dir);
	return CHECK_SUMMARY();
}
