/* strbuf: a growable NUL-terminated byte buffer. The owner calls strbuf_release();
 * allocation failure is sticky (->oom) so callers check once at the end. */
#ifndef WAZOFS_STRBUF_H
#define WAZOFS_STRBUF_H
#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, alloc;
	int oom;
};
#define STRBUF_INIT           \
	{                     \
		NULL, 0, 0, 0 \
	}

void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Takes the buffer (caller frees, never NULL unless oom) and resets sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_release(struct strbuf *sb);
/* Reads a whole file, at most max bytes (-EFBIG past that). Returns 0 or -errno. */
int strbuf_read_file(struct strbuf *sb, const char *path, size_t max);
/* The same from an open fd, read to its end (the fd stays open). */
int strbuf_read_fd(struct strbuf *sb, int fd, size_t max);
/* s, cut to fit a field, ends at its last whole UTF-8 character, never inside one (a
 * half character would read back as U+FFFD). */
void utf8_cut_end(char *s);
#endif
