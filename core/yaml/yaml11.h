/* yaml11: YAML 1.1 typing of plain scalars, as PyYAML's resolver (and so wazo-plugind)
 * does it, the Python str() coercion of those values, and quoting for YAML output.
 * Pure functions; no allocation except where a header line says so. */
#ifndef WAZOFS_YAML11_H
#define WAZOFS_YAML11_H
#include "base/strbuf.h"
#include <stdbool.h>
#include <stddef.h>

enum y11_kind { Y11_NULL, Y11_BOOL, Y11_INT, Y11_FLOAT, Y11_TIMESTAMP, Y11_STR };

/* The type YAML 1.1 gives the plain (unquoted) scalar s. */
enum y11_kind y11_resolve_plain(const char *s);

/* Python's str() of the value of a plain scalar of kind BOOL, INT or FLOAT ("yes" ->
 * "True", "017" -> "15", "17.10" -> "17.1"). Returns 0, or -EINVAL for other kinds. */
int y11_python_str(const char *s, enum y11_kind kind, char *out, size_t outlen);

/* Python's str() of the int a plain YAML 1.1 int scalar stands for, of any size up to
 * Python's 4300 digits. Returns 0, -EINVAL (not an int), -ERANGE (too many digits or
 * outlen too small), -ENOMEM. */
int y11_int_text(const char *plain, char *out, size_t outlen);

/* Python int() of a value: for ints (plain scalar text) and strings (quoted text).
 * Returns 0 and sets *out, or -EINVAL when Python would raise. */
int y11_python_int_of_str(const char *s, long long *out);
int y11_int_value(const char *plain, long long *out);
int y11_float_value(const char *plain, double *out);

/* Writes s as a YAML scalar that any YAML 1.1 reader reads back as the string s:
 * plain when that is safe, quoted otherwise. Returns a malloc'd string (caller frees). */
char *y11_quote(const char *s);
/* Decodes the UTF-8 sequence at s into *cp; returns its length (1-4), or 0 when it is
 * invalid, overlong, a surrogate or cut short. */
size_t y11_utf8_decode(const unsigned char *s, unsigned *cp);
/* Appends "key: value\n" indented by indent spaces, value quoted as y11_quote does. */
void y11_add_kv(struct strbuf *sb, int indent, const char *key, const char *value);
#endif
