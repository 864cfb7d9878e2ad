/* error: see error.h. */
#include "error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void error_addf(struct error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&err->msg, fmt, ap);
	va_end(ap);
}

const char *error_msg(const struct error *err)
{
	return err->msg.buf ? err->msg.buf : "";
}

void error_field(struct error *err, const char *field, const char *constraint_id,
		 const char *constraint, const char *fmt, ...)
{
	if (err->n >= ERROR_MAX_FIELDS)
		return;
	if (err->n == err->cap) {
		size_t cap = err->cap ? err->cap * 2 : 4;
		cap = cap > ERROR_MAX_FIELDS ? ERROR_MAX_FIELDS : cap;
		struct field_error *g = realloc(err->e, cap * sizeof(*g));
		if (!g) {
			error_addf(err, "%s%s: out of memory", err->msg.len ? "; " : "", field);
			return;
		}
		err->e = g;
		err->cap = cap;
	}
	struct field_error *e = &err->e[err->n++];
	/* what does not fit is cut at a whole UTF-8 character */
	if (snprintf(e->field, sizeof(e->field), "%s", field) >= (int)sizeof(e->field))
		utf8_cut_end(e->field);
	snprintf(e->constraint_id, sizeof(e->constraint_id), "%s", constraint_id);
	/* every detail names its constraint (the status format): without one of its own,
	 * the kind is the constraint, as wazo's own `required: required` */
	if (snprintf(e->constraint, sizeof(e->constraint), "%s",
		     constraint ? constraint : constraint_id) >= (int)sizeof(e->constraint))
		utf8_cut_end(e->constraint);
	e->line = 0;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(e->message, sizeof(e->message), fmt, ap) >= (int)sizeof(e->message))
		utf8_cut_end(e->message);
	va_end(ap);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void error_field_names(const struct error *err, char *out, size_t outlen)
{
	const char *names[ERROR_MAX_FIELDS];
	size_t n = 0;
	for (size_t i = 0; i < err->n; i++) {
		size_t j;
		for (j = 0; j < n && strcmp(names[j], err->e[i].field); j++)
			;
		if (j == n)
			names[n++] = err->e[i].field;
	}
	if (n > 1)
		qsort(names, n, sizeof(names[0]), cmp_str);
	out[0] = 0;
	size_t off = 0;
	for (size_t i = 0; i < n && off < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", names[i]);
}

void error_take_fields(struct error *to, const struct error *from)
{
	for (size_t i = 0; i < from->n; i++) {
		const struct field_error *e = &from->e[i];
		size_t before = to->n;
		error_field(to, e->field, e->constraint_id, e->constraint, "%s", e->message);
		if (to->n > before)
			to->e[to->n - 1].line = e->line;
	}
}

void error_release(struct error *err)
{
	strbuf_release(&err->msg);
	free(err->e);
	err->e = NULL;
	err->n = err->cap = 0;
}
