/* deb_writer: the .deb format (see deb_writer.h), all of it written by libarchive. The
 * tree is walked once for Installed-Size and conffiles, control.tar.gz is built in
 * memory, then data.tar.xz is streamed into the package file behind it: no temporary
 * copy of the data. */
#include "deb_writer.h"
#include "base/fsutil.h"
#include "base/name_list.h"
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail_archive(struct error *err, struct archive *a, const char *what)
{
	error_addf(err, "%s: %s", what,
		   archive_error_string(a) ? archive_error_string(a) : "error");
	int e = archive_errno(a);
	return e > 0 ? -e : -EIO;
}

static la_ssize_t sb_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	strbuf_add(ctx, buf, len);
	return ((struct strbuf *)ctx)->oom ? -1 : (la_ssize_t)len;
}

static void set_root_owner(struct archive_entry *e)
{
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
}

static int add_mem_file(struct archive *a, const char *path, const char *data, int mode,
			time_t mtime, struct error *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, (mode_t)mode);
	archive_entry_set_size(e, (la_int64_t)strlen(data));
	archive_entry_set_mtime(e, mtime, 0);
	set_root_owner(e);
	int rc = 0;
	if (archive_write_header(a, e) < ARCHIVE_WARN ||
	    archive_write_data(a, data, strlen(data)) < 0)
		rc = fail_archive(err, a, path);
	archive_entry_free(e);
	return rc;
}

/* 1 when the tree's entry rel is left out: an entry of more has its path, or it is at
 * or below a replaced path. */
static int is_replaced(const struct deb_contents *more, const char *rel)
{
	if (!more)
		return 0;
	for (size_t i = 0; i < more->n; i++)
		if (strcmp(rel, more->entries[i].path) == 0)
			return 1;
	for (size_t i = 0; i < more->n_replaced; i++) {
		size_t n = strlen(more->replaced[i]);
		if (strncmp(rel, more->replaced[i], n) == 0 && (rel[n] == 0 || rel[n] == '/'))
			return 1;
	}
	return 0;
}

/* 1 when the tree's entry rel is a parent directory of an entry of more. */
static int holds_more(const struct deb_contents *more, const char *rel)
{
	size_t n = strlen(rel);
	for (size_t i = 0; more && i < more->n; i++)
		if (strncmp(more->entries[i].path, rel, n) == 0 && more->entries[i].path[n] == '/')
			return 1;
	return 0;
}

/* Installed-Size and conffiles, from a walk of rootdir before data.tar is written: the
 * control member comes first in the ar, and data.tar is streamed after it. */
static int measure_tree(const char *rootdir, const struct deb_contents *more,
			struct strbuf *conffiles, unsigned long *installed_kb, struct error *err)
{
	char *roots[] = { (char *)rootdir, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts) {
		error_addf(err, "%s: %s", rootdir, strerror(errno));
		return -errno;
	}
	size_t rootlen = strlen(rootdir);
	unsigned long kb = 0;
	int rc = 0;
	FTSENT *f;
	errno = 0;
	while ((f = fts_read(fts))) {
		if (f->fts_info == FTS_DP)
			continue;
		if (f->fts_info == FTS_DNR || f->fts_info == FTS_ERR || f->fts_info == FTS_NS) {
			error_addf(err, "%s: %s", f->fts_path, strerror(f->fts_errno));
			rc = -f->fts_errno;
			break;
		}
		const char *rel = f->fts_path + rootlen;
		while (*rel == '/')
			rel++;
		if (*rel && is_replaced(more, rel)) {
			if (f->fts_info == FTS_D)
				fts_set(fts, f, FTS_SKIP);
			continue;
		}
		/* where the package's own entries go, the tree may hold only directories: a
		 * link there would take them elsewhere when dpkg unpacks them */
		if (f->fts_info != FTS_D && holds_more(more, rel)) {
			error_addf(err, "%s: must be a directory (wazofs puts /%s there)", rel,
				   more->entries[0].path);
			rc = -EINVAL;
			break;
		}
		if (f->fts_info == FTS_F) {
			kb += (unsigned long)((f->fts_statp->st_size + 1023) / 1024);
			if (strncmp(rel, "etc/", 4) == 0)
				strbuf_addf(conffiles, "/%s\n", rel);
		} else {
			kb++;
		}
	}
	if (!f && errno) { /* NULL with errno 0 is the end of the walk */
		rc = -errno;
		error_addf(err, "%s: %s", rootdir, strerror(errno));
	}
	fts_close(fts);
	for (size_t i = 0; more && i < more->n; i++) {
		const struct deb_entry *x = &more->entries[i];
		kb += S_ISREG(x->mode) ? (unsigned long)((x->len + 1023) / 1024) : 1;
		if (S_ISREG(x->mode) && strncmp(x->path, "etc/", 4) == 0)
			strbuf_addf(conffiles, "/%s\n", x->path);
	}
	*installed_kb = kb;
	return rc;
}

/* An entry of the tree keeps the owner stat() gave it (fakeroot's), except the writer's
 * own real uid or gid, which is root's: then its set-id bit goes too. */
static void keep_owner(struct archive_entry *e)
{
	uid_t ruid = getuid();
	gid_t rgid = getgid();
	mode_t perm = archive_entry_perm(e);
	if (ruid != 0 && archive_entry_uid(e) == (la_int64_t)ruid) {
		archive_entry_set_uid(e, 0);
		perm &= ~(mode_t)S_ISUID;
	}
	if (rgid != 0 && archive_entry_gid(e) == (la_int64_t)rgid) {
		archive_entry_set_gid(e, 0);
		perm &= ~(mode_t)S_ISGID;
	}
	archive_entry_set_perm(e, perm);
	/* numeric owners (dpkg maps them), but root by its name as dpkg-deb writes it */
	archive_entry_set_uname(e, archive_entry_uid(e) == 0 ? "root" : NULL);
	archive_entry_set_gname(e, archive_entry_gid(e) == 0 ? "root" : NULL);
}

/* The entries of more, after the tree's: each missing parent directory first (dirs
 * holds the directories written so far). */
static int write_more(struct archive *tar, const struct deb_contents *more, struct name_list *dirs,
		      time_t now, struct error *err)
{
	for (size_t i = 0; more && i < more->n; i++) {
		const struct deb_entry *x = &more->entries[i];
		char path[PATH_MAX + 4];
		for (const char *slash = strchr(x->path, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			snprintf(path, sizeof(path), "%.*s", (int)(slash - x->path), x->path);
			if (name_list_has(dirs, path))
				continue;
			if (name_list_add(dirs, path))
				return -ENOMEM;
			struct deb_entry parent = { path, S_IFDIR | 0755, NULL, 0 };
			struct deb_contents one = { &parent, 1, NULL, 0, 0 };
			int rc = write_more(tar, &one, dirs, now, err);
			if (rc)
				return rc;
		}
		int dir = S_ISDIR(x->mode);
		snprintf(path, sizeof(path), "./%s%s", x->path, dir ? "/" : "");
		if (dir && !name_list_has(dirs, x->path) && name_list_add(dirs, x->path))
			return -ENOMEM;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, path);
		archive_entry_set_filetype(e, x->mode & S_IFMT);
		archive_entry_set_perm(e, x->mode & 07777);
		archive_entry_set_mtime(e, now, 0);
		set_root_owner(e);
		if (S_ISLNK(x->mode)) {
			char target[PATH_MAX];
			snprintf(target, sizeof(target), "%.*s", (int)x->len, x->data);
			archive_entry_set_symlink(e, target);
		}
		if (S_ISREG(x->mode))
			archive_entry_set_size(e, (la_int64_t)x->len);
		int rc = 0;
		if (archive_write_header(tar, e) < ARCHIVE_WARN ||
		    (S_ISREG(x->mode) && x->len && archive_write_data(tar, x->data, x->len) < 0))
			rc = fail_archive(err, tar, path);
		archive_entry_free(e);
		if (rc)
			return rc;
	}
	return 0;
}

/* A tar writer of data.tar.xz onto fd; NULL with err said. */
static struct archive *open_data_tar(int fd, struct error *err)
{
	struct archive *tar = archive_write_new();
	if (!tar) {
		error_addf(err, "data.tar: out of memory");
		return NULL;
	}
	archive_write_set_format_gnutar(tar);
	archive_write_add_filter_xz(tar);
	/* one xz thread per CPU, as dpkg-deb does ("0": as many as there are CPUs) */
	if (archive_write_set_filter_option(tar, "xz", "threads", "0") < ARCHIVE_WARN)
		archive_clear_error(tar); /* an xz without threads still works, slower */
	/* preset 4, not dpkg-deb's 6: measured on 110 MB of /usr, 4 % larger in 70 % of
	 * the time (scripts/bench-deb.sh) */
	if (archive_write_set_filter_option(tar, "xz", "compression-level", "4") < ARCHIVE_WARN)
		archive_clear_error(tar);
	/* no padding after the xz stream: the ar member ends where it does */
	archive_write_set_bytes_in_last_block(tar, 1);
	if (archive_write_open_fd(tar, fd) != ARCHIVE_OK) {
		fail_archive(err, tar, "data.tar");
		archive_write_free(tar);
		return NULL;
	}
	return tar;
}

/* The package tree being written: rootdir read from disk into tar, with more. */
struct data_tar {
	struct archive *disk, *tar;
	const char *rootdir;
	size_t rootlen;
	const struct deb_contents *more;
	struct name_list dirs; /* the directories written, for more's parents */
};

/* Copies the content of the regular file being read into tar. */
static int copy_file_data(struct data_tar *d, const char *path, struct error *err)
{
	char buf[65536];
	la_ssize_t n;
	while ((n = archive_read_data(d->disk, buf, sizeof(buf))) > 0)
		if (archive_write_data(d->tar, buf, (size_t)n) < 0)
			return fail_archive(err, d->tar, path);
	return n < 0 ? fail_archive(err, d->disk, path) : 0;
}

/* Writes e, read from the tree at rel (not replaced by more), as ./rel. */
static int write_tree_entry(struct data_tar *d, struct archive_entry *e, const char *rel,
			    struct error *err)
{
	mode_t type = archive_entry_filetype(e);
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
		error_addf(err, "%s: only files, directories and symlinks can be packaged", rel);
		return -EINVAL;
	}
	char path[PATH_MAX + 4];
	snprintf(path, sizeof(path), "./%s%s", rel, type == AE_IFDIR && *rel ? "/" : "");
	archive_entry_set_pathname(e, path);
	if (d->more && d->more->keep_owners)
		keep_owner(e);
	else
		set_root_owner(e);
	archive_entry_set_nlink(e, 1);
	if (type == AE_IFDIR && name_list_add(&d->dirs, rel))
		return -ENOMEM;
	if (archive_write_header(d->tar, e) < ARCHIVE_WARN)
		return fail_archive(err, d->tar, path);
	return type == AE_IFREG ? copy_file_data(d, path, err) : 0;
}

/* Every entry of the tree, in the order the disk reader gives them. */
static int write_tree(struct data_tar *d, struct error *err)
{
	if (archive_read_disk_open(d->disk, d->rootdir) != ARCHIVE_OK)
		return fail_archive(err, d->disk, d->rootdir);
	int rc = 0;
	while (!rc) {
		struct archive_entry *e = archive_entry_new();
		int r = e ? archive_read_next_header2(d->disk, e) : ARCHIVE_FATAL;
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r < ARCHIVE_WARN)
			rc = e ? fail_archive(err, d->disk, "reading the package tree") : -ENOMEM;
		const char *src = rc ? "" : archive_entry_sourcepath(e);
		const char *rel =
		    src + (strncmp(src, d->rootdir, d->rootlen) == 0 ? d->rootlen : 0);
		while (*rel == '/')
			rel++;
		/* what more replaces is not written, nor what is below it */
		if (!rc && !(*rel && is_replaced(d->more, rel))) {
			archive_read_disk_descend(d->disk);
			rc = write_tree_entry(d, e, rel, err);
		}
		archive_entry_free(e);
	}
	return rc;
}

/* Streams data.tar.xz of rootdir (and more) to fd, at its current offset. */
static int write_data_tar(int fd, const char *rootdir, const struct deb_contents *more, time_t now,
			  struct error *err)
{
	struct data_tar d = { .rootdir = rootdir, .rootlen = strlen(rootdir), .more = more };
	d.disk = archive_read_disk_new();
	if (!d.disk)
		return -ENOMEM;
	archive_read_disk_set_symlink_physical(d.disk);
	d.tar = open_data_tar(fd, err);
	int rc = d.tar ? write_tree(&d, err) : -EIO;
	if (!rc)
		rc = write_more(d.tar, more, &d.dirs, now, err);
	if (!rc && archive_write_close(d.tar) != ARCHIVE_OK)
		rc = fail_archive(err, d.tar, "data.tar");
	name_list_free(&d.dirs);
	archive_read_free(d.disk);
	if (d.tar)
		archive_write_free(d.tar);
	return rc;
}

static void add_description(struct strbuf *sb, const char *desc)
{
	const char *nl = strchr(desc, '\n');
	strbuf_addf(sb, "Description: %.*s\n", nl ? (int)(nl - desc) : (int)strlen(desc), desc);
	while (nl && nl[1]) {
		const char *line = nl + 1;
		nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);
		int blank = 1;
		for (int i = 0; i < len; i++)
			if (!isspace((unsigned char)line[i]))
				blank = 0;
		if (blank)
			strbuf_addf(sb, " .\n");
		else
			strbuf_addf(sb, " %.*s\n", len, line);
	}
}

static int write_control_tar(struct strbuf *out, const struct deb_control *ctl,
			     const struct deb_scripts *scripts, const char *conffiles,
			     unsigned long installed_kb, time_t now, struct error *err)
{
	struct strbuf control = STRBUF_INIT;
	strbuf_addf(&control,
		    "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: %s\n"
		    "Installed-Size: %lu\n",
		    ctl->package, ctl->version, ctl->maintainer, installed_kb);
	if (ctl->depends && *ctl->depends)
		strbuf_addf(&control, "Depends: %s\n", ctl->depends);
	strbuf_addf(&control, "Section: %s\nPriority: %s\n", ctl->section, ctl->priority);
	add_description(&control, ctl->description);
	int rc = control.oom ? -ENOMEM : 0;

	struct archive *a = archive_write_new();
	struct archive_entry *dir = archive_entry_new();
	archive_write_set_format_gnutar(a);
	archive_write_add_filter_gzip(a);
	/* written to memory, so libarchive would pad the gzip stream to 10 KiB with zeros */
	archive_write_set_bytes_in_last_block(a, 1);
	if (!rc && archive_write_open2(a, out, NULL, sb_write_cb, NULL, NULL) != ARCHIVE_OK)
		rc = fail_archive(err, a, "control.tar");
	archive_entry_set_pathname(dir, "./");
	archive_entry_set_filetype(dir, AE_IFDIR);
	archive_entry_set_perm(dir, 0755);
	archive_entry_set_mtime(dir, now, 0);
	set_root_owner(dir);
	if (!rc && archive_write_header(a, dir) < ARCHIVE_WARN)
		rc = fail_archive(err, a, "control.tar");
	if (!rc)
		rc = add_mem_file(a, "./control", control.buf, 0644, now, err);
	if (!rc && *conffiles)
		rc = add_mem_file(a, "./conffiles", conffiles, 0644, now, err);
	const char *names[] = { "./postinst", "./prerm", "./postrm" };
	const char *texts[] = { scripts->postinst, scripts->prerm, scripts->postrm };
	for (int i = 0; i < 3 && !rc; i++)
		if (texts[i])
			rc = add_mem_file(a, names[i], texts[i], 0755, now, err);
	if (!rc && archive_write_close(a) != ARCHIVE_OK)
		rc = fail_archive(err, a, "control.tar");
	archive_entry_free(dir);
	archive_write_free(a);
	strbuf_release(&control);
	return rc;
}

/* The ar container is written by libarchive's ar writer, which needs a member's size
 * before its data. debian-binary and control.tar.gz are written through it; data.tar.xz
 * is streamed into the file behind a header left blank, which the same writer renders
 * once the size is known. */
#define AR_MAGIC_LEN  8
#define AR_HEADER_LEN 60

static int ar_member_header(struct archive *ar, const char *name, la_int64_t size, time_t now,
			    struct error *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, now, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int rc = archive_write_header(ar, e) < ARCHIVE_WARN ? fail_archive(err, ar, name) : 0;
	archive_entry_free(e);
	return rc;
}

/* An ar writer on out (a strbuf) or, when out is NULL, on fd; no block padding. */
static struct archive *ar_open(int fd, struct strbuf *out, struct error *err)
{
	struct archive *ar = archive_write_new();
	if (!ar) {
		error_addf(err, "out of memory");
		return NULL;
	}
	archive_write_set_format_ar_bsd(ar);
	archive_write_add_filter_none(ar);
	archive_write_set_bytes_in_last_block(ar, 1);
	int r = out ? archive_write_open2(ar, out, NULL, sb_write_cb, NULL, NULL)
		    : archive_write_open_fd(ar, fd);
	if (r != ARCHIVE_OK) {
		fail_archive(err, ar, "the package");
		archive_write_free(ar);
		return NULL;
	}
	return ar;
}

/* A member whose content is in memory. */
static int ar_put_member(struct archive *ar, const char *name, const void *data, size_t len,
			 time_t now, struct error *err)
{
	int rc = ar_member_header(ar, name, (la_int64_t)len, now, err);
	if (!rc && archive_write_data(ar, data, len) < 0)
		rc = fail_archive(err, ar, name);
	return rc;
}

/* The header of member name of size bytes, as the ar writer renders it: its output
 * in memory, after the archive's magic. The member's data never follows, so closing
 * that writer reports it missing; the header is written by then. */
static int ar_header_of(char out[AR_HEADER_LEN], const char *name, la_int64_t size, time_t now,
			struct error *err)
{
	struct strbuf mem = STRBUF_INIT;
	struct archive *ar = ar_open(-1, &mem, err);
	int rc = ar ? ar_member_header(ar, name, size, now, err) : -ENOMEM;
	if (ar)
		archive_write_free(ar);
	if (!rc && mem.len != AR_MAGIC_LEN + AR_HEADER_LEN) {
		error_addf(err, "%s: unexpected ar header", name);
		rc = -EIO;
	}
	if (!rc)
		memcpy(out, mem.buf + AR_MAGIC_LEN, AR_HEADER_LEN);
	strbuf_release(&mem);
	return rc;
}

/* data.tar.xz, streamed after a header left blank and written once its size is known,
 * then the pad to an even size. */
static int ar_put_data_member(int fd, const char *rootdir, const struct deb_contents *more,
			      time_t now, struct error *err)
{
	off_t hdr_at = lseek(fd, 0, SEEK_CUR);
	if (hdr_at < 0 || lseek(fd, AR_HEADER_LEN, SEEK_CUR) < 0)
		return -errno;
	int rc = write_data_tar(fd, rootdir, more, now, err);
	if (rc)
		return rc;
	off_t end = lseek(fd, 0, SEEK_CUR);
	if (end < 0)
		return -errno;
	char hdr[AR_HEADER_LEN];
	rc = ar_header_of(hdr, "data.tar.xz", end - hdr_at - AR_HEADER_LEN, now, err);
	if (rc)
		return rc;
	if (pwrite(fd, hdr, AR_HEADER_LEN, hdr_at) != AR_HEADER_LEN)
		return errno ? -errno : -EIO;
	return (end - hdr_at) % 2 ? write_all(fd, "\n", 1) : 0;
}

static int write_package(int fd, const struct strbuf *control_tar, const char *rootdir,
			 const struct deb_contents *more, time_t now, struct error *err)
{
	struct archive *ar = ar_open(fd, NULL, err);
	if (!ar)
		return -EIO;
	int rc = ar_put_member(ar, "debian-binary", "2.0\n", 4, now, err);
	if (!rc)
		rc = ar_put_member(ar, "control.tar.gz", control_tar->buf, control_tar->len, now,
				   err);
	if (!rc && archive_write_close(ar) != ARCHIVE_OK)
		rc = fail_archive(err, ar, "the package");
	archive_write_free(ar);
	size_t before = err->msg.len;
	if (!rc)
		rc = ar_put_data_member(fd, rootdir, more, now, err);
	if (rc && err->msg.len == before)
		error_addf(err, "writing data.tar.xz: %s", strerror(-rc));
	if (!rc && fsync(fd) < 0) {
		rc = -errno;
		error_addf(err, "fsync: %s", strerror(errno));
	}
	return rc;
}

/* The control fields the package may have: 0, or -EINVAL with err saying which not. */
static int control_ok(const struct deb_control *ctl, struct error *err)
{
	if (deb_version_check(ctl->version)) {
		error_addf(err, "version '%s' is not a valid Debian version", ctl->version);
		return -EINVAL;
	}
	/* one-line fields stay one line: a newline would add a control field */
	const char *one_line[] = { ctl->package, ctl->version,	ctl->maintainer,
				   ctl->section, ctl->priority, ctl->depends };
	const char *names[] = {
		"Package", "Version", "Maintainer", "Section", "Priority", "Depends"
	};
	for (size_t i = 0; i < sizeof(one_line) / sizeof(one_line[0]); i++)
		if (deb_has_control_char(one_line[i])) {
			error_addf(err, "the %s field holds a control character", names[i]);
			return -EINVAL;
		}
	return 0;
}

int deb_write_fd(int fd, const char *rootdir, const struct deb_contents *more,
		 const struct deb_control *ctl, const struct deb_scripts *scripts,
		 struct error *err)
{
	int rc = control_ok(ctl, err);
	if (rc)
		return rc;
	struct strbuf conffiles = STRBUF_INIT, control_tar = STRBUF_INIT;
	unsigned long kb = 0;
	time_t now = time(NULL);
	rc = measure_tree(rootdir, more, &conffiles, &kb, err);
	if (!rc)
		rc = write_control_tar(&control_tar, ctl, scripts,
				       conffiles.buf ? conffiles.buf : "", kb, now, err);
	if (!rc)
		rc = write_package(fd, &control_tar, rootdir, more, now, err);
	strbuf_release(&conffiles);
	strbuf_release(&control_tar);
	return rc;
}

int deb_write(const char *out_path, const char *rootdir, const struct deb_control *ctl,
	      const struct deb_scripts *scripts, struct error *err)
{
	char tmp_path[PATH_MAX];
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", out_path);
	int rc = control_ok(ctl, err);
	if (rc)
		return rc;
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		error_addf(err, "%s: %s", tmp_path, strerror(errno));
	}
	if (!rc)
		rc = deb_write_fd(fd, rootdir, NULL, ctl, scripts, err);
	if (fd >= 0 && close(fd) < 0 && !rc) {
		rc = -errno;
		error_addf(err, "close %s: %s", tmp_path, strerror(errno));
	}
	if (!rc && rename(tmp_path, out_path) < 0) {
		rc = -errno;
		error_addf(err, "rename %s: %s", out_path, strerror(errno));
	}
	if (rc)
		unlink(tmp_path);
	return rc;
}
