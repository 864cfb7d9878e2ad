/* subproc: child processes (see subproc.h). Only async-signal-safe calls run between
 * fork and exec. */
#include "subproc.h"
#include "monotonic.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/landlock.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE /* Landlock ABI 3 (Linux 6.2); Debian 12's headers are 6.1 */
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char default_path[4096];
static pthread_once_t path_once = PTHREAD_ONCE_INIT;

static void init_path(void)
{
	const char *p = getenv("PATH");
	if (!p || !*p)
		p = "/usr/local/bin:/usr/bin:/bin";
	snprintf(default_path, sizeof(default_path), "PATH=%s", p);
	static const char *const sbins[] = { "/usr/local/sbin", "/usr/sbin", "/sbin" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(sbins[i]);
		const char *hit = strstr(p, sbins[i]);
		if (hit && (hit[n] == ':' || hit[n] == 0) && (hit == p || hit[-1] == ':'))
			continue;
		size_t len = strlen(default_path);
		snprintf(default_path + len, sizeof(default_path) - len, ":%s", sbins[i]);
	}
}

const char *subproc_default_path(void)
{
	pthread_once(&path_once, init_path);
	return default_path;
}

static const char *env_get(const char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* Finds prog in path (a PATH value); returns 0 with out filled, or -ENOENT. */
static int resolve(const char *prog, const char *path, char *out, size_t outlen)
{
	if (strchr(prog, '/')) {
		snprintf(out, outlen, "%s", prog);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(out, outlen, "%.*s/%s", (int)n, path, prog);
		struct stat st;
		if (n && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -ENOENT;
}

/* The child leads its own process group (set on both sides of fork), and it is not
 * reaped before its group is killed, so -pid never names another process's group. */
static void kill_group(pid_t pid, int sig)
{
	kill(-pid, sig);
}

/* The first process of a PID namespace's parent: waits for it (its PID 1) and ends as it
 * ended. When it is killed (a timeout, a cancel), PID 1 gets SIGKILL (its parent-death
 * signal), and the kernel kills every process left in the namespace with it. With
 * forward_term, SIGTERM, SIGINT and SIGHUP go on to PID 1 instead (which the kernel
 * shields from signals it has no handler for): faked, which then removes its IPC objects,
 * ends cleanly; SIGKILL still ends everything. The signals are taken synchronously
 * (sigwaitinfo), not by a handler: this process is a fork of a threaded one, where a
 * handler may not run at all (ThreadSanitizer defers it forever). */
_Noreturn static void reap_init(pid_t init, int alive_w, int forward_term)
{
	sigset_t taken;
	sigemptyset(&taken);
	sigaddset(&taken, SIGCHLD);
	if (forward_term) {
		sigaddset(&taken, SIGTERM);
		sigaddset(&taken, SIGINT);
		sigaddset(&taken, SIGHUP);
	}
	sigprocmask(SIG_SETMASK, &taken, NULL); /* the rest keep their default action */
	/* alive_w stays open while this process lives: PID 1 sees it to know its parent
	 * was there once its parent-death signal was set */
	if (alive_w > 0)
		close_range(0, (unsigned)alive_w - 1, 0);
	close_range((unsigned)alive_w + 1, ~0U, 0);
	int status;
	for (;;) {
		pid_t got = waitpid(init, &status, WNOHANG);
		if (got == init)
			break;
		if (got < 0 && errno != EINTR)
			_exit(127);
		/* a SIGCHLD that came since the look above stays pending: no wake-up is lost */
		int sig = sigwaitinfo(&taken, NULL);
		if (sig > 0 && sig != SIGCHLD)
			kill(init, sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* In a child that runs as the build user, as root still: a PID namespace of its own,
 * whose PID 1 (the program) takes every process it starts with it when it ends
 * (setsid, double forks and daemons included). Returns in PID 1; -1 on failure. */
static int own_pid_namespace(int forward_term)
{
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) < 0 || unshare(CLONE_NEWPID) < 0)
		return -1;
	pid_t init = fork();
	if (init < 0)
		return -1;
	if (init > 0)
		reap_init(init, alive[1], forward_term);
	close(alive[1]);
	/* the parent may have died before this: then its end of the pipe is closed */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -1;
	struct pollfd pfd = { alive[0], POLLIN, 0 };
	if (poll(&pfd, 1, 0) != 0)
		_exit(128 + SIGKILL);
	close(alive[0]);
	return 0;
}

static int confinement;
static pthread_once_t confinement_once = PTHREAD_ONCE_INIT;
static __u64 landlock_writes; /* the write rights this kernel's Landlock handles */

static void probe_confinement(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 1) {
		confinement |= SUBPROC_LANDLOCK;
		landlock_writes = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
				  LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
				  LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
				  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
				  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
		if (abi >= 2)
			landlock_writes |= LANDLOCK_ACCESS_FS_REFER;
		if (abi >= 3)
			landlock_writes |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWPID) == 0 ? 0 : 1);
	int status;
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)
		confinement |= SUBPROC_OWN_PIDS;
}

int subproc_confinement(void)
{
	pthread_once(&confinement_once, probe_confinement);
	return confinement;
}

/* A Landlock rule: the rights below path (a directory, or a file with the rights a file
 * takes). A path that cannot be opened gets no rule. */
static void allow_beneath(int ruleset, const char *path, __u64 rights)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		struct landlock_path_beneath_attr pb = {
			.allowed_access = S_ISDIR(st.st_mode)
					      ? rights
					      : rights & (LANDLOCK_ACCESS_FS_WRITE_FILE |
							  LANDLOCK_ACCESS_FS_TRUNCATE),
			.parent_fd = fd,
		};
		syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	}
	close(fd);
}

/* The child may write only below sp->write_beneath (and to /dev/null and its kin). */
static int restrict_writes(const struct subproc *sp)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = landlock_writes };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return -1;
	for (const char *const *d = sp->write_beneath; *d; d++)
		allow_beneath(rs, *d, landlock_writes);
	static const char *const devices[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/tty" };
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		allow_beneath(rs, devices[i], landlock_writes);
	int rc = (int)syscall(SYS_landlock_restrict_self, rs, 0);
	close(rs);
	return rc;
}

/* "/proc/self/fd/N" into buf (no stdio between fork and exec). */
static void fd_path(char buf[32], int fd)
{
	char digits[12];
	int n = 0;
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) && n < 11);
	memcpy(buf, "/proc/self/fd/", 14);
	for (int i = 0; i < n; i++)
		buf[14 + i] = digits[n - 1 - i];
	buf[14 + n] = 0;
}

/* mkdir -p of path in the child's new tmpfs (root made it: nothing there to follow). */
static void make_path(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

/* The host's /tmp, /var/tmp, /run and /dev/shm hidden under empty tmpfs in a mount
 * namespace of the child's own; cwd and the write_beneath directories bound back where
 * they were. 0, or -1 (errno set). */
static int hide_host_dirs(const struct subproc *sp)
{
	static const char *const hidden[] = { "/tmp", "/var/tmp", "/run", "/dev/shm" };
	enum { KEEP_MAX = 16 };
	int keep_fd[KEEP_MAX];
	const char *keep[KEEP_MAX];
	size_t nk = 0;
	const char *want[KEEP_MAX + 1] = { sp->cwd };
	size_t nw = sp->cwd ? 1 : 0;
	for (const char *const *d = sp->write_beneath; d && *d && nw < KEEP_MAX; d++)
		want[nw++] = *d;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	/* opened in the new namespace (a bind takes a mount of the caller's own) */
	for (size_t i = 0; i < nw; i++)
		for (size_t h = 0; h < sizeof(hidden) / sizeof(hidden[0]); h++) {
			size_t len = strlen(hidden[h]);
			if (strncmp(want[i], hidden[h], len) || want[i][len] != '/')
				continue;
			int fd = open(want[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0) {
				keep_fd[nk] = fd;
				keep[nk++] = want[i];
			}
			break;
		}
	for (size_t h = 0; h < sizeof(hidden) / sizeof(hidden[0]); h++) {
		struct stat st;
		if (lstat(hidden[h], &st) == 0 && S_ISDIR(st.st_mode) &&
		    mount("tmpfs", hidden[h], "tmpfs", MS_NOSUID | MS_NODEV,
			  strcmp(hidden[h], "/run") ? "mode=1777" : "mode=0755") < 0)
			return -1;
	}
	for (size_t i = 0; i < nk; i++) {
		char src[32];
		fd_path(src, keep_fd[i]);
		make_path(keep[i]);
		if (mount(src, keep[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			return -1;
		close(keep_fd[i]);
	}
	return 0;
}

/* In the child, between fork and exec: only async-signal-safe calls. Never returns. */
/* In the child: its namespaces, user, no_new_privs and Landlock, as sp asks (cwd is
 * entered again in a mount namespace of its own). -1 with errno on failure. */
static int confine_child(const struct subproc *sp, const char *cwd)
{
	if (sp->no_network && unshare(CLONE_NEWNET) < 0)
		return -1;
	if (!sp->as_user)
		return 0;
	if ((confinement & SUBPROC_OWN_PIDS) && own_pid_namespace(sp->forward_term) < 0)
		return -1;
	if (sp->hide_host && (hide_host_dirs(sp) < 0 || chdir(cwd) < 0))
		return -1;
	if (setgroups(0, NULL) < 0 || setgid(sp->gid) < 0 || setuid(sp->uid) < 0)
		return -1;
	/* no set-id program, no file capability gives the user more than it has */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	if (sp->write_beneath && (confinement & SUBPROC_LANDLOCK) && restrict_writes(sp) < 0)
		return -1;
	return 0;
}

/* In the child: the error pipe (*e) moves to fd 3, the program's fd to 4 and the passed
 * fd to 5, the only ones kept besides 0-2 (the program's stays open: a script's
 * interpreter opens it). *prog: 4, or -1 without one. -1 with errno on failure. */
static int place_fds(const struct subproc *sp, int *e, int *prog)
{
	/* the program's and the passed fd out of the way of the error pipe's move */
	*prog = sp->exec_fd > 0 ? fcntl(sp->exec_fd, F_DUPFD, 10) : -1;
	if (sp->exec_fd > 0 && *prog < 0)
		return -1;
	int passed = sp->pass_fd > 0 ? fcntl(sp->pass_fd, F_DUPFD, 10) : -1;
	if (sp->pass_fd > 0 && passed < 0)
		return -1;
	if (*e > 3) {
		if (dup2(*e, 3) < 0)
			return -1;
		*e = 3;
	}
	fcntl(*e, F_SETFD, FD_CLOEXEC);
	if (*prog >= 0 && dup2(*prog, 4) < 0)
		return -1;
	if (passed >= 0 && dup2(passed, 5) < 0)
		return -1;
	if (*prog < 0)
		close(4);
	else
		*prog = 4;
	close_range(passed >= 0 ? 6 : 5, ~0U, 0);
	return 0;
}

static void exec_child(const struct subproc *sp, const char *exe, const char *const *env,
		       int errpipe_w, int outpipe_w)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP */
	int logfd = sp->log_fd >= 0 ? sp->log_fd : sp->devnull_fd;
	int outfd = sp->capture ? outpipe_w : logfd;
	const char *cwd = sp->cwd ? sp->cwd : "/";
	setpgid(0, 0);
	umask(022); /* not the daemon's: what a child makes does not depend on who started it */
	int e = errpipe_w, prog = -1;
	int infd = sp->stdin_fd > 0 ? sp->stdin_fd : sp->devnull_fd;
	if (dup2(infd, 0) < 0 || dup2(outfd, 1) < 0 || dup2(logfd, 2) < 0 || chdir(cwd) < 0 ||
	    confine_child(sp, cwd) < 0 || place_fds(sp, &e, &prog) < 0)
		goto fail;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prog >= 0)
		execveat(prog, "", (char *const *)sp->argv, (char *const *)env, AT_EMPTY_PATH);
	else
		execve(exe, (char *const *)sp->argv, (char *const *)env);
fail:;
	int err = errno;
	ssize_t w = write(e, &err, sizeof(err));
	(void)w;
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int subproc_start(struct subproc *sp)
{
	const char *const path_only[] = { subproc_default_path(), NULL };
	const char *const *env = sp->env ? sp->env : path_only;
	char exe[PATH_MAX] = "";
	int rc = sp->exec_fd > 0 ? 0 : resolve(sp->argv[0], env_get(env, "PATH"), exe, sizeof(exe));
	if (rc)
		return rc;
	if (sp->as_user)
		subproc_confinement(); /* probed before the fork: the child only reads it */
	sp->timed_out = sp->cancelled = 0;
	sp->pid = -1;
	sp->err_fd = sp->out_fd = sp->devnull_fd = -1;

	int errpipe[2] = { -1, -1 }, outpipe[2] = { -1, -1 };
	if (pipe2(errpipe, O_CLOEXEC) < 0 || (sp->capture && pipe2(outpipe, O_CLOEXEC) < 0) ||
	    (sp->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto fail;
	}
	/* no handler of the daemon may run in the child between fork and exec */
	sigset_t all, old_mask;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old_mask);
	pid_t pid = fork();
	if (pid == 0)
		exec_child(sp, exe, env, errpipe[1], outpipe[1]);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	if (pid < 0) {
		rc = -fork_errno;
		goto fail;
	}
	setpgid(pid, pid); /* also from the parent, to win the race with kill_group */
	sp->pid = pid;
	sp->err_fd = errpipe[0];
	sp->out_fd = outpipe[0];
	close(errpipe[1]);
	if (outpipe[1] >= 0)
		close(outpipe[1]);
	return 0;
fail:
	close_fd(&errpipe[0]);
	close_fd(&errpipe[1]);
	close_fd(&outpipe[0]);
	close_fd(&outpipe[1]);
	close_fd(&sp->devnull_fd);
	return rc;
}

int subproc_status(int wait_status, int exec_errno)
{
	if (exec_errno)
		return -exec_errno;
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	return 128 + WTERMSIG(wait_status);
}

static void read_capture(struct subproc *sp)
{
	char buf[4096];
	ssize_t r = read(sp->out_fd, buf, sizeof(buf));
	if (r > 0)
		strbuf_add(sp->capture, buf, (size_t)r);
	else if (r == 0 || errno != EINTR)
		close_fd(&sp->out_fd);
}

/* Has the child exited? 1 yes (not reaped: its pid keeps naming its group), 0 no,
 * -errno. */
static int child_exited(pid_t pid)
{
	siginfo_t si;
	si.si_pid = 0;
	int w;
	do
		w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : si.si_pid == pid;
}

/* The errno of a failed exec, sent on the close-on-exec pipe; 0 when the program runs. */
static int exec_error(struct subproc *sp)
{
	int exec_errno = 0;
	ssize_t n;
	do
		n = read(sp->err_fd, &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	return n == sizeof(exec_errno) ? exec_errno : 0;
}

/* What the child wrote and did not get read yet, without waiting on strays. */
static void drain_capture(struct subproc *sp)
{
	if (sp->out_fd < 0)
		return;
	fcntl(sp->out_fd, F_SETFL, O_NONBLOCK);
	char buf[4096];
	ssize_t r;
	while ((r = read(sp->out_fd, buf, sizeof(buf))) > 0)
		strbuf_add(sp->capture, buf, (size_t)r);
}

/* How long the wait may sleep: until the timeout, or the SIGKILL that follows a SIGTERM
 * by 3 s; -1 when nothing is due (the child's end, its output or a cancel wakes it);
 * CANCEL_POLL_MS when a cancel can only be seen by looking at its flag. */
static int wait_ms(const struct subproc *sp, long start, long killed_at, long now)
{
	long due = killed_at	     ? killed_at + 3000
		   : sp->timeout_sec ? start + (long)sp->timeout_sec * 1000L
				     : -1;
	long ms = due < 0 ? -1 : due > now ? due - now : 0;
	if (sp->cancel && cancel_fd(sp->cancel) < 0 && (ms < 0 || ms > CANCEL_POLL_MS))
		ms = CANCEL_POLL_MS;
	return ms > 60000 ? 60000 : (int)ms;
}

/* Sleeps until the child ends, writes, is cancelled or a deadline is due; takes what it
 * wrote. */
static void wait_event(struct subproc *sp, int pidfd, int ms, int killed)
{
	struct pollfd pfd[3] = { { pidfd, POLLIN, 0 },
				 { sp->out_fd, POLLIN, 0 },
				 { cancel_fd(sp->cancel), POLLIN, 0 } };
	/* without a pidfd (a kernel before 5.3), the end is looked for every 50 ms */
	if (pidfd < 0 && (ms < 0 || ms > 50))
		ms = 50;
	/* a negative fd is ignored by poll; a cancel stays readable, so it is left out
	 * once the child was told to end */
	if (killed)
		pfd[2].fd = -1;
	if (poll(pfd, 3, ms) > 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
		read_capture(sp);
}

int subproc_wait(struct subproc *sp)
{
	int exec_errno = exec_error(sp);

	int pidfd = pidfd_open(sp->pid, 0);
	long start = monotonic_ms(), killed_at = 0;
	int status = 0, rc;
	for (;;) {
		wait_event(sp, pidfd, wait_ms(sp, start, killed_at, monotonic_ms()),
			   killed_at != 0);
		int exited = child_exited(sp->pid);
		if (exited < 0) {
			rc = exited;
			goto out;
		}
		if (exited) {
			kill_group(sp->pid, SIGKILL); /* leftover grandchildren */
			while (waitpid(sp->pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		/* what it wrote was taken, then the deadline looked at all the same: a
		 * child that keeps writing is timed out like any other */
		long t = monotonic_ms();
		int over = sp->timeout_sec && t - start >= (long)sp->timeout_sec * 1000L;
		int cancel = cancel_requested(sp->cancel);
		if ((over || cancel) && !killed_at) {
			sp->timed_out = over;
			sp->cancelled = cancel;
			kill_group(sp->pid, SIGTERM);
			killed_at = t;
		} else if (killed_at && t - killed_at >= 3000) {
			kill_group(sp->pid, SIGKILL);
		}
	}
	drain_capture(sp);
	rc = subproc_status(status, exec_errno);
out:
	if (pidfd >= 0)
		close(pidfd);
	close_fd(&sp->err_fd);
	close_fd(&sp->out_fd);
	close_fd(&sp->devnull_fd);
	sp->pid = -1;
	return rc;
}

int subproc_run(struct subproc *sp)
{
	int rc = subproc_start(sp);
	return rc ? rc : subproc_wait(sp);
}

int subproc_user_left(uid_t uid, int kill_them)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct stat st;
		/* /proc/PID belongs to the process's effective uid */
		if (*end || pid <= 0 || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    st.st_uid != uid)
			continue;
		n++;
		if (kill_them)
			kill((pid_t)pid, SIGKILL);
	}
	closedir(d);
	return n;
}
