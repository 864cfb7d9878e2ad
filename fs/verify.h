/* verify: opens of MOUNT/<ns>/<name>/verify, answered off the request threads. The
 * text is the installed files checked against the package's checksums (daemon_verify),
 * which reads every file: an open queues its request and returns the thread; one
 * thread computes the texts one at a time and answers each open with its own (read
 * anew on each open). At most VERIFY_WAITING opens wait; past that an open gets
 * EAGAIN. A caller killed meanwhile is answered when its turn comes (the kernel drops
 * the answer). */
#ifndef WAZOFS_VERIFY_H
#define WAZOFS_VERIFY_H
#include "daemon/daemon.h"
#include <fuse_lowlevel.h>

enum { VERIFY_WAITING = 64 };

/* How an open is answered once its text is there (ops.c: the handle, the reply);
 * called from the verify thread. rc < 0: the open fails with it. */
typedef void verify_answer_fn(fuse_req_t req, const char *path, struct view *v,
			      struct fuse_file_info *fi, int rc);

int verify_start(struct daemon *p, verify_answer_fn *answer);
/* Answers every waiting open EINTR, and ends the thread. */
void verify_stop(void);
/* Queues the open of ns/name's verify at path: 0 (it is answered later), or -errno to
 * answer now. */
int verify_open(fuse_req_t req, const char *path, const char *ns, const char *name,
		const struct fuse_file_info *fi);
#endif
