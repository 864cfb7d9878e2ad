/* Unit tests of core/base/fakeroot: faked-sysv started directly must give a command what
 * the fakeroot script gives it (uid 0 to id, ownership changes kept in faked and never
 * made on disk), as an unprivileged user, and end with the session (no faked left). */
#include "base/fakeroot.h"
#include "base/fsutil.h"
#include "base/subproc.h"
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

/* faked's pid as this process sees it: in a PID namespace of its own, the child the
 * fakeroot holds is the namespace's parent (root), and faked is its only child. */
static pid_t faked_pid(const struct fakeroot *fr)
{
	pid_t pid = fr->faked.pid;
	if (!(subproc_confinement() & SUBPROC_OWN_PIDS))
		return pid;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *c = fopen(proc, "r");
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(fscanf(c, "%d", &pid), 1);
		fclose(c);
	}
	return pid;
}

static void test_fake_root_session(void)
{
	char dir[] = "/tmp/wazofs-unit-fakeroot.XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	CHECK_INT(chown(dir, NOBODY, NOBODY), 0);
	const char *argv[] = { "sh", "-c",
			       "echo uid=$(id -u); touch f; chown 4321:4321 f; "
			       "echo owner=$(stat -c %u:%g f)",
			       NULL };
	const char *env[8] = { subproc_default_path(), NULL };
	struct strbuf out = STRBUF_INIT;
	struct subproc sp = { .argv = argv,
			      .env = env,
			      .cwd = dir,
			      .log_fd = -1,
			      .capture = &out,
			      .timeout_sec = 30,
			      .as_user = 1,
			      .uid = NOBODY,
			      .gid = NOBODY };
	struct fakeroot fr;
	CHECK_INT(fakeroot_start(&fr, &sp), 0);
	pid_t faked = fr.faked.pid;
	CHECK(faked > 0);
	/* faked runs as the command's user */
	char proc[64];
	struct stat pst;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)faked_pid(&fr));
	CHECK_INT(stat(proc, &pst), 0);
	CHECK_INT(pst.st_uid, NOBODY);
	memcpy(&env[1], fr.env, sizeof(fr.env));
	CHECK_INT(subproc_run(&sp), 0);
	fakeroot_stop(&fr);
	CHECK_STR(out.buf, "uid=0\nowner=4321:4321\n");
	/* the change was faked: on disk the file is nobody's */
	char f[64];
	struct stat st;
	snprintf(f, sizeof(f), "%s/f", dir);
	CHECK_INT(stat(f, &st), 0);
	CHECK_INT(st.st_uid, NOBODY);
	/* faked is gone (reaped) */
	CHECK_INT(kill(faked, 0), -1);
	CHECK_INT(errno, ESRCH);
	CHECK_INT(fr.faked.pid, 0);
	strbuf_release(&out);
	rm_rf(dir);
}

/* Whether pid names a process that is not a zombie. */
static int process_runs(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int runs =
	    fgets(line, sizeof(line), f) && strrchr(line, ')') && strrchr(line, ')')[2] != 'Z';
	fclose(f);
	return runs;
}

/* A faked that does not end on SIGTERM (stopped here) does not hold its session's end:
 * fakeroot_stop kills it (SIGKILL a few seconds after the SIGTERM) and returns. */
static void test_stuck_faked_is_killed(void)
{
	const char *env[2] = { subproc_default_path(), NULL };
	struct subproc like = {
		.env = env, .log_fd = -1, .as_user = 1, .uid = NOBODY, .gid = NOBODY
	};
	struct fakeroot fr;
	CHECK_INT(fakeroot_start(&fr, &like), 0);
	pid_t faked = faked_pid(&fr);
	CHECK_INT(kill(faked, SIGSTOP), 0);
	check_bound(30); /* the stop itself takes about 3 s */
	fakeroot_stop(&fr);
	check_bound(0);
	CHECK_INT(fr.faked.pid, 0);
	/* faked is dead: gone, or a zombie its new parent has not reaped yet (its own, the
	 * namespace's parent, was killed with it) */
	for (int i = 0; i < 500 && process_runs(faked); i++)
		usleep(10000); /* its SIGKILL is delivered as the namespace ends */
	CHECK(!process_runs(faked));
}

/* A stop without a start, and twice, does nothing. */
static void test_stop_is_safe(void)
{
	struct fakeroot fr;
	memset(&fr, 0, sizeof(fr));
	fakeroot_stop(&fr);
	fakeroot_stop(&fr);
	CHECK_INT(fr.faked.pid, 0);
}

int main(void)
{
	RUN(test_fake_root_session);
	RUN(test_stuck_faked_is_killed);
	RUN(test_stop_is_safe);
	return CHECK_SUMMARY();
}
