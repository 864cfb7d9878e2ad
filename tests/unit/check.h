/* check.h: a tiny test harness for the C unit tests. Each CHECK prints file:line and
 * the failing expression; main() ends with CHECK_SUMMARY() which prints
 * "N passed, N failed" for tests/run.sh to add up. */
#ifndef WAZOFS_CHECK_H
#define WAZOFS_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(expr)                                                                              \
	do {                                                                                     \
		if (expr)                                                                        \
			check_passed++;                                                          \
		else {                                                                           \
			check_failed++;                                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                                \
	} while (0)

#define CHECK_STR(got, want)                                                                \
	do {                                                                                \
		const char *g_ = (got), *w_ = (want);                                       \
		if (g_ && w_ && strcmp(g_, w_) == 0)                                        \
			check_passed++;                                                     \
		else {                                                                      \
			check_failed++;                                                     \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");    \
		}                                                                           \
	} while (0)

#define CHECK_INT(got, want)                                                                      \
	do {                                                                                      \
		long long g_ = (got), w_ = (want);                                                \
		if (g_ == w_)                                                                     \
			check_passed++;                                                           \
		else {                                                                            \
			check_failed++;                                                           \
			fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, \
				#got, g_, w_);                                                    \
		}                                                                                 \
	} while (0)

#define CHECK_SUMMARY() \
	(printf("%d passed, %d failed\n", check_passed, check_failed), check_failed != 0)
#endif
