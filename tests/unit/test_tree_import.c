/* Unit tests of core/tree_import and core/incoming_tracker: archives (good and hostile)
 * written with libarchive, the plugin root search, and when a copy counts as complete. */
#include "base/fsutil.h"
#include "check.h"
#include "daemon/incoming_tracker.h"
#include "jobs/tree_import.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[256];

struct member {
	const char *path;
	mode_t type;
	const char *data; /* file content, or link target */
};

static void write_tar(const char *path, const struct member *m, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_open_filename(a, path);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_filetype(e, m[i].type);
		archive_entry_set_perm(e, 0755);
		if (m[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, m[i].data);
		size_t len = m[i].type == AE_IFREG ? strlen(m[i].data) : 0;
		archive_entry_set_size(e, (la_int64_t)len);
		archive_write_header(a, e);
		if (len)
			archive_write_data(a, m[i].data, len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static int import(const char *name, const struct member *m, size_t n, struct error *r)
{
	char arc[512], dest[512];
	struct error err = ERROR_INIT;
	snprintf(arc, sizeof(arc), "%s/%s", tmp, name);
	snprintf(dest, sizeof(dest), "%s/out-%s", tmp, name);
	write_tar(arc, m, n);
	struct import_limits lim = { .max_bytes = 1 << 20, .max_entries = 50 };
	int rc = tree_import(arc, dest, &lim, &err);
	if (rc && !err.n)
		fprintf(stderr, "  import %s: %s\n", name, error_msg(&err));
	error_take_fields(r, &err); /* the refused fields; the message stays here */
	error_release(&err);
	return rc;
}

#define PLUGIN_FILES                                                                \
	{ "p/wazo/plugin.yml", AE_IFREG, "name: a\nnamespace: b\nversion: '1'\n" }, \
	{                                                                           \
		"p/wazo/rules", AE_IFREG, "#!/bin/sh\n"                             \
	}

static void test_good_archive(void)
{
	struct member m[] = { PLUGIN_FILES, { "p/link", AE_IFLNK, "wazo/rules" } };
	struct error r = ERROR_INIT;
	CHECK_INT(import("good.tar.gz", m, 3, &r), 0);
	char dest[512], root[1024];
	snprintf(dest, sizeof(dest), "%s/out-good.tar.gz", tmp);
	CHECK_INT(tree_find_plugin_root(dest, root, sizeof(root), &r), 0);
	CHECK(strstr(root, "/out-good.tar.gz/p") != NULL);
	error_release(&r);
}

static void test_hostile(const char *name, struct member bad, const char *want)
{
	struct member m[] = { PLUGIN_FILES, bad };
	struct error r = ERROR_INIT;
	CHECK_INT(import(name, m, 3, &r), -EINVAL);
	CHECK(r.n > 0);
	const char *field = r.n && r.e ? r.e[0].field : "";
	const char *message = r.n && r.e ? r.e[0].message : "";
	CHECK_STR(field, "_archive");
	if (!strstr(message, want))
		fprintf(stderr, "  %s: message is '%s'\n", name, message);
	CHECK(strstr(message, want) != NULL);
	error_release(&r);
}

/* A chain of links that each look inside the tree: "a -> ." makes "a/a/a" the link's own
 * directory, so the ".." after it climb out. Refused whichever entry comes first. */
static void test_symlink_chain(void)
{
	struct member chain[] = { PLUGIN_FILES,
				  { "p/wazo/a", AE_IFLNK, "." },
				  { "p/wazo/esc", AE_IFLNK, "a/a/a/a/../../../../etc/passwd" } };
	struct error r = ERROR_INIT;
	CHECK_INT(import("chain.tar.gz", chain, 4, &r), -EINVAL);
	CHECK(r.n >= 1 && strstr(r.e[0].message, "'p/wazo/esc'") &&
	      strstr(r.e[0].message, "symbolic link"));
	struct member reversed[] = { PLUGIN_FILES,
				     { "p/wazo/esc", AE_IFLNK, "a/a/a/a/../../../../etc/passwd" },
				     { "p/wazo/a", AE_IFLNK, "." } };
	CHECK_INT(import("chain2.tar.gz", reversed, 4, &r), -EINVAL);
	CHECK(r.n >= 1 && strstr(r.e[0].message, "symbolic link"));
	struct member loop[] = { PLUGIN_FILES,
				 { "p/x", AE_IFLNK, "y/.." },
				 { "p/y", AE_IFLNK, "x/.." } };
	CHECK_INT(import("loop.tar.gz", loop, 4, &r), -EINVAL);
	struct member inside[] = { PLUGIN_FILES,
				   { "p/wazo/a", AE_IFLNK, "." },
				   { "p/wazo/up", AE_IFLNK, "a/a/../rules" },
				   { "p/lib/l", AE_IFLNK, "../wazo/a/rules" },
				   { "p/dangling", AE_IFLNK, "nowhere/../../x" } };
	CHECK_INT(import("inside.tar.gz", inside, 6, &r), 0);
	error_release(&r);
}

static void test_limits(void)
{
	struct member m[60];
	char names[60][32];
	for (int i = 0; i < 60; i++) {
		snprintf(names[i], sizeof(names[i]), "p/f%d", i);
		m[i] = (struct member){ names[i], AE_IFREG, "x" };
	}
	struct error r = ERROR_INIT;
	CHECK_INT(import("many.tar.gz", m, 60, &r), -EINVAL);
	CHECK(strstr(r.e[0].message, "more than 50 entries") != NULL);
	error_release(&r);
	char *big = malloc((1 << 20) + 2);
	memset(big, 'x', (1 << 20) + 1);
	big[(1 << 20) + 1] = 0;
	struct member b[] = { { "p/big", AE_IFREG, big } };
	CHECK_INT(import("big.tar.gz", b, 1, &r), -EINVAL);
	CHECK(strstr(r.e[0].message, "more than 1048576 bytes") != NULL);
	free(big);
	error_release(&r);
}

static void test_not_an_archive(void)
{
	char path[512], dest[512];
	snprintf(path, sizeof(path), "%s/notes.txt", tmp);
	snprintf(dest, sizeof(dest), "%s/out-notes", tmp);
	write_file_atomic(path, "hi\n", 3, 0644);
	struct error err = ERROR_INIT;
	struct import_limits lim = { .max_bytes = 1 << 20, .max_entries = 50 };
	CHECK_INT(tree_import(path, dest, &lim, &err), -EINVAL);
	CHECK(err.n == 1 && strstr(err.e[0].message, "neither a plugin directory nor an archive"));
	error_release(&err);
	CHECK(tree_is_archive_name("x.tar.zst"));
	CHECK(!tree_is_archive_name("x.tar.bz3"));
	error_release(&err);
}

static int take(struct incoming_tracker *t, const char *want)
{
	struct name_list l = { 0 };
	tracker_take_complete(t, &l, NULL, NULL);
	int found = name_list_has(&l, want);
	name_list_free(&l);
	return found;
}

static void test_tracker(void)
{
	struct incoming_tracker *t = tracker_new(50, 400);
	/* a writer that exits: complete after the settle delay */
	pid_t child = fork();
	if (child == 0) {
		usleep(200000);
		_exit(0);
	}
	tracker_touch(t, "a", child);
	CHECK(!take(t, "a"));
	waitpid(child, NULL, 0);
	usleep(100000);
	CHECK(take(t, "a"));
	CHECK(!take(t, "a")); /* taken once */
	/* a writer that stays alive (us): complete after the quiet period, not before */
	tracker_touch(t, "b", getpid());
	usleep(100000);
	CHECK(!take(t, "b"));
	usleep(400000);
	CHECK(take(t, "b"));
	/* an open file holds the entry back whatever the time */
	tracker_open(t, "c", getpid());
	tracker_touch(t, "c", 0);
	usleep(500000);
	CHECK(!take(t, "c"));
	tracker_close(t, "c");
	CHECK(take(t, "c"));
	unsigned long g = tracker_generation(t, "c");
	tracker_touch(t, "c", 0);
	CHECK_INT(tracker_generation(t, "c"), g + 1);
	tracker_forget(t, "c");
	CHECK_INT(tracker_generation(t, "c"), 0);
	tracker_free(t);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/wazofs-unit-import.XXXXXX");
	if (!mkdtemp(tmp))
		return 2;
	RUN(test_good_archive);
	RUN(test_hostile, "abs.tar.gz", (struct member){ "/etc/evil", AE_IFREG, "x" },
	    "absolute path");
	RUN(test_hostile, "dotdot.tar.gz", (struct member){ "p/../../evil", AE_IFREG, "x" },
	    "'..'");
	RUN(test_hostile, "sym.tar.gz", (struct member){ "p/l", AE_IFLNK, "../../etc" },
	    "symbolic link");
	RUN(test_hostile, "abssym.tar.gz", (struct member){ "p/l", AE_IFLNK, "/etc" },
	    "symbolic link");
	RUN(test_hostile, "fifo.tar.gz", (struct member){ "p/fifo", AE_IFIFO, "" }, "device, fifo");
	RUN(test_symlink_chain);
	RUN(test_limits);
	RUN(test_not_an_archive);
	RUN(test_tracker);
	rm_rf(tmp);
	return CHECK_SUMMARY();
}
