/* fakeroot: faked started directly (see fakeroot.h). */
#include "fakeroot.h"
#include "monotonic.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WAZOFS_MULTIARCH
#define WAZOFS_MULTIARCH "x86_64-linux-gnu"
#endif
#define FAKED	     "/usr/bin/faked-sysv"
#define FAKEROOT_LIB "libfakeroot-sysv.so"
#define LIB_DIR	     "/usr/lib/" WAZOFS_MULTIARCH "/libfakeroot"
/* the directories the script puts in LD_LIBRARY_PATH, in its order */
#define LIB_DIRS LIB_DIR ":/usr/lib64/libfakeroot:/usr/lib32/libfakeroot"
#define START_MS 10000 /* faked answers at once; past this it is stuck */

static const char *const faked_argv[] = { FAKED, "--foreground", NULL };
static const char *const faked_env[] = { "FAKED_MODE=unknown-is-root", NULL };

/* Reads faked's first line ("KEY:PID\n") into f->out: 0, or -errno. */
static int read_key_line(struct fakeroot *f)
{
	long end = monotonic_ms() + START_MS;
	while (!f->out.buf || !memchr(f->out.buf, '\n', f->out.len)) {
		long left = end - monotonic_ms();
		struct pollfd pfd = { f->faked.out_fd, POLLIN, 0 };
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		char buf[128];
		ssize_t r = read(f->faked.out_fd, buf, sizeof(buf));
		if (r == 0)
			return -EPIPE; /* it ended without a key */
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (r > 0)
			strbuf_add(&f->out, buf, (size_t)r);
		if (f->out.oom)
			return -ENOMEM;
	}
	return 0;
}

int fakeroot_start(struct fakeroot *f, const struct subproc *like)
{
	memset(f, 0, sizeof(*f));
	if (access(FAKED, X_OK) < 0 || access(LIB_DIR "/" FAKEROOT_LIB, R_OK) < 0)
		return -ENOENT;
	f->faked = (struct subproc){
		.argv = faked_argv,
		.env = faked_env,
		.log_fd = like->log_fd,
		.capture = &f->out,
		.as_user = like->as_user,
		.uid = like->uid,
		.gid = like->gid,
		.no_network = like->no_network,
		.forward_term = 1, /* fakeroot_stop's SIGTERM: faked removes its IPC objects */
	};
	int rc = subproc_start(&f->faked);
	if (rc) {
		f->faked.pid = 0;
		strbuf_release(&f->out);
		return rc;
	}
	rc = read_key_line(f);
	size_t klen = f->out.buf ? strcspn(f->out.buf, ":\n") : 0;
	if (!rc && (!klen || f->out.buf[klen] != ':' || klen >= sizeof(f->key) - 16))
		rc = -EPROTO;
	if (rc) {
		fakeroot_stop(f);
		return rc;
	}
	snprintf(f->key, sizeof(f->key), "FAKEROOTKEY=%.*s", (int)klen, f->out.buf);
	f->env[0] = f->key;
	f->env[1] = faked_env[0];
	f->env[2] = "LD_PRELOAD=" FAKEROOT_LIB;
	f->env[3] = "LD_LIBRARY_PATH=" LIB_DIRS;
	f->env[4] = NULL;
	return 0;
}

void fakeroot_stop(struct fakeroot *f)
{
	if (f->faked.pid > 0) {
		/* a cancel made before the wait: SIGTERM at once (faked removes its IPC objects
		 * and ends), SIGKILL 3 s later to a faked that did not end; then it is reaped
		 * (and what is left of its group killed) */
		struct cancel stop = CANCEL_INIT;
		cancel_init(&stop); /* without its fd, the wait looks at the flag */
		cancel_request(&stop);
		f->faked.cancel = &stop;
		subproc_wait(&f->faked);
		f->faked.cancel = NULL;
		cancel_destroy(&stop);
	}
	f->faked.pid = 0;
	strbuf_release(&f->out);
}
