/* check.h: a tiny test harness for the C unit tests, printing TAP. Each check prints
 * "ok N - GROUP: CHECK" or "not ok N - ..." with file:line and what was got; RUN(fn) runs
 * one test function and names its checks after it. main() ends with CHECK_SUMMARY(),
 * which prints the plan "1..N" and then "N passed, N failed" for tests/run.sh. */
#ifndef WAZOFS_CHECK_H
#define WAZOFS_CHECK_H
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int check_passed, check_failed;
static const char *check_group = "main";

#define RUN(fn, ...) (check_group = #fn, fn(__VA_ARGS__))

/* One TAP line; a failure also gets a diagnostic ("# file:line: detail") on stdout and
 * the same line on stderr, where it stands out in the log. */
__attribute__((format(printf, 5, 6), unused)) static void
check_report(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	if (ok)
		check_passed++;
	else
		check_failed++;
	printf("%sok %d - %s: %s\n", ok ? "" : "not ", check_passed + check_failed, check_group,
	       expr);
	if (ok)
		return;
	char detail[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("# %s:%d: %s\n", file, line, detail);
	fprintf(stderr, "%s:%d: %s\n", file, line, detail);
}

#define CHECK(expr) check_report(!!(expr), __FILE__, __LINE__, #expr, "check failed: %s", #expr)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		check_report(g_ &&w_ &&strcmp(g_, w_) == 0, __FILE__, __LINE__, #got " == " #want, \
			     "%s is \"%s\", expected \"%s\"", #got, g_ ? g_ : "(null)",            \
			     w_ ? w_ : "(null)");                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                  \
	do {                                                                  \
		long long g_ = (got), w_ = (want);                            \
		check_report(g_ == w_, __FILE__, __LINE__, #got " == " #want, \
			     "%s is %lld, expected %lld", #got, g_, w_);      \
	} while (0)

/* A bound on something a test waits for (a guard against a hang, not a timing check):
 * check_bound(SECONDS) before the wait, check_bound(0) after it. When the bound is hit,
 * the program fails at once with a "not ok" line naming its test. */
__attribute__((unused)) static void check_bound_hit(int sig)
{
	(void)sig;
	static const char head[] = "not ok - ", tail[] = ": did not finish within its bound\n";
	/* nothing to do if a write fails: the exit status fails the test all the same */
	(void)!write(1, head, sizeof(head) - 1);
	(void)!write(1, check_group, strlen(check_group));
	(void)!write(1, tail, sizeof(tail) - 1);
	_exit(1);
}

__attribute__((unused)) static void check_bound(unsigned seconds)
{
	signal(SIGALRM, check_bound_hit);
	alarm(seconds);
}

#define CHECK_SUMMARY()                                                                     \
	(printf("1..%d\n%d passed, %d failed\n", check_passed + check_failed, check_passed, \
		check_failed),                                                              \
	 check_failed != 0)
#endif
