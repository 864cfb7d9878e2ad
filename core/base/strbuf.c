/* strbuf: growable buffer (see strbuf.h). */
#include "strbuf.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int grow(struct strbuf *sb, size_t extra)
{
	if (sb->oom)
		return -1;
	if (sb->buf && sb->len + extra + 1 <= sb->alloc)
		return 0;
	size_t n = sb->alloc ? sb->alloc : 64;
	while (n < sb->len + extra + 1)
		n *= 2;
	char *p = realloc(sb->buf, n);
	if (!p) {
		sb->oom = 1;
		return -1;
	}
	sb->buf = p;
	sb->alloc = n;
	return 0;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (grow(sb, len))
		return;
	if (len) /* data may be NULL when there is nothing to add */
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = 0;
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0 && !grow(sb, (size_t)n)) {
		vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, again);
		sb->len += (size_t)n;
	}
	va_end(again);
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	if (!sb->buf && !sb->oom) {
		grow(sb, 0);
		if (sb->buf) /* NULL when even that allocation failed: oom says so */
			sb->buf[0] = 0;
	}
	char *b = sb->oom ? NULL : sb->buf;
	if (sb->oom)
		free(sb->buf);
	if (len)
		*len = sb->len;
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	sb->oom = 0;
	return b;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	sb->oom = 0;
}

int strbuf_read_fd(struct strbuf *sb, int fd, size_t max)
{
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		if (sb->len + (size_t)n > max)
			return -EFBIG;
		strbuf_add(sb, chunk, (size_t)n);
	}
	if (!sb->buf)
		strbuf_add(sb, "", 0);
	return sb->oom ? -ENOMEM : 0;
}

int strbuf_read_file(struct strbuf *sb, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = strbuf_read_fd(sb, fd, max);
	close(fd);
	return rc;
}

void utf8_cut_end(char *s)
{
	size_t n = strlen(s);
	size_t i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
		i--; /* the continuation bytes of the last character */
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (lead >= 0xC0 && n - (i - 1) < need)
		s[i - 1] = 0;
}
