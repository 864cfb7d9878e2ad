/* subproc: every child process of wazofs goes through here (git's run-command model).
 * argv and environment are built before fork; the child gets stdin from /dev/null,
 * stdout/stderr into a log fd (or a capture buffer), its own process group, a cwd
 * outside the mount, and no other inherited fd. Exec failures come back through a
 * close-on-exec pipe. A timeout or a cancel request kills the whole process group. */
#ifndef WAZOFS_SUBPROC_H
#define WAZOFS_SUBPROC_H
#include "strbuf.h"
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

struct subproc {
	const char *const *argv; /* argv[0] is looked up in the PATH of env */
	const char *const *env;	 /* NULL-terminated "K=V" list; NULL: PATH only */
	const char *cwd;	 /* NULL: "/" */
	int log_fd;		 /* receives stdout+stderr; -1: /dev/null */
	struct strbuf *capture;	 /* when set, stdout goes here instead (stderr to log_fd) */
	unsigned timeout_sec;	 /* 0: none */
	atomic_int *cancel;	 /* when set and becomes non-zero, the child is killed */
	/* when as_user is set, the child runs as uid:gid with no supplementary group (set
	 * after cwd, so cwd may be a directory only root can reach) */
	int as_user;
	uid_t uid;
	gid_t gid;
	int no_network; /* in a network namespace of its own: loopback only, down */
	/* out */
	int timed_out, cancelled;
};

/* Runs the child to completion. Returns its exit status (0..255), 128+signal when it was
 * killed, or -errno when it could not be started (-ENOENT: program not found). */
int subproc_run(struct subproc *sp);

/* The default PATH for children: the daemon's PATH plus the sbin directories. */
const char *subproc_default_path(void);
#endif
