/* archive_helper: reading and writing packages and archives in a process of its own,
 * wazofs-archive (helper/wazofs_archive.c), which runs deb_write, deb_read and
 * tree_import for the daemon. The daemon itself never links libarchive (and its chain:
 * libxml2, ICU, libstdc++, nettle's users): its memory stays small, and an archive that
 * crashes or hangs the library takes down that one process, not the daemon. Each call
 * has the signature and the errors of the function it runs; a helper that dies is -EIO
 * with err saying how. */
#ifndef WAZOFS_ARCHIVE_HELPER_H
#define WAZOFS_ARCHIVE_HELPER_H
#include "base/error.h"
#include "base/strbuf.h"
#include "deb_reader.h"
#include "deb_writer.h"
#include "plugin_meta.h"
#include <sys/types.h>

/* The helper's program: beside the running program, one directory up (the unit tests
 * in BUILD/tests), or WAZOFS_LIBEXECDIR (where `make install` puts it), the first that
 * exists. */
const char *archive_helper_path(void);
/* Uses path as the helper from now on (tests: a helper that crashes, or is missing). */
void archive_helper_use(const char *path);
/* How long one call may take (seconds; 0, the default: no bound). Past it the helper is
 * killed and the call fails with -ETIMEDOUT. The daemon sets job_timeout. */
void archive_helper_set_timeout(unsigned seconds);

/* Who runs the helper: root (as_user 0), or uid:gid with no network; env: its
 * environment besides PATH (NULL: none), e.g. a fakeroot session's. */
struct helper_user {
	int as_user;
	uid_t uid;
	gid_t gid;
	const char *const *env;
};
/* deb_write_fd (plugin/deb_writer.h) of rootdir and more into out_fd (a new file the
 * caller opened), run by who (NULL: root), which need reach neither out_fd's path nor
 * the helper's. */
int helper_deb_write(int out_fd, const char *rootdir, const struct deb_contents *more,
		     const struct helper_user *who, const struct deb_control *ctl,
		     const struct deb_scripts *scripts, struct error *err);
int helper_deb_read(const char *path, int flags, struct deb_info *out, struct error *err);
/* tree_import of an archive (jobs/tree_import.h), limits as given, by who (NULL: root):
 * the daemon opens src and the helper reads it on stdin, so who need not reach src,
 * only dest's parent. A directory is copied in process by the caller. */
int helper_import_archive(const char *src, const char *dest, unsigned long long max_bytes,
			  unsigned long max_entries, const struct helper_user *who,
			  struct error *err);

/* The helper's side: what a result looks like on its way back (records.h). */
void archive_helper_put_report(struct strbuf *out, const struct error *r);
/* The helper's side of deb-write: the request its caller wrote, decoded (one table of
 * fields serves both sides). The fields point into owned; release with
 * archive_helper_deb_request_release. 0 or -ENOMEM. */
#define DEB_REQUEST_FIELDS 10
struct deb_request {
	struct deb_control ctl;
	struct deb_scripts scripts;
	char *owned[DEB_REQUEST_FIELDS];
	/* more.entries' data point into the request (it must outlive this); their paths
	 * and more.replaced are owned */
	struct deb_contents more;
};
int archive_helper_take_deb_request(const struct strbuf *in, struct deb_request *req);
void archive_helper_deb_request_release(struct deb_request *req);
#endif
