/* error: what core/ tells of a failure besides its errno (the negative value a call
 * returns, which says what kind of failure it is): what failed and where (msg) and, for
 * input refused field by field (a plugin.yml, an install request, an archive, a
 * package), one entry per field (e[0..n), which a job's status shows as `details`). A
 * call that can fail takes a struct error * as its last argument; the caller sets it up
 * with ERROR_INIT and releases it with error_release. */
#ifndef WAZOFS_ERROR_H
#define WAZOFS_ERROR_H
#include "strbuf.h"
#include <stddef.h>

#define ERROR_MAX_FIELDS 24

struct field_error {
	char field[64];		/* top-level key, or _yaml / _schema / _archive */
	char constraint_id[16]; /* regex, range, required, type, yaml, schema, ... */
	char constraint[96];	/* may be empty */
	char message[256];
	unsigned line; /* of the field's value in the input (1-based); 0: not in it */
};

struct error {
	struct strbuf msg;     /* what failed, and where */
	size_t n;	       /* refused fields */
	struct field_error *e; /* n of them (grown as they come, up to ERROR_MAX_FIELDS) */
	size_t cap;
};
#define ERROR_INIT                 \
	{                          \
		.msg = STRBUF_INIT \
	}

/* Adds "what failed" to msg (after what is there). */
void error_addf(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message, "" when there is none. */
const char *error_msg(const struct error *err);
/* Adds a refused field (ignored past ERROR_MAX_FIELDS, and when out of memory: msg then
 * says so); a NULL constraint is the constraint_id. */
void error_field(struct error *err, const char *field, const char *constraint_id,
		 const char *constraint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "field1,field2": the refused fields, sorted, each once. */
void error_field_names(const struct error *err, char *out, size_t outlen);
/* Adds the refused fields of from to to (its message stays in from). */
void error_take_fields(struct error *to, const struct error *from);
/* Frees the message and the fields; the error is empty again. */
void error_release(struct error *err);
#endif
