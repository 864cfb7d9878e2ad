/* version_cmp: LooseVersion-style comparison of Wazo versions ("25.17" > "25.2").
 * Split into runs of digits (numbers) and runs of other characters (text), dots dropped;
 * a proper prefix is smaller. */
#ifndef WAZOFS_VERSION_CMP_H
#define WAZOFS_VERSION_CMP_H
/* Sets *result to <0, 0, >0. Returns 0, or -EINVAL when the first differing pieces are
 * a number and a text (Python 3 cannot order them). */
int version_cmp(const char *a, const char *b, int *result);
#endif
