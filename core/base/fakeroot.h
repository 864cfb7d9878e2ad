/* fakeroot: a command under fakeroot without the `fakeroot` script. The script spends
 * five processes (getopt twice, sed, cut twice) to start faked and set three variables;
 * here faked-sysv is started directly, in the foreground as a child of ours (it prints
 * "key:pid" and serves until told to end), and the command gets the script's environment:
 * FAKEROOTKEY, FAKED_MODE, LD_PRELOAD of libfakeroot-sysv.so, LD_LIBRARY_PATH of the libfakeroot
 * directories. When faked-sysv or its library is not installed, fakeroot_start says so (-ENOENT)
 * and the caller runs the `fakeroot` script instead. */
#ifndef WAZOFS_FAKEROOT_H
#define WAZOFS_FAKEROOT_H
#include "subproc.h"
#include <sys/types.h>

struct fakeroot {
	struct subproc faked; /* faked.pid > 0 while it runs */
	struct strbuf out;    /* what faked printed */
	char key[64];	      /* FAKEROOTKEY=..., the one variable that differs per run */
	const char *env[5];   /* the four variables, NULL-terminated */
};

/* Starts faked as the child `like` describes (its user, network, environment's PATH;
 * its argv and output are not used). 0 with f->env ready to add to the command's
 * environment, -ENOENT when faked-sysv or libfakeroot-sysv.so is missing, or -errno.
 * After 0, fakeroot_stop must follow. */
int fakeroot_start(struct fakeroot *f, const struct subproc *like);
/* Ends faked (SIGTERM: it removes its IPC objects and exits; SIGKILL 3 s later if it
 * has not) and reaps it. */
void fakeroot_stop(struct fakeroot *f);
#endif
