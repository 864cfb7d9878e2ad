/* wazo_version: see wazo_version.h. */
#include "wazo_version.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "version_cmp.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wazo_version_valid(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= 64 || !isdigit((unsigned char)v[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr(".+~-", v[i]))
			return 0;
	return 1;
}

/* The file's bytes: 0, or -errno with err saying why. */
static int read_version_file(const char *path, struct strbuf *sb, struct error *err)
{
	/* not a link, not a FIFO that would wait for a writer */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st = { 0 };
	int rc = fd < 0 || fstat(fd, &st) < 0 ? (errno ? -errno : -EIO) : 0;
	if (rc == -ENOENT)
		; /* said by the caller */
	else if (rc)
		error_addf(err, "%s: %s", path, strerror(-rc));
	else if (!S_ISREG(st.st_mode)) {
		error_addf(err, "%s: not a regular file", path);
		rc = -EINVAL;
	} else if (st.st_size > WAZO_VERSION_MAX_BYTES) {
		error_addf(err, "%s: %lld bytes, more than a version (%d at most)", path,
			   (long long)st.st_size, WAZO_VERSION_MAX_BYTES);
		rc = -EFBIG;
	} else {
		rc = strbuf_read_fd(sb, fd, WAZO_VERSION_MAX_BYTES);
		if (rc)
			error_addf(err, "%s: %s", path,
				   rc == -EFBIG ? "it grew past a version's size" : strerror(-rc));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int wazo_version_read(const char *root, char *out, size_t len, struct error *err)
{
	char path[PATH_MAX];
	struct strbuf sb = STRBUF_INIT;
	int rc = path_fmt(path, sizeof(path), "%s/" WAZO_VERSION_DIR "/" WAZO_VERSION_FILE,
			  strcmp(root, "/") ? root : "");
	if (rc)
		error_addf(err, "the path of " WAZO_VERSION_FILE " under %s is too long", root);
	else
		rc = read_version_file(path, &sb, err);
	if (!rc) {
		const char *text = sb.buf ? sb.buf : "";
		size_t line = strcspn(text, "\r\n");
		size_t n = line;
		while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
			n--;
		if (memchr(text, 0, sb.len)) {
			error_addf(err, "%s: binary content, not a version", path);
			rc = -EINVAL;
		} else if (n == 0) {
			error_addf(err, "%s: empty first line, no version", path);
			rc = -EINVAL;
		} else if (n >= len || snprintf(out, len, "%.*s", (int)n, text) < 0 ||
			   !wazo_version_valid(out)) {
			error_addf(err, "%s: '%.*s' is not a Wazo version", path,
				   (int)(n > 64 ? 64 : n), text);
			rc = -EINVAL;
		}
	}
	if (rc && len)
		out[0] = 0;
	strbuf_release(&sb);
	return rc;
}

/* Whether running is on the right side of bound (is_min: bound <= running). */
static int within(const char *field, const char *bound, const char *running, int is_min,
		  char *reason, size_t len)
{
	if (!bound || !*bound)
		return 1;
	int c;
	if (version_cmp(is_min ? bound : running, is_min ? running : bound, &c)) {
		snprintf(reason, len, "%s %s cannot be compared with the running Wazo %s", field,
			 bound, running);
		return 0;
	}
	if (c <= 0)
		return 1;
	snprintf(reason, len, "%s %s is %s than the running Wazo %s", field, bound,
		 is_min ? "newer" : "older", running);
	return 0;
}

int wazo_version_fits(const char *min, const char *max, const char *running, char *reason,
		      size_t len)
{
	if (len)
		reason[0] = 0;
	return within("min_wazo_version", min, running, 1, reason, len) &&
	       within("max_wazo_version", max, running, 0, reason, len);
}
