/* Unit tests of core/base/subproc: real child processes. Exit statuses, the exec
 * failure that comes back as -errno, capture and log, cwd and environment, the timeout
 * and the cancel that kill the whole process group, and the status policy alone. */
#include "base/fsutil.h"
#include "base/monotonic.h"
#include "base/subproc.h"
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];

static int sh(const char *script, struct strbuf *out, unsigned timeout, struct cancel *cancel,
	      struct subproc *spo)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct subproc sp = {
		.argv = argv, .log_fd = -1, .capture = out, .timeout_sec = timeout, .cancel = cancel
	};
	int rc = subproc_run(&sp);
	if (spo)
		*spo = sp;
	return rc;
}

static void test_exit_statuses(void)
{
	CHECK_INT(sh("exit 0", NULL, 0, NULL, NULL), 0);
	CHECK_INT(sh("exit 3", NULL, 0, NULL, NULL), 3);
	CHECK_INT(sh("kill -9 $$", NULL, 0, NULL, NULL), 128 + SIGKILL);
	CHECK_INT(sh("kill -TERM $$", NULL, 0, NULL, NULL), 128 + SIGTERM);
}

static void test_status_policy(void)
{
	CHECK_INT(subproc_status(0, 0), 0);
	CHECK_INT(subproc_status(7 << 8, 0), 7);		/* exited 7 */
	CHECK_INT(subproc_status(SIGSEGV, 0), 128 + SIGSEGV);	/* killed by SIGSEGV */
	CHECK_INT(subproc_status(127 << 8, ENOEXEC), -ENOEXEC); /* exec failed */
}

static void test_exec_failures(void)
{
	const char *missing[] = { "wazofs-no-such-program", NULL };
	struct subproc sp = { .argv = missing, .log_fd = -1 };
	CHECK_INT(subproc_run(&sp), -ENOENT);
	/* executable, but not a program the kernel can run: the child's exec fails */
	char bad[128];
	snprintf(bad, sizeof(bad), "%s/not-a-program", tmp);
	CHECK_INT(write_file_atomic(bad,
				    "\x7f"
				    "ELF garbage",
				    12, 0755),
		  0);
	const char *argv[] = { bad, NULL };
	struct subproc sp2 = { .argv = argv, .log_fd = -1 };
	CHECK_INT(subproc_run(&sp2), -ENOEXEC);
	/* a cwd that does not exist fails in the child, before exec */
	const char *sh_true[] = { "sh", "-c", "true", NULL };
	struct subproc sp3 = { .argv = sh_true, .log_fd = -1, .cwd = "/nonexistent-dir" };
	CHECK_INT(subproc_run(&sp3), -ENOENT);
}

static void test_capture_and_log(void)
{
	struct strbuf out = STRBUF_INIT;
	CHECK_INT(sh("echo out; echo err >&2; printf tail", &out, 0, NULL, NULL), 0);
	CHECK_STR(out.buf, "out\ntail"); /* stderr goes to the log, not the capture */
	strbuf_release(&out);
	/* more than a pipe holds, without deadlock */
	CHECK_INT(sh("head -c 300000 /dev/zero", &out, 10, NULL, NULL), 0);
	CHECK_INT(out.len, 300000);
	strbuf_release(&out);

	char log[128];
	snprintf(log, sizeof(log), "%s/log", tmp);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *argv[] = { "sh", "-c", "echo to-log; echo err-log >&2; pwd; echo \"$X\"",
			       NULL };
	const char *env[] = { "PATH=/usr/bin:/bin", "X=from-env", NULL };
	struct subproc sp = { .argv = argv, .env = env, .log_fd = fd, .cwd = tmp };
	CHECK_INT(subproc_run(&sp), 0);
	close(fd);
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
	CHECK_INT(strbuf_read_file(&got, log, 1 << 20), 0);
	strbuf_addf(&want, "to-log\nerr-log\n%s\nfrom-env\n", tmp);
	CHECK_STR(got.buf, want.buf);
	strbuf_release(&got);
	strbuf_release(&want);
	/* no inherited fd beyond 0-2 (the log fd above was close-on-exec anyway) */
	CHECK_INT(sh("ls /proc/self/fd | wc -l | grep -qx 4", NULL, 0, NULL, NULL), 0);
}

static int group_gone(const char *pidfile)
{
	struct strbuf sb = STRBUF_INIT;
	int pid = strbuf_read_file(&sb, pidfile, 64) == 0 && sb.buf ? atoi(sb.buf) : 0;
	strbuf_release(&sb);
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	/* killed but not yet reaped by whoever inherited it: a zombie is gone too */
	char stat_path[64];
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", pid);
	struct strbuf st = STRBUF_INIT;
	int zombie =
	    strbuf_read_file(&st, stat_path, 4096) == 0 && st.buf && strstr(st.buf, ") Z ") != NULL;
	if (!zombie && st.buf)
		fprintf(stderr, "  still running: %s", st.buf);
	strbuf_release(&st);
	return zombie;
}

static void test_timeout_kills_group(void)
{
	char script[256], pidfile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", tmp);
	/* a grandchild that outlives its parent's exit would keep running */
	snprintf(script, sizeof(script), "sleep 300 & echo $! > %s; sleep 300", pidfile);
	struct subproc sp;
	long t0 = monotonic_ms();
	int rc = sh(script, NULL, 1, NULL, &sp);
	long took = monotonic_ms() - t0;
	CHECK_INT(rc, 128 + SIGTERM);
	CHECK_INT(sp.timed_out, 1);
	CHECK_INT(sp.cancelled, 0);
	CHECK(took >= 900 && took < 8000);
	usleep(100000);
	CHECK(group_gone(pidfile));
}

/* A child that keeps writing to its captured output is timed out all the same. */
static void test_timeout_while_writing(void)
{
	struct strbuf out = STRBUF_INIT;
	struct subproc sp;
	long t0 = monotonic_ms();
	int rc = sh("while :; do echo x; sleep 0.01; done", &out, 1, NULL, &sp);
	long took = monotonic_ms() - t0;
	CHECK_INT(rc, 128 + SIGTERM);
	CHECK_INT(sp.timed_out, 1);
	CHECK(took >= 900 && took < 5000);
	strbuf_release(&out);
}

static void *set_later(void *arg)
{
	usleep(300000);
	cancel_request(arg);
	return NULL;
}

/* Runs script with a cancel made 300 ms after it starts: its result, into *sp and *took
 * (ms). */
static int cancelled_run(const char *script, struct subproc *sp, long *took)
{
	struct cancel cancel = CANCEL_INIT;
	CHECK_INT(cancel_init(&cancel), 0);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, set_later, &cancel), 0);
	long t0 = monotonic_ms();
	int rc = sh(script, NULL, 0, &cancel, sp);
	*took = monotonic_ms() - t0;
	pthread_join(t, NULL);
	cancel_destroy(&cancel);
	return rc;
}

static void test_cancel(void)
{
	struct subproc sp;
	long took;
	/* a child that ignores SIGTERM gets SIGKILL 3 s later */
	int rc = cancelled_run("trap '' TERM; sleep 300 & wait; sleep 300", &sp, &took);
	CHECK_INT(rc, 128 + SIGKILL);
	CHECK_INT(sp.cancelled, 1);
	CHECK_INT(sp.timed_out, 0);
	CHECK(took >= 3000 && took < 10000);
}

/* The thread waiting for a child sleeps until something happens: its end, its output, a
 * cancel or a deadline, with no timer in between (there was a 200 ms one: 2 s of a
 * silent child woke it 10 times). Counted as the waiting thread's voluntary context
 * switches, against 10 with a tick of 200 ms. */
static long waits_while(const char *script, struct cancel *cancel)
{
	struct rusage before, after;
	getrusage(RUSAGE_THREAD, &before);
	CHECK_INT(sh(script, NULL, 60, cancel, NULL), 0);
	getrusage(RUSAGE_THREAD, &after);
	return after.ru_nvcsw - before.ru_nvcsw;
}

static void test_wait_has_no_tick(void)
{
	long n = waits_while("sleep 2", NULL);
	fprintf(stderr, "  2 s of a silent child: %ld sleeps of the waiting thread\n", n);
	CHECK(n <= 5);
	struct cancel cancel = CANCEL_INIT;
	CHECK_INT(cancel_init(&cancel), 0);
	n = waits_while("sleep 2", &cancel); /* a cancel that can come, and does not */
	CHECK(n <= 5);
	cancel_destroy(&cancel);
}

/* A cancel ends the wait at once: the child gets SIGTERM as the request is made. */
static void test_cancel_at_once(void)
{
	struct subproc sp;
	long took;
	int rc = cancelled_run("exec sleep 300", &sp, &took);
	CHECK_INT(rc, 128 + SIGTERM);
	CHECK_INT(sp.cancelled, 1);
	fprintf(stderr, "  cancel made after 300 ms: the child ended after %ld ms\n", took);
	CHECK(took >= 300 && took < 5000);
}

static void test_start_then_wait(void)
{
	const char *argv[] = { "sh", "-c", "read x; exit 5", NULL };
	struct subproc sp = { .argv = argv, .log_fd = -1 };
	CHECK_INT(subproc_start(&sp), 0);
	CHECK(sp.pid > 0);
	/* stdin is /dev/null: read hits the end at once */
	CHECK_INT(subproc_wait(&sp), 5);
	CHECK_INT(sp.pid, -1);
}

/* A program in a directory the user cannot reach runs as that user from its fd; by its
 * path it cannot. (mkdtemp's directory is 0700, root's.) */
static void test_exec_fd_as_user(void)
{
	char prog[128];
	snprintf(prog, sizeof(prog), "%s/whoami.sh", tmp);
	CHECK_INT(write_file_atomic(prog, "#!/bin/sh\nid -u\n", 16, 0755), 0);
	const char *argv[] = { prog, NULL };
	/* each run its own capture: a child whose exec failed may hand on this process's
	 * unflushed stdio (ThreadSanitizer's _exit flushes it) */
	struct strbuf refused = STRBUF_INIT, out = STRBUF_INIT;
	struct subproc by_path = { .argv = argv,
				   .log_fd = -1,
				   .capture = &refused,
				   .as_user = 1,
				   .uid = 65534,
				   .gid = 65534 };
	CHECK_INT(subproc_run(&by_path), -EACCES);
	int fd = open(prog, O_PATH | O_CLOEXEC);
	CHECK(fd >= 0);
	struct subproc by_fd = { .argv = argv,
				 .log_fd = -1,
				 .capture = &out,
				 .as_user = 1,
				 .uid = 65534,
				 .gid = 65534,
				 .exec_fd = fd };
	CHECK_INT(subproc_run(&by_fd), 0);
	CHECK_STR(out.buf, "65534\n");
	close(fd);
	strbuf_release(&refused);
	strbuf_release(&out);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/wazofs-unit-subproc.XXXXXX");
	if (!mkdtemp(tmp))
		return 2;
	RUN(test_exit_statuses);
	RUN(test_status_policy);
	RUN(test_exec_failures);
	RUN(test_capture_and_log);
	RUN(test_timeout_kills_group);
	RUN(test_timeout_while_writing);
	RUN(test_cancel);
	RUN(test_wait_has_no_tick);
	RUN(test_cancel_at_once);
	RUN(test_start_then_wait);
	RUN(test_exec_fd_as_user);
	rm_rf(tmp);
	return CHECK_SUMMARY();
}
