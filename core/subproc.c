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

int subproc_run(struct subproc *sp)
{
	const char *const path_only[] = { subproc_default_path(), NULL };
	const char *const *env = sp->env ? sp->env : path_only;
	char exe[PATH_MAX];
	int rc = resolve(sp->argv[0], env_get(env, "PATH"), exe, sizeof(exe));
	if (rc)
		return rc;
	sp->timed_out = sp->cancelled = 0;

	int errpipe[2], outpipe[2] = { -1, -1 };
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	if (sp->capture && pipe2(outpipe, O_CLOEXEC) < 0) {
		rc = -errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return rc;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	const char *cwd = sp->cwd ? sp->cwd : "/";

	/* no handler of the daemon may run in the child between fork and exec */
	sigset_t all, old_mask;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old_mask);
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
		goto out_pipes;
	}
	if (pid == 0) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP */
		int logfd = sp->log_fd >= 0 ? sp->log_fd : devnull;
		int outfd = sp->capture ? outpipe[1] : logfd;
		setpgid(0, 0);
		/* Move the fds we keep above 2 first so dup2 cannot clobber them. */
		int e = errpipe[1];
		if (dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(logfd, 2) < 0)
			goto child_fail;
		if (chdir(cwd) < 0)
			goto child_fail;
		if (sp->no_network && unshare(CLONE_NEWNET) < 0)
			goto child_fail;
		if (sp->as_user &&
		    (setgroups(0, NULL) < 0 || setgid(sp->gid) < 0 || setuid(sp->uid) < 0))
			goto child_fail;
		if (e > 3) {
			if (dup2(e, 3) < 0)
				goto child_fail;
			e = 3;
		}
		fcntl(e, F_SETFD, FD_CLOEXEC);
		close_range(4, ~0U, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(exe, (char *const *)sp->argv, (char *const *)env);
	child_fail:;
		int err = errno;
		ssize_t w = write(e, &err, sizeof(err));
		(void)w;
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	setpgid(pid, pid); /* also from the parent, to win the race with kill_group */
	close(errpipe[1]);
	errpipe[1] = -1;
	if (outpipe[1] >= 0) {
		close(outpipe[1]);
		outpipe[1] = -1;
	}
	int child_err = 0;
	ssize_t n;
	do
		n = read(errpipe[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);

	int pidfd = pidfd_open(pid, 0);
	long start = monotonic_ms(), killed_at = 0;
	int status = 0;
	for (;;) {
		struct pollfd pfd[2] = { { pidfd, POLLIN, 0 }, { outpipe[0], POLLIN, 0 } };
		int np = outpipe[0] >= 0 ? 2 : 1;
		if (pidfd >= 0)
			poll(pfd, (nfds_t)np, 200);
		else
			usleep(50000);
		if (np == 2 && (pfd[1].revents & (POLLIN | POLLHUP))) {
			char buf[4096];
			ssize_t r = read(outpipe[0], buf, sizeof(buf));
			if (r > 0)
				strbuf_add(sp->capture, buf, (size_t)r);
			else if (r == 0 || errno != EINTR) {
				close(outpipe[0]);
				outpipe[0] = -1;
			}
			continue;
		}
		/* has it exited? (not reaped yet: its pid keeps naming its group) */
		siginfo_t si;
		si.si_pid = 0;
		int w;
		do
			w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		while (w < 0 && errno == EINTR);
		if (w < 0) {
			rc = -errno;
			goto out_wait;
		}
		if (si.si_pid == pid) {
			kill_group(pid, SIGKILL); /* leftover grandchildren */
			pid_t r;
			do
				r = waitpid(pid, &status, 0);
			while (r < 0 && errno == EINTR);
			break;
		}
		long t = monotonic_ms();
		int over = sp->timeout_sec && t - start > (long)sp->timeout_sec * 1000L;
		int cancel = sp->cancel && atomic_load(sp->cancel);
		if ((over || cancel) && !killed_at) {
			sp->timed_out = over;
			sp->cancelled = cancel;
			kill_group(pid, SIGTERM);
			killed_at = t;
		} else if (killed_at && t - killed_at > 3000) {
			kill_group(pid, SIGKILL);
		}
	}
	if (outpipe[0] >= 0) { /* drain what is left, without waiting on strays */
		char buf[4096];
		fcntl(outpipe[0], F_SETFL, O_NONBLOCK);
		ssize_t r;
		while ((r = read(outpipe[0], buf, sizeof(buf))) > 0)
			strbuf_add(sp->capture, buf, (size_t)r);
	}
	if (child_err && n == sizeof(child_err))
		rc = -child_err;
	else if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		rc = 128 + WTERMSIG(status);
out_wait:
	if (pidfd >= 0)
		close(pidfd);
out_pipes:
	if (devnull >= 0)
		close(devnull);
	close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	if (outpipe[0] >= 0)
		close(outpipe[0]);
	if (outpipe[1] >= 0)
		close(outpipe[1]);
	return rc;
}
