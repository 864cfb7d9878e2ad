/* pkg_verify: see pkg_verify.h. */
#include "pkg_verify.h"
#include "base/fsutil.h"
#include "dpkg.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The MD5 of path under root in hex: 0, -ENOENT (gone) or -EINVAL (not a regular file
 * any more, a link in its place), or another -errno. */
static int file_md5(int root_fd, const char *path, char hex[33])
{
	int fd = open_in_root(root_fd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -ELOOP)
		return -EINVAL; /* a link where the package put a file */
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	struct md5_ctx ctx;
	md5_init(&ctx);
	uint8_t buf[65536], digest[MD5_DIGEST_SIZE];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		md5_update(&ctx, (size_t)n, buf);
	int rc = n < 0 ? -errno : 0;
	close(fd);
	md5_digest(&ctx, sizeof(digest), digest);
	for (int i = 0; i < MD5_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return rc;
}

/* One line of md5sums ("HEX  PATH"): its verdict into out. */
static void verify_line(int root_fd, const char *line, size_t len, struct strbuf *out)
{
	if (len < 35 || line[32] != ' ' || line[33] != ' ')
		return; /* not a line dpkg writes */
	char path[PATH_MAX], hex[33];
	snprintf(path, sizeof(path), "%.*s", (int)(len - 34), line + 34);
	int rc = file_md5(root_fd, path, hex);
	if (rc == -ENOENT)
		strbuf_addf(out, "missing /%s\n", path);
	else if (rc || strncmp(hex, line, 32))
		strbuf_addf(out, "changed /%s\n", path);
}

int package_verify(const char *root, const char *package, struct strbuf *out, struct error *err)
{
	char path[PATH_MAX];
	struct strbuf sums = STRBUF_INIT;
	int rc = dpkg_info_read(root, package, "md5sums", 64 << 20, &sums, path, sizeof(path));
	if (rc == -ENOENT) {
		strbuf_addf(out,
			    "no checksums: %s was built without DEBIAN/md5sums (as "
			    "wazo-plugind builds): its files cannot be verified\n",
			    package);
		strbuf_release(&sums);
		return out->oom ? -ENOMEM : 0;
	}
	int root_fd = rc ? -1 : open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!rc && root_fd < 0)
		rc = -errno;
	const char *c = sums.buf, *end = sums.buf ? sums.buf + sums.len : NULL;
	while (!rc && c && c < end) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		size_t len = nl ? (size_t)(nl - c) : (size_t)(end - c);
		verify_line(root_fd, c, len, out);
		c += len + 1;
	}
	if (root_fd >= 0)
		close(root_fd);
	if (rc)
		error_addf(err, "%s: %s", path, strerror(-rc));
	strbuf_release(&sums);
	return rc ? rc : out->oom ? -ENOMEM : 0;
}
