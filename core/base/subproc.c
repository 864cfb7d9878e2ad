/* subproc: child processes (see subproc.h). Only async-signal-safe calls run between
 * fork and exec. */
#include "subproc.h"
#include "monotonic.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
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

/* In the child, between fork and exec: only async-signal-safe calls. Never returns. */
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
	int e = errpipe_w;
	int infd = sp->stdin_fd > 0 ? sp->stdin_fd : sp->devnull_fd;
	if (dup2(infd, 0) < 0 || dup2(outfd, 1) < 0 || dup2(logfd, 2) < 0)
		goto fail;
	if (chdir(cwd) < 0)
		goto fail;
	if (sp->no_network && unshare(CLONE_NEWNET) < 0)
		goto fail;
	if (sp->as_user && (setgroups(0, NULL) < 0 || setgid(sp->gid) < 0 || setuid(sp->uid) < 0))
		goto fail;
	/* the program's fd out of the way of the error pipe's move */
	int prog = sp->exec_fd > 0 ? fcntl(sp->exec_fd, F_DUPFD, 10) : -1;
	if (sp->exec_fd > 0 && prog < 0)
		goto fail;
	/* the error pipe moves to fd 3, and the program's fd to 4, the only ones kept
	 * besides 0-2 (the program's stays open: a script's interpreter opens it) */
	if (e > 3) {
		if (dup2(e, 3) < 0)
			goto fail;
		e = 3;
	}
	fcntl(e, F_SETFD, FD_CLOEXEC);
	if (prog >= 0 && dup2(prog, 4) < 0)
		goto fail;
	close_range(prog >= 0 ? 5 : 4, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prog >= 0)
		execveat(4, "", (char *const *)sp->argv, (char *const *)env, AT_EMPTY_PATH);
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

int subproc_wait(struct subproc *sp)
{
	int exec_errno = 0;
	ssize_t n;
	do
		n = read(sp->err_fd, &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(exec_errno))
		exec_errno = 0; /* the pipe closed at exec: the program runs */

	int pidfd = pidfd_open(sp->pid, 0);
	long start = monotonic_ms(), killed_at = 0;
	int status = 0, rc;
	for (;;) {
		struct pollfd pfd[2] = { { pidfd, POLLIN, 0 }, { sp->out_fd, POLLIN, 0 } };
		nfds_t np = sp->out_fd >= 0 ? 2 : 1;
		if (pidfd >= 0)
			poll(pfd, np, 200);
		else
			usleep(50000);
		if (np == 2 && (pfd[1].revents & (POLLIN | POLLHUP))) {
			read_capture(sp);
			continue;
		}
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
		long t = monotonic_ms();
		int over = sp->timeout_sec && t - start > (long)sp->timeout_sec * 1000L;
		int cancel = sp->cancel && atomic_load(sp->cancel);
		if ((over || cancel) && !killed_at) {
			sp->timed_out = over;
			sp->cancelled = cancel;
			kill_group(sp->pid, SIGTERM);
			killed_at = t;
		} else if (killed_at && t - killed_at > 3000) {
			kill_group(sp->pid, SIGKILL);
		}
	}
	if (sp->out_fd >= 0) { /* drain what is left, without waiting on strays */
		fcntl(sp->out_fd, F_SETFL, O_NONBLOCK);
		char buf[4096];
		ssize_t r;
		while ((r = read(sp->out_fd, buf, sizeof(buf))) > 0)
			strbuf_add(sp->capture, buf, (size_t)r);
	}
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
