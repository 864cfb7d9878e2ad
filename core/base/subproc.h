/* subproc: every child process of wazofs goes through here (git's run-command model).
 * argv and environment are built before fork; the child gets umask 022, stdin from /dev/null (or a
 * given fd), stdout/stderr into a log fd (or a capture buffer), its own process group, a cwd
 * outside the mount, and no other inherited fd. Exec failures come back through a
 * close-on-exec pipe. A timeout or a cancel request kills the whole process group. */
#ifndef WAZOFS_SUBPROC_H
#define WAZOFS_SUBPROC_H
#include "cancel.h"
#include "strbuf.h"
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

struct subproc {
	const char *const *argv; /* argv[0] is looked up in the PATH of env */
	const char *const *env;	 /* NULL-terminated "K=V" list; NULL: PATH only */
	const char *cwd;	 /* NULL: "/" */
	int stdin_fd;		 /* > 0: the child's stdin; 0: /dev/null */
	int log_fd;		 /* receives stdout+stderr; -1: /dev/null */
	struct strbuf *capture;	 /* when set, stdout goes here instead (stderr to log_fd) */
	unsigned timeout_sec;	 /* 0: none */
	struct cancel *cancel;	 /* when set and requested, the child is killed */
	/* when as_user is set, the child runs as uid:gid with no supplementary group (set
	 * after cwd, so cwd may be a directory only root can reach), with no_new_privs, and
	 * where the kernel allows it as PID 1 of a PID namespace of its own: every process
	 * it starts dies when it ends (see subproc_confinement) */
	int as_user;
	uid_t uid;
	gid_t gid;
	int no_network; /* in a network namespace of its own: loopback only, down */
	/* > 0: an fd (O_PATH is enough) of the program to run instead of looking argv[0]
	 * up: with as_user, the user need not reach the program's directory */
	int exec_fd;
	/* > 0: an fd the child gets as its fd 5 (an output the caller opened) */
	int pass_fd;
	/* with as_user, where the kernel has Landlock: the directories (NULL-terminated)
	 * below which the child may write; anywhere else it may only read (and write to
	 * /dev/null, /dev/zero, /dev/full, /dev/tty). NULL: no such bound. */
	const char *const *write_beneath;
	/* with as_user: in a mount namespace of its own where /tmp, /var/tmp, /run and
	 * /dev/shm are empty (so no UNIX socket of the host under them is reachable), but for
	 * cwd and the write_beneath directories, which stay where they are */
	int hide_host;
	/* with as_user in a PID namespace: a SIGTERM (SIGINT, SIGHUP) to the child reaches
	 * its program, PID 1 there, which may end cleanly (faked); without it, the signal
	 * ends the whole namespace at once */
	int forward_term;
	/* out */
	int timed_out, cancelled;
	/* between subproc_start and subproc_wait */
	pid_t pid;
	int err_fd;	/* the child's exec errno arrives here (close-on-exec pipe) */
	int out_fd;	/* the capture pipe, or -1 */
	int devnull_fd; /* the child's stdin, and its output when log_fd is -1 */
};

/* Starts the child: resolves argv[0] in the PATH of env, forks with every signal
 * blocked, and in the child resets every handler, sets up fds, cwd, user and network,
 * then execs. 0, or -errno when it could not be started (-ENOENT: program not found);
 * on 0, subproc_wait must follow. */
int subproc_start(struct subproc *sp);
/* Waits for the child started by subproc_start: collects captured output, enforces
 * timeout_sec and cancel (SIGTERM to the process group, SIGKILL 3 s later), reaps it and
 * kills what is left of its group. Returns subproc_status of how it ended. */
int subproc_wait(struct subproc *sp);
/* The one exit-status policy: the exec's errno as -errno when the program never ran,
 * else its exit status (0..255), or 128+signal when a signal ended it. */
int subproc_status(int wait_status, int exec_errno);
/* subproc_start, then subproc_wait. */
int subproc_run(struct subproc *sp);

/* What confines a child run as_user on this kernel, probed once: SUBPROC_OWN_PIDS, and
 * SUBPROC_LANDLOCK (write_beneath applies). no_new_privs always applies. */
enum { SUBPROC_OWN_PIDS = 1, SUBPROC_LANDLOCK = 2 };
int subproc_confinement(void);

/* How many processes of uid run now (0, or -errno); kill_them: SIGKILL to each. */
int subproc_user_left(uid_t uid, int kill_them);

/* The default PATH for children: the daemon's PATH plus the sbin directories. */
const char *subproc_default_path(void);
#endif
