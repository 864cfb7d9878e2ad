/* archive_extract: a dropped archive extracted with libarchive, within limits, refusing
 * what would escape the tree (archive_extract.h). wazofs-archive's work: the daemon does
 * not link libarchive. */
#include "archive_extract.h"
#include "base/fsutil.h"
#include "base/tree_walk.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Depth of a relative path after resolving "." and ".."; -1 when it climbs above 0. */
static int path_depth(const char *base_dir, const char *rel)
{
	char buf[PATH_MAX * 2];
	snprintf(buf, sizeof(buf), "%s%s%s", base_dir, *base_dir ? "/" : "", rel);
	int depth = 0;
	for (char *save, *tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (--depth < 0)
				return -1;
		} else
			depth++;
	}
	return depth;
}

/* Why entry e may not be extracted, or NULL when it may. */
static const char *refusal(struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	if (!path || !*path)
		return "has no name";
	if (path[0] == '/')
		return "has an absolute path";
	if (path_depth("", path) < 0 || strstr(path, "../") == path || strstr(path, "/../") ||
	    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0) ||
	    strcmp(path, "..") == 0)
		return "climbs out of the tree with '..'";
	const char *hard = archive_entry_hardlink(e);
	if (hard && (hard[0] == '/' || path_depth("", hard) < 0 || strstr(hard, "..")))
		return "is a hard link to a file outside the tree";
	mode_t type = archive_entry_filetype(e);
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			dir[0] = 0;
		if (!target || target[0] == '/' || path_depth(dir, target) < 0)
			return "is a symbolic link pointing outside the tree";
	} else if (!hard && type != AE_IFREG && type != AE_IFDIR) {
		return "is a device, fifo or socket";
	}
	return NULL;
}

enum { LINK_HOPS_MAX = 40 };

/* Takes the first component of rest into comp (rest keeps what follows it): its length,
 * or -1 when it is longer than a name may be. */
static long take_component(char *rest, char comp[NAME_MAX + 2])
{
	char *sep = strchr(rest, '/');
	size_t clen = sep ? (size_t)(sep - rest) : strlen(rest);
	if (clen > NAME_MAX)
		return -1;
	memcpy(comp, rest, clen);
	comp[clen] = 0;
	const char *next = sep ? sep + 1 : rest + clen;
	memmove(rest, next, strlen(next) + 1);
	return (long)clen;
}

/* Follows the link at root/rel the way the kernel would, but with root as the top: 1 when
 * it ends outside root (an absolute target or a ".." above root, through any chain of
 * links), 2 when the chain loops, 0 when it stays inside or stops at a missing name. */
static int link_escapes(const char *root, const char *rel)
{
	char cur[PATH_MAX], rest[PATH_MAX], target[PATH_MAX], p[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s", rel);
	char *slash = strrchr(cur, '/');
	*(slash ? slash : cur) = 0;
	if (path_fmt(p, sizeof(p), "%s/%s", root, rel))
		return 1; /* not a name the kernel resolves: refused as escaping */
	ssize_t n = readlink(p, rest, sizeof(rest) - 1);
	if (n < 0)
		return 0;
	rest[n] = 0;
	if (rest[0] == '/')
		return 1;
	for (int hops = 0;;) {
		if (!rest[0])
			return 0;
		char comp[NAME_MAX + 2];
		long got = take_component(rest, comp);
		if (got < 0)
			return 0; /* ENAMETOOLONG: the kernel stops here */
		size_t clen = (size_t)got;
		if (!clen || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (!cur[0])
				return 1;
			slash = strrchr(cur, '/');
			*(slash ? slash : cur) = 0;
			continue;
		}
		size_t len = strlen(cur);
		if (len + clen + 2 > sizeof(cur))
			return 0;
		snprintf(cur + len, sizeof(cur) - len, "%s%s", len ? "/" : "", comp);
		if (path_fmt(p, sizeof(p), "%s/%s", root, cur))
			return 1; /* as above */
		struct stat st;
		if (lstat(p, &st) < 0)
			return 0; /* resolution stops at a missing name */
		if (S_ISLNK(st.st_mode)) {
			if (++hops > LINK_HOPS_MAX)
				return 2;
			n = readlink(p, target, sizeof(target) - 1);
			if (n < 0)
				return 0;
			target[n] = 0;
			if (target[0] == '/')
				return 1;
			cur[len] = 0;
			char joined[PATH_MAX * 2 + 2];
			snprintf(joined, sizeof(joined), "%s/%s", target, rest);
			size_t jl = strlen(joined);
			if (jl >= sizeof(rest))
				return 2;
			memcpy(rest, joined, jl + 1);
		} else if (!S_ISDIR(st.st_mode) && rest[0]) {
			return 0; /* ENOTDIR */
		}
	}
}

struct link_check {
	const char *root;
	struct error *r;
};

/* Directories deeper than this are not looked into (the entry limits bound the tree) */
enum { LINK_CHECK_DEPTH = 256 };

static int link_visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	const struct link_check *c = ctx;
	if (when == TREE_DIR_PRE)
		return e->depth > LINK_CHECK_DEPTH ? TREE_SKIP : 0;
	if (when != TREE_OTHER || !S_ISLNK(e->st->st_mode))
		return 0;
	int how = link_escapes(c->root, e->rel); /* 1: leads outside, 2: a loop */
	if (!how)
		return 0;
	error_field(c->r, "_archive", "archive", e->rel,
		    how == 2 ? "archive entry '%s' is a loop of symbolic links"
			     : "archive entry '%s' is a symbolic link pointing outside the tree",
		    e->rel);
	return -EINVAL;
}

/* Refuses the first symbolic link under root that leads outside root. The lexical check
 * of each entry cannot see chains ("a -> ." then "x -> a/a/../../.."), so the extracted
 * tree is checked as a whole. Returns 0 or -EINVAL with r filled. */
static int check_links(const char *root, struct error *r)
{
	struct link_check c = { root, r };
	const struct tree_walk w = {
		.visit = link_visit, .ctx = &c, .max_depth = LINK_CHECK_DEPTH + 1, .vanished_ok = 1
	};
	return tree_walk(root, &w) == -EINVAL ? -EINVAL : 0;
}

/* How far an extraction got: entries and bytes so far, against the limits. */
struct extraction {
	struct archive *in, *out;
	const char *dest;
	const struct import_limits *lim;
	unsigned long long bytes;
	unsigned long entries;
};

/* Refuses entry e (named path) when it would escape or pass a limit: 0 or -EINVAL. */
static int admit_entry(struct extraction *x, struct archive_entry *e, const char *path,
		       struct error *err)
{
	const char *why = refusal(e);
	if (why) {
		error_field(err, "_archive", "archive", path, "archive entry '%s' %s", path, why);
		return -EINVAL;
	}
	if (++x->entries > x->lim->max_entries) {
		error_field(err, "_archive", "range", NULL, "the archive has more than %lu entries",
			    x->lim->max_entries);
		return -EINVAL;
	}
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	x->bytes += size > 0 ? (unsigned long long)size : 0;
	if (x->bytes > x->lim->max_bytes) {
		error_field(err, "_archive", "range", NULL,
			    "the archive holds more than %llu bytes", x->lim->max_bytes);
		return -EINVAL;
	}
	return 0;
}

/* Copies the data of the entry being extracted (declared size: size), bounded as its
 * header said and no more. */
static int copy_data(struct extraction *x, const char *path, la_int64_t size, struct error *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	unsigned long long written = 0,
			   before = x->bytes - (size > 0 ? (unsigned long long)size : 0);
	int s;
	while ((s = archive_read_data_block(x->in, &buf, &len, &off)) == ARCHIVE_OK) {
		written += len;
		if (before + written > x->lim->max_bytes) {
			error_field(err, "_archive", "range", NULL,
				    "the archive holds more than %llu bytes", x->lim->max_bytes);
			return -EINVAL;
		}
		if (archive_write_data_block(x->out, buf, len, off) < ARCHIVE_WARN) {
			error_addf(err, "extracting %s: %s", path, archive_error_string(x->out));
			return -EIO;
		}
	}
	if (s < ARCHIVE_WARN) {
		error_field(err, "_archive", "archive", NULL, "damaged archive entry '%s': %s",
			    path, archive_error_string(x->in));
		return -EINVAL;
	}
	return 0;
}

/* Extracts entry e below dest, owned by root. */
/* The name below dest that entry e is written at: dest/NAME, and its hard link's
 * target likewise, of any length (libarchive writes names longer than PATH_MAX). */
static int rename_below(struct extraction *x, struct archive_entry *e, const char *name)
{
	char *full = NULL, *hfull = NULL;
	const char *hard = archive_entry_hardlink(e);
	int rc = 0;
	if (asprintf(&full, "%s/%s", x->dest, name) < 0) {
		full = NULL; /* undefined after a failure */
		rc = -ENOMEM;
	}
	if (!rc && hard && asprintf(&hfull, "%s/%s", x->dest, hard) < 0) {
		hfull = NULL;
		rc = -ENOMEM;
	}
	if (!rc) {
		archive_entry_set_pathname(e, full);
		if (hard)
			archive_entry_set_hardlink(e, hfull);
	}
	free(full);
	free(hfull);
	return rc;
}

/* Extracts entry e below dest, owned by root. */
static int extract_entry(struct extraction *x, struct archive_entry *e, struct error *err)
{
	const char *name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
	char path[PATH_MAX]; /* the name as messages show it (cut when longer) */
	snprintf(path, sizeof(path), "%s", name);
	int rc = admit_entry(x, e, path, err);
	if (rc)
		return rc;
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	if (rename_below(x, e, name)) {
		error_addf(err, "extracting %s: out of memory", path);
		return -ENOMEM;
	}
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(x->out, e) < ARCHIVE_WARN) {
		error_addf(err, "extracting %s: %s", path, archive_error_string(x->out));
		return -EIO;
	}
	rc = copy_data(x, path, size, err);
	if (!rc && archive_write_finish_entry(x->out) < ARCHIVE_WARN) {
		error_addf(err, "extracting %s: %s", path, archive_error_string(x->out));
		rc = -EIO;
	}
	return rc;
}

/* Every entry of the opened archive, then the check of its links. */
static int extract_entries(struct extraction *x, struct error *err)
{
	struct archive_entry *e;
	for (;;) {
		int s = archive_read_next_header(x->in, &e);
		if (s == ARCHIVE_EOF)
			break;
		if (s < ARCHIVE_WARN) {
			error_field(err, "_archive", "archive", NULL, "damaged archive: %s",
				    archive_error_string(x->in));
			return -EINVAL;
		}
		int rc = extract_entry(x, e, err);
		if (rc)
			return rc;
	}
	if (archive_write_close(x->out) != ARCHIVE_OK) {
		error_addf(err, "extracting: %s", archive_error_string(x->out));
		return -EIO;
	}
	return check_links(x->dest, err);
}

static int extract_archive(const char *src, const char *dest, const struct import_limits *lim,
			   struct error *err)
{
	struct extraction x = { archive_read_new(), archive_write_disk_new(), dest, lim, 0, 0 };
	int rc = 0;
	archive_read_support_filter_all(x.in);
	archive_read_support_format_tar(x.in);
	archive_read_support_format_zip(x.in);
	/* Absolute and ".." names are refused above; the names written are dest + the
	 * entry, so libarchive's own absolute-path guard cannot apply. Its symlink and
	 * dot-dot guards stay as a second line. */
	archive_write_disk_set_options(x.out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						  ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
	int opened = strcmp(src, "-") == 0 ? archive_read_open_fd(x.in, 0, 65536)
					   : archive_read_open_filename(x.in, src, 65536);
	if (opened != ARCHIVE_OK) {
		error_field(err, "_archive", "archive", NULL, "cannot read the archive: %s",
			    archive_error_string(x.in));
		rc = -EINVAL;
	} else {
		rc = extract_entries(&x, err);
	}
	archive_read_free(x.in);
	archive_write_free(x.out);
	return rc;
}

int archive_extract(const char *src, const char *dest, const struct import_limits *lim,
		    struct error *err)
{
	int rc = mkdir_p(dest, 0755);
	if (rc) {
		error_addf(err, "%s: %s", dest, strerror(-rc));
		return rc;
	}
	return extract_archive(src, dest, lim, err);
}
