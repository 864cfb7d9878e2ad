/* dpkg_db: reads dpkg's database of installed packages in process, as apt does: the
 * status file, then the journal in updates/ (records dpkg wrote since its last
 * checkpoint, applied in order; a later record of a package replaces the earlier). The
 * same records as `dpkg-query --show`, without a process per read. */
#ifndef WAZOFS_DPKG_DB_H
#define WAZOFS_DPKG_DB_H

/* One package's record. Each string points into the reader's buffer (valid during the
 * callback only); a field the record does not have is "". */
struct dpkg_record {
	const char *package, *architecture, *version, *section, *depends;
	/* ${db:Status-Abbrev} without its trailing blank: selection (u, i, h, r, p),
	 * state (n, c, H, U, F, W, t, i), then 'R' when it needs reinstalling */
	char status[4];
};

typedef int (*dpkg_record_fn)(const struct dpkg_record *rec, void *ctx);

/* Calls fn for every package of the database under admindir (DIR/var/lib/dpkg) that is
 * not `not-installed`, in the status file's order (packages first seen in the journal
 * last). A status file that changes while it is read is read again. Returns 0, fn's
 * first non-zero return, or -errno (an admindir without a status file holds no
 * package: 0). */
int dpkg_db_read(const char *admindir, dpkg_record_fn fn, void *ctx);

/* The three letters of a Status field ("install ok installed" -> "ii"), or -EINVAL for
 * a field dpkg would not write. */
int dpkg_status_abbrev(const char *status_field, char out[4]);
#endif
