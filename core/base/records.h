/* records: a stream of named byte strings, how the daemon and wazofs-archive talk over
 * a pipe: each record is "NAME LENGTH\n", LENGTH bytes, "\n". Values may hold any byte;
 * names are [a-z_]+. */
#ifndef WAZOFS_RECORDS_H
#define WAZOFS_RECORDS_H
#include "strbuf.h"
#include <stddef.h>

struct record {
	const char *name; /* points into the stream; not NUL-terminated: name_len */
	size_t name_len;
	const char *value; /* points into the stream: value_len bytes */
	size_t value_len;
};

void records_put(struct strbuf *out, const char *name, const char *value, size_t len);
/* The same with a NUL-terminated value (NULL: the empty string). */
void records_put_str(struct strbuf *out, const char *name, const char *value);
/* Reads the record at *pos (advanced past it) from the stream of len bytes: 1 with rec
 * filled, 0 at the end, -EPROTO for a malformed stream. */
int records_next(const char *stream, size_t len, size_t *pos, struct record *rec);
/* 1 when rec is named name. */
int record_is(const struct record *rec, const char *name);
/* rec's value as a new NUL-terminated string into out (replacing it). */
void record_copy(const struct record *rec, struct strbuf *out);
#endif
