/* name_list: list of strings (see name_list.h). */
#include "name_list.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int name_list_add(struct name_list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -ENOMEM;
	l->n++;
	return 0;
}

int name_list_has(const struct name_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

int name_list_add_unique(struct name_list *l, const char *s)
{
	return name_list_has(l, s) ? 0 : name_list_add(l, s);
}

int name_list_remove(struct name_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0) {
			free(l->v[i]);
			memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
			l->n--;
			return 1;
		}
	return 0;
}

char *name_list_shift(struct name_list *l)
{
	if (!l->n)
		return NULL;
	char *s = l->v[0];
	memmove(&l->v[0], &l->v[1], (l->n - 1) * sizeof(*l->v));
	l->n--;
	return s;
}

void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
