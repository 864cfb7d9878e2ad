/* records: the record stream of records.h. */
#include "records.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void records_put(struct strbuf *out, const char *name, const char *value, size_t len)
{
	strbuf_addf(out, "%s %zu\n", name, len);
	strbuf_add(out, value, len);
	strbuf_add(out, "\n", 1);
}

void records_put_str(struct strbuf *out, const char *name, const char *value)
{
	records_put(out, name, value ? value : "", value ? strlen(value) : 0);
}

int records_next(const char *stream, size_t len, size_t *pos, struct record *rec)
{
	if (*pos >= len)
		return 0;
	const char *p = stream + *pos, *end = stream + len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
	if (!sp || sp == p || sp + 1 == nl)
		return -EPROTO;
	for (const char *c = p; c < sp; c++)
		if ((*c < 'a' || *c > 'z') && *c != '_')
			return -EPROTO;
	size_t n = 0;
	for (const char *c = sp + 1; c < nl; c++) {
		if (*c < '0' || *c > '9' || n > (size_t)(end - nl))
			return -EPROTO;
		n = n * 10 + (size_t)(*c - '0');
	}
	/* the value, then its newline, must be in the stream */
	if (n >= (size_t)(end - nl) || nl[1 + n] != '\n')
		return -EPROTO;
	rec->name = p;
	rec->name_len = (size_t)(sp - p);
	rec->value = nl + 1;
	rec->value_len = n;
	*pos = (size_t)(nl + 2 + n - stream);
	return 1;
}

int record_is(const struct record *rec, const char *name)
{
	return strlen(name) == rec->name_len && !memcmp(rec->name, name, rec->name_len);
}

void record_copy(const struct record *rec, struct strbuf *out)
{
	strbuf_release(out);
	strbuf_add(out, rec->value, rec->value_len); /* allocates also for "" */
}
