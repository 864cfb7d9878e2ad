/* yaml11: the YAML 1.1 resolver of PyYAML for plain scalars, Python's str()/int() of
 * the resulting values, and safe quoting of strings written as YAML (see yaml11.h). */
#include "yaml11.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PyYAML's implicit resolvers, in its order (first match wins). */
static const struct {
	enum y11_kind kind;
	const char *re;
} resolvers[] = {
	{ Y11_BOOL,
	  "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$" },
	{ Y11_FLOAT,
	  "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9_]+([eE][-+][0-9]+)?"
	  "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$" },
	{ Y11_INT, "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
		   "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$" },
	{ Y11_NULL, "^(~|null|Null|NULL|)$" },
	{ Y11_TIMESTAMP,
	  "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
	  "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]"
	  ":[0-9][0-9](\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$" },
};
#define N_RESOLVERS (sizeof(resolvers) / sizeof(resolvers[0]))

static regex_t compiled[N_RESOLVERS];
static int compile_failed;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void compile_all(void)
{
	for (size_t i = 0; i < N_RESOLVERS; i++)
		if (regcomp(&compiled[i], resolvers[i].re, REG_EXTENDED | REG_NOSUB))
			compile_failed = 1;
}

enum y11_kind y11_resolve_plain(const char *s)
{
	pthread_once(&compile_once, compile_all);
	if (compile_failed)
		return Y11_STR;
	for (size_t i = 0; i < N_RESOLVERS; i++)
		if (regexec(&compiled[i], s, 0, NULL, 0) == 0)
			return resolvers[i].kind;
	return Y11_STR;
}

/* A malloc'd copy of s without '_' (NULL when out of memory). */
static char *strip_underscores(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++)
		if (*s != '_')
			*o++ = *s;
	*o = 0;
	return out;
}

/* Python refuses to turn ints of more decimal digits than this into text (3.11's
 * sys.get_int_max_str_digits()); so do we, which also bounds the work below. */
#define PY_INT_MAX_DIGITS 4300

/* An unsigned decimal number as little-endian base-10 digits, grown by multiply-add. */
struct bigdec {
	unsigned char d[PY_INT_MAX_DIGITS + 2];
	size_t n;
};

static int bigdec_muladd(struct bigdec *b, unsigned base, unsigned add)
{
	unsigned carry = add;
	for (size_t i = 0; i < b->n; i++) {
		unsigned v = b->d[i] * base + carry;
		b->d[i] = (unsigned char)(v % 10);
		carry = v / 10;
	}
	for (; carry; carry /= 10) {
		if (b->n > PY_INT_MAX_DIGITS)
			return -ERANGE;
		b->d[b->n++] = (unsigned char)(carry % 10);
	}
	return 0;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Adds the digits of s (up to a ':' or the end) in base to b; returns the end. */
static const char *bigdec_digits(struct bigdec *b, const char *s, unsigned base, int *rc)
{
	for (; *s && *s != ':' && !*rc; s++) {
		int v = digit_value(*s);
		*rc = v < (int)base ? bigdec_muladd(b, base, (unsigned)v) : -EINVAL;
	}
	return s;
}

int y11_int_text(const char *plain, char *out, size_t outlen)
{
	char *buf = strip_underscores(plain);
	if (!buf)
		return -ENOMEM;
	const char *p = buf;
	int neg = 0, rc = 0;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	struct bigdec *b = calloc(1, sizeof(*b));
	if (!b) {
		free(buf);
		return -ENOMEM;
	}
	if (p[0] == '0' && p[1] == 'b')
		p = bigdec_digits(b, p + 2, 2, &rc);
	else if (p[0] == '0' && p[1] == 'x')
		p = bigdec_digits(b, p + 2, 16, &rc);
	else if (p[0] == '0' && p[1])
		p = bigdec_digits(b, p + 1, 8, &rc);
	else {
		/* decimal; sexagesimal (1:20:30) adds parts of at most two digits in base 60 */
		p = bigdec_digits(b, p, 10, &rc);
		while (!rc && *p == ':') {
			const char *part = ++p;
			unsigned v = 0;
			for (; *p >= '0' && *p <= '9' && p - part < 3; p++)
				v = v * 10 + (unsigned)(*p - '0');
			rc = p == part || p - part > 2 || (*p && *p != ':')
				 ? -EINVAL
				 : bigdec_muladd(b, 60, v);
		}
	}
	if (!rc && *p)
		rc = -EINVAL;
	if (!rc && b->n + 2 > outlen)
		rc = -ERANGE;
	if (!rc) {
		char *o = out;
		if (neg && b->n)
			*o++ = '-';
		if (!b->n)
			*o++ = '0';
		for (size_t i = b->n; i-- > 0;)
			*o++ = (char)('0' + b->d[i]);
		*o = 0;
	}
	free(b);
	free(buf);
	return rc;
}

int y11_int_value(const char *plain, long long *out)
{
	char text[PY_INT_MAX_DIGITS + 8];
	int rc = y11_int_text(plain, text, sizeof(text));
	if (rc)
		return rc == -EINVAL ? -EINVAL : -ERANGE;
	errno = 0;
	long long v = strtoll(text, NULL, 10);
	if (errno)
		return -ERANGE;
	*out = v;
	return 0;
}

int y11_float_value(const char *plain, double *out)
{
	char *buf = strip_underscores(plain), *p = buf;
	double sign = 1;
	if (!buf)
		return -ENOMEM;
	for (char *c = buf; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (strcmp(p, ".inf") == 0)
		*out = sign * INFINITY;
	else if (strcmp(p, ".nan") == 0)
		*out = NAN;
	else if (strchr(p, ':')) {
		double v = 0;
		char *save = NULL; /* strtok's state is the process's: jobs parse at once */
		for (char *tok = strtok_r(p, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			v = v * 60 + strtod(tok, NULL);
		*out = sign * v;
	} else
		*out = sign * strtod(p, NULL);
	free(buf);
	return 0;
}

/* Python's repr()/str() of a float: shortest round-trip digits, fixed notation for
 * exponents -4..15, scientific otherwise. */
static void python_float_str(double x, char *out, size_t outlen)
{
	if (isnan(x)) {
		snprintf(out, outlen, "nan");
		return;
	}
	if (isinf(x)) {
		snprintf(out, outlen, x < 0 ? "-inf" : "inf");
		return;
	}
	char e_form[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(e_form, sizeof(e_form), "%.*e", prec - 1, x);
		if (strtod(e_form, NULL) == x)
			break;
	}
	/* e_form is [-]d[.ddd]e[+-]XX */
	char digits[32] = "";
	size_t nd = 0;
	const char *c = e_form;
	int neg = 0;
	if (*c == '-')
		neg = 1, c++;
	for (; *c && *c != 'e'; c++)
		if (*c != '.')
			digits[nd++] = *c;
	int exp10 = atoi(c + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = 0;
	char body[64];
	size_t b = 0;
	if (exp10 >= -4 && exp10 < 16) {
		if (exp10 < 0) {
			b += (size_t)snprintf(body + b, sizeof(body) - b, "0.");
			for (int i = -1; i > exp10; i--)
				body[b++] = '0';
			snprintf(body + b, sizeof(body) - b, "%s", digits);
		} else {
			for (int i = 0; i <= exp10; i++)
				body[b++] = (size_t)i < nd ? digits[i] : '0';
			body[b++] = '.';
			if ((size_t)exp10 + 1 < nd)
				b += (size_t)snprintf(body + b, sizeof(body) - b, "%s",
						      digits + exp10 + 1);
			else
				body[b++] = '0';
			body[b] = 0;
		}
	} else {
		body[b++] = digits[0];
		if (nd > 1)
			b += (size_t)snprintf(body + b, sizeof(body) - b, ".%s", digits + 1);
		snprintf(body + b, sizeof(body) - b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	}
	snprintf(out, outlen, "%s%s", neg ? "-" : "", body);
}

int y11_python_str(const char *s, enum y11_kind kind, char *out, size_t outlen)
{
	switch (kind) {
	case Y11_BOOL: {
		char c = s[0];
		snprintf(out, outlen,
			 (c == 'y' || c == 'Y' || c == 't' || c == 'T' ||
			  ((c == 'o' || c == 'O') && (s[1] == 'n' || s[1] == 'N')))
			     ? "True"
			     : "False");
		return 0;
	}
	case Y11_INT: return y11_int_text(s, out, outlen);
	case Y11_FLOAT: {
		double v;
		int r = y11_float_value(s, &v);
		if (!r)
			python_float_str(v, out, outlen);
		return r;
	}
	default: return -EINVAL;
	}
}

int y11_python_int_of_str(const char *s, long long *out)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
		p++;
	char buf[64];
	size_t j = 0;
	int sign = 1;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	int prev_digit = 0;
	for (; *p >= '0' && *p <= '9' ? 1 : (*p == '_' && prev_digit && p[1] >= '0' && p[1] <= '9');
	     p++) {
		prev_digit = *p != '_';
		if (*p == '_')
			continue;
		if (j + 1 >= sizeof(buf))
			return -ERANGE;
		buf[j++] = *p;
	}
	buf[j] = 0;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
		p++;
	if (!j || *p)
		return -EINVAL;
	*out = sign * strtoll(buf, NULL, 10);
	return 0;
}

size_t y11_utf8_decode(const unsigned char *s, unsigned *cp)
{
	static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = s[0] < 0x80	     ? 1
		     : (s[0] & 0xe0) == 0xc0 ? 2
		     : (s[0] & 0xf0) == 0xe0 ? 3
		     : (s[0] & 0xf8) == 0xf0 ? 4
					     : 0;
	if (!len)
		return 0;
	unsigned c = len == 1 ? s[0] : s[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* A character that may stand as it is in any scalar style: printable for YAML 1.1 and
 * no line break (U+0085, U+2028 and U+2029 are line breaks there) nor BOM. */
static int raw_safe(unsigned c)
{
	if (c < 0x80)
		return c >= 0x20 && c != 0x7f;
	return c >= 0xa0 && c != 0x2028 && c != 0x2029 && c != 0xfeff && c != 0xfffe && c != 0xffff;
}

/* 1 when every character of s is well-formed UTF-8 and raw_safe. */
static int all_raw_safe(const char *s)
{
	const unsigned char *c = (const unsigned char *)s;
	while (*c) {
		unsigned cp;
		size_t n = y11_utf8_decode(c, &cp);
		if (!n || !raw_safe(cp))
			return 0;
		c += n;
	}
	return 1;
}

static int plain_is_safe(const char *s)
{
	size_t n = strlen(s);
	if (!n || y11_resolve_plain(s) != Y11_STR)
		return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@`^ \t", s[0]) || s[n - 1] == ' ' || s[n - 1] == ':')
		return 0;
	if (strstr(s, ": ") || strstr(s, " #"))
		return 0;
	return all_raw_safe(s);
}

char *y11_quote(const char *s)
{
	if (plain_is_safe(s))
		return strdup(s);
	int needs_double = !all_raw_safe(s);
	size_t n = strlen(s);
	char *out = malloc(n * 6 + 3), *o = out;
	if (!out)
		return NULL;
	*o++ = needs_double ? '"' : '\'';
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		unsigned cp;
		size_t len = y11_utf8_decode(c, &cp);
		if (!needs_double) {
			if (*c == '\'')
				*o++ = '\'';
			*o++ = (char)*c++;
			continue;
		}
		if (!len) { /* a byte that is no character: the replacement character */
			o += sprintf(o, "\\uFFFD");
			c++;
			continue;
		}
		if (cp == '"' || cp == '\\') {
			*o++ = '\\';
			*o++ = (char)cp;
		} else if (cp == '\n')
			o += sprintf(o, "\\n");
		else if (cp == '\t')
			o += sprintf(o, "\\t");
		else if (cp < 0xa0 && !raw_safe(cp))
			o += sprintf(o, "\\x%02x", cp);
		else if (!raw_safe(cp))
			o += sprintf(o, "\\u%04x", cp);
		else {
			memcpy(o, c, len);
			o += len;
		}
		c += len;
	}
	*o++ = needs_double ? '"' : '\'';
	*o = 0;
	return out;
}

void y11_add_kv(struct strbuf *sb, int indent, const char *key, const char *value)
{
	char *q = y11_quote(value ? value : "");
	if (!q) {
		sb->oom = 1;
		return;
	}
	strbuf_addf(sb, "%*s%s: %s\n", indent, "", key, q);
	free(q);
}
