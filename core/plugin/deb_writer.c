/* deb_writer: the .deb format (see deb_writer.h), all of it written by libarchive. The
 * tree is read once into its entries in name order (deb_items: Installed-Size,
 * conffiles, md5sums), control.tar.gz is built in memory, then data.tar.xz is streamed
 * into the package file behind it from those entries: no temporary copy of the data. */
#include "deb_writer.h"
#include "base/fsutil.h"
#include "base/name_list.h"
#include "deb_items.h"
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
	/* numeric owners (dpkg maps them), but root by its name as dpkg-deb writes it:
	 * no name of the building host's users or groups */
	archive_entry_set_uname(e, archive_entry_uid(e) == 0 ? "root" : NULL);
	archive_entry_set_gname(e, archive_entry_gid(e) == 0 ? "root" : NULL);
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
	/* one xz thread per CPU, as dpkg-deb does, but never one: liblzma's threaded
	 * encoder gives the same bytes whatever its number of threads (its blocks depend
	 * on the preset alone), its single-threaded one other bytes */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char threads[24];
	snprintf(threads, sizeof(threads), "%ld", cpus > 2 ? cpus : 2);
	if (archive_write_set_filter_option(tar, "xz", "threads", threads) < ARCHIVE_WARN)
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

/* Copies the content of the tree's regular file it into tar (the size lstat gave:
 * a file that changed meanwhile fails the package). */
static int copy_item_data(struct archive *tar, const struct deb_items *items,
			  const struct deb_item *it, struct error *err)
{
	int fd = deb_item_open(items, it);
	if (fd < 0) {
		error_addf(err, "%s: %s", it->path, strerror(-fd));
		return fd;
	}
	char buf[65536];
	off_t left = it->size;
	int rc = 0;
	while (!rc && left > 0) {
		ssize_t n = read(fd, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n <= 0) {
			error_addf(err, "%s: %s", it->path,
				   n < 0 ? strerror(errno) : "it shrank while it was packaged");
			rc = n < 0 ? -errno : -EIO;
		} else if (archive_write_data(tar, buf, (size_t)n) < 0)
			rc = fail_archive(err, tar, it->path);
		else
			left -= n;
	}
	close(fd);
	return rc;
}

/* One entry of data.tar, as ./path (a directory ./path/), dated source_date. */
static int write_item(struct archive *tar, const struct deb_items *items, const struct deb_item *it,
		      int keep_owners, time_t source_date, struct error *err)
{
	char path[PATH_MAX + 4];
	int dir = S_ISDIR(it->mode);
	snprintf(path, sizeof(path), "./%s%s", it->path, dir && *it->path ? "/" : "");
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, it->mode & S_IFMT);
	archive_entry_set_perm(e, it->mode & 07777);
	archive_entry_set_mtime(e, source_date, 0);
	archive_entry_set_uid(e, it->uid);
	archive_entry_set_gid(e, it->gid);
	if (!it->mem && keep_owners)
		keep_owner(e);
	else
		set_root_owner(e);
	const char *target = it->mem ? it->mem->data : it->link;
	char mem_target[PATH_MAX];
	if (S_ISLNK(it->mode) && it->mem) {
		snprintf(mem_target, sizeof(mem_target), "%.*s", (int)it->mem->len, it->mem->data);
		target = mem_target;
	}
	if (S_ISLNK(it->mode))
		archive_entry_set_symlink(e, target);
	if (S_ISREG(it->mode))
		archive_entry_set_size(e, (la_int64_t)it->size);
	int rc = archive_write_header(tar, e) < ARCHIVE_WARN ? fail_archive(err, tar, path) : 0;
	if (!rc && S_ISREG(it->mode) && it->mem && it->size &&
	    archive_write_data(tar, it->mem->data, it->mem->len) < 0)
		rc = fail_archive(err, tar, path);
	else if (!rc && S_ISREG(it->mode) && !it->mem)
		rc = copy_item_data(tar, items, it, err);
	archive_entry_free(e);
	return rc;
}

/* Streams data.tar.xz of the items to fd, at its current offset. */
static int write_data_tar(int fd, const struct deb_items *items, int keep_owners,
			  time_t source_date, struct error *err)
{
	struct archive *tar = open_data_tar(fd, err);
	int rc = tar ? 0 : -EIO;
	for (size_t i = 0; !rc && i < items->n; i++)
		rc = write_item(tar, items, &items->v[i], keep_owners, source_date, err);
	if (!rc && archive_write_close(tar) != ARCHIVE_OK)
		rc = fail_archive(err, tar, "data.tar");
	if (tar)
		archive_write_free(tar);
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

/* What control.tar holds besides control and the scripts. */
struct control_lists {
	const char *conffiles, *md5sums;
	unsigned long installed_kb;
};

static int write_control_tar(struct strbuf *out, const struct deb_control *ctl,
			     const struct deb_scripts *scripts, const struct control_lists *lists,
			     time_t now, struct error *err)
{
	struct strbuf control = STRBUF_INIT;
	strbuf_addf(&control,
		    "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: %s\n"
		    "Installed-Size: %lu\n",
		    ctl->package, ctl->version, ctl->maintainer, lists->installed_kb);
	if (ctl->depends && *ctl->depends)
		strbuf_addf(&control, "Depends: %s\n", ctl->depends);
	strbuf_addf(&control, "Section: %s\nPriority: %s\n", ctl->section, ctl->priority);
	add_description(&control, ctl->description);
	int rc = control.oom ? -ENOMEM : 0;

	struct archive *a = archive_write_new();
	struct archive_entry *dir = archive_entry_new();
	archive_write_set_format_gnutar(a);
	archive_write_add_filter_gzip(a);
	/* no time in the gzip header: the same package gives the same bytes */
	archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
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
	if (!rc && *lists->conffiles)
		rc = add_mem_file(a, "./conffiles", lists->conffiles, 0644, now, err);
	if (!rc && *lists->md5sums) /* for dpkg --verify and debsums */
		rc = add_mem_file(a, "./md5sums", lists->md5sums, 0644, now, err);
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
static int ar_put_data_member(int fd, const struct deb_items *items, int keep_owners, time_t now,
			      struct error *err)
{
	off_t hdr_at = lseek(fd, 0, SEEK_CUR);
	if (hdr_at < 0 || lseek(fd, AR_HEADER_LEN, SEEK_CUR) < 0)
		return -errno;
	int rc = write_data_tar(fd, items, keep_owners, now, err);
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

static int write_package(int fd, const struct strbuf *control_tar, const struct deb_items *items,
			 int keep_owners, time_t now, struct error *err)
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
		rc = ar_put_data_member(fd, items, keep_owners, now, err);
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
	struct strbuf conffiles = STRBUF_INIT, md5sums = STRBUF_INIT, control_tar = STRBUF_INIT;
	struct control_lists lists = { "", "", 0 };
	struct deb_items items;
	/* every time in the package is the source's (SOURCE_DATE_EPOCH's rules) */
	time_t when = ctl->source_date > 0 ? ctl->source_date : time(NULL);
	rc = deb_items_collect(rootdir, more, &items, err);
	if (!rc)
		rc = deb_items_summary(&items, &lists.installed_kb, &conffiles, &md5sums, err);
	if (!rc) {
		lists.conffiles = conffiles.buf ? conffiles.buf : "";
		lists.md5sums = md5sums.buf ? md5sums.buf : "";
		rc = write_control_tar(&control_tar, ctl, scripts, &lists, when, err);
	}
	if (!rc)
		rc = write_package(fd, &control_tar, &items, more && more->keep_owners, when, err);
	deb_items_release(&items);
	strbuf_release(&conffiles);
	strbuf_release(&md5sums);
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
