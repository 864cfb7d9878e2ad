/* source_digest: see source_digest.h. */
#include "source_digest.h"
#include "base/fsutil.h"
#include "base/name_list.h"
#include "base/tree_walk.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The walk's entries: "rel" names, and the newest mtime seen. */
struct seen {
	struct name_list names;
	time_t newest;
};

static int visit(const struct tree_entry *e, enum tree_visit when, void *ctx)
{
	struct seen *s = ctx;
	if (e->depth == 0 || when == TREE_DIR_POST)
		return 0;
	if (when == TREE_DIR_PRE && e->depth == 1 && strcmp(e->rel, ".git") == 0)
		return TREE_SKIP;
	if (!S_ISDIR(e->st->st_mode) && e->st->st_mtime > s->newest)
		s->newest = e->st->st_mtime;
	return name_list_add(&s->names, e->rel) ? -ENOMEM : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One entry into the hash: "TYPE MODE PATH\n", then a file's size and content, or a
 * link's target. */
static int hash_entry(struct sha256_ctx *h, int root_fd, const char *rel, struct error *err)
{
	int fd = open_beneath(root_fd, rel, O_PATH, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = fd < 0 ? -fd : errno;
		if (fd >= 0)
			close(fd);
		error_addf(err, "%s: %s", rel, strerror(e));
		return -e;
	}
	char head[PATH_MAX + 64];
	int type = S_ISDIR(st.st_mode)	 ? 'd'
		   : S_ISLNK(st.st_mode) ? 'l'
		   : S_ISREG(st.st_mode) ? 'f'
					 : '?';
	int n =
	    snprintf(head, sizeof(head), "%c %04o %s\n", type, (unsigned)(st.st_mode & 07777), rel);
	sha256_update(h, (size_t)n, (const uint8_t *)head);
	int rc = 0;
	if (type == 'l') {
		char target[PATH_MAX];
		ssize_t len = readlinkat(fd, "", target, sizeof(target));
		rc = len < 0 ? -errno : 0;
		if (!rc)
			sha256_update(h, (size_t)len, (const uint8_t *)target);
	} else if (type == 'f') {
		int in = open_beneath(root_fd, rel, O_RDONLY | O_NONBLOCK, 0);
		uint8_t buf[65536];
		ssize_t got = 0;
		n = snprintf(head, sizeof(head), "%lld\n", (long long)st.st_size);
		sha256_update(h, (size_t)n, (const uint8_t *)head);
		while (in >= 0 && (got = read(in, buf, sizeof(buf))) > 0)
			sha256_update(h, (size_t)got, buf);
		rc = in < 0 ? in : got < 0 ? -errno : 0;
		if (in >= 0)
			close(in);
	}
	close(fd);
	if (rc)
		error_addf(err, "%s: %s", rel, strerror(-rc));
	return rc;
}

int source_digest_tree(const char *root, struct source_digest *d, struct error *err)
{
	struct seen s = { { 0 }, 0 };
	struct tree_walk w = { visit, &s, 256, 0, err };
	memset(d, 0, sizeof(*d));
	int rc = tree_walk(root, &w);
	int root_fd = rc ? -1 : open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!rc && root_fd < 0) {
		rc = -errno;
		error_addf(err, "%s: %s", root, strerror(errno));
	}
	if (!rc && s.names.n)
		qsort(s.names.v, s.names.n, sizeof(*s.names.v), by_name);
	struct sha256_ctx h;
	sha256_init(&h);
	for (size_t i = 0; !rc && i < s.names.n; i++)
		rc = hash_entry(&h, root_fd, s.names.v[i], err);
	if (!rc) {
		uint8_t digest[SHA256_DIGEST_SIZE];
		sha256_digest(&h, sizeof(digest), digest);
		for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
			snprintf(d->sha256 + 2 * i, 3, "%02x", digest[i]);
		d->newest = s.newest;
	}
	if (root_fd >= 0)
		close(root_fd);
	name_list_free(&s.names);
	return rc;
}
