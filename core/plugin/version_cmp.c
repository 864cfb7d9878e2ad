/* version_cmp: LooseVersion-style version ordering (see version_cmp.h). */
#include "version_cmp.h"
#include <ctype.h>
#include <errno.h>
#include <string.h>

struct piece {
	int is_num;
	const char *s;
	size_t len;
};

/* Next piece of v from *pos; returns 0 at the end. Dots separate and are dropped. */
static int next_piece(const char *v, size_t *pos, struct piece *p)
{
	size_t i = *pos;
	while (v[i] == '.')
		i++;
	if (!v[i])
		return 0;
	p->s = v + i;
	p->is_num = isdigit((unsigned char)v[i]) != 0;
	while (v[i] && v[i] != '.' && (isdigit((unsigned char)v[i]) != 0) == p->is_num)
		i++;
	p->len = (size_t)(v + i - p->s);
	*pos = i;
	return 1;
}

static int cmp_num(const struct piece *a, const struct piece *b)
{
	const char *x = a->s, *y = b->s;
	size_t lx = a->len, ly = b->len;
	while (lx > 1 && *x == '0')
		x++, lx--;
	while (ly > 1 && *y == '0')
		y++, ly--;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return memcmp(x, y, lx);
}

static int cmp_text(const struct piece *a, const struct piece *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	return a->len == b->len ? 0 : (a->len < b->len ? -1 : 1);
}

int version_cmp(const char *a, const char *b, int *result)
{
	size_t pa = 0, pb = 0;
	for (;;) {
		struct piece x, y;
		int ha = next_piece(a, &pa, &x), hb = next_piece(b, &pb, &y);
		if (!ha || !hb) {
			*result = ha - hb;
			return 0;
		}
		if (x.is_num != y.is_num)
			return -EINVAL;
		int c = x.is_num ? cmp_num(&x, &y) : cmp_text(&x, &y);
		if (c) {
			*result = c < 0 ? -1 : 1;
			return 0;
		}
	}
}
