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

/* Copies s without '_' into buf; returns -ENAMETOOLONG when it does not fit. */
static int strip_underscores(const char *s, char *buf, size_t len)
{
	size_t j = 0;
	for (; *s; s++) {
		if (*s == '_')
			continue;
		if (j + 1 >= len)
			return -ENAMETOOLONG;
		buf[j++] = *s;
	}
	buf[j] = 0;
	return 0;
}

int y11_int_value(const char *plain, long long *out)
{
	char buf[128], *p = buf;
	int sign = 1;
	if (strip_underscores(plain, buf, sizeof(buf)))
		return -ERANGE;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	errno = 0;
	long long v;
	if (strcmp(p, "0") == 0)
		v = 0;
	else if (strncmp(p, "0b", 2) == 0)
		v = strtoll(p + 2, NULL, 2);
	else if (strncmp(p, "0x", 2) == 0)
		v = strtoll(p + 2, NULL, 16);
	else if (p[0] == '0')
		v = strtoll(p, NULL, 8);
	else if (strchr(p, ':')) {
		v = 0;
		for (char *tok = strtok(p, ":"); tok; tok = strtok(NULL, ":"))
			v = v * 60 + strtoll(tok, NULL, 10);
	} else
		v = strtoll(p, NULL, 10);
	if (errno)
		return -ERANGE;
	*out = sign * v;
	return 0;
}

int y11_float_value(const char *plain, double *out)
{
	char buf[128], *p = buf;
	double sign = 1;
	if (strip_underscores(plain, buf, sizeof(buf)))
		return -ERANGE;
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
		for (char *tok = strtok(p, ":"); tok; tok = strtok(NULL, ":"))
			v = v * 60 + strtod(tok, NULL);
		*out = sign * v;
	} else
		*out = sign * strtod(p, NULL);
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
	char digits[32];
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
			b += (size_t)snprintf(body + b, sizeof(body) - b, "%s", digits);
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
	case Y11_INT: {
		long long v;
		int r = y11_int_value(s, &v);
		if (r)
			return r;
		snprintf(out, outlen, "%lld", v);
		return 0;
	}
	case Y11_FLOAT: {
		double v;
		y11_float_value(s, &v);
		python_float_str(v, out, outlen);
		return 0;
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

static int plain_is_safe(const char *s)
{
	size_t n = strlen(s);
	if (!n || y11_resolve_plain(s) != Y11_STR)
		return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@`^ \t", s[0]) || s[n - 1] == ' ' || s[n - 1] == ':')
		return 0;
	if (strstr(s, ": ") || strstr(s, " #"))
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

char *y11_quote(const char *s)
{
	if (plain_is_safe(s))
		return strdup(s);
	int needs_double = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			needs_double = 1;
	size_t n = strlen(s);
	char *out = malloc(n * 4 + 3), *o = out;
	if (!out)
		return NULL;
	*o++ = needs_double ? '"' : '\'';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (!needs_double) {
			if (*c == '\'')
				*o++ = '\'';
			*o++ = (char)*c;
		} else if (*c == '"' || *c == '\\') {
			*o++ = '\\';
			*o++ = (char)*c;
		} else if (*c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (*c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (*c < 0x20 || *c == 0x7f) {
			o += sprintf(o, "\\x%02x", *c);
		} else
			*o++ = (char)*c;
	}
	*o++ = needs_double ? '"' : '\'';
	*o = 0;
	return out;
}
