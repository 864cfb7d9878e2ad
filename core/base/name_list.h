/* name_list: a growable list of malloc'd strings. The owner calls name_list_free(). */
#ifndef WAZOFS_NAME_LIST_H
#define WAZOFS_NAME_LIST_H
#include <stddef.h>
struct name_list {
	char **v;
	size_t n, cap;
};
/* Adds a copy of s; returns 0 or -ENOMEM. */
int name_list_add(struct name_list *l, const char *s);
/* Adds s unless present. */
int name_list_add_unique(struct name_list *l, const char *s);
int name_list_has(const struct name_list *l, const char *s);
/* Removes s if present; returns 1 when it was. */
int name_list_remove(struct name_list *l, const char *s);
/* Takes the first item out (caller frees), NULL when empty. */
char *name_list_shift(struct name_list *l);
void name_list_free(struct name_list *l);
#endif
