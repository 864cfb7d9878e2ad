/* apt_repo: the repository's indexes, built from the kept packages (apt_repo.h). */
#include "apt_repo.h"
#include "archive_helper.h"
#include "base/fsutil.h"
#include "base/subproc.h"
#include "deb_reader.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define POOL	 "pool/main"
#define BIN_DIR	 "dists/" APT_REPO_SUITE "/main/binary-all"
#define MAX_DEBS 100000

/* ---- one package's stanza ---- */

struct digests {
	char md5[2 * MD5_DIGEST_SIZE + 1], sha1[2 * SHA1_DIGEST_SIZE + 1],
	    sha256[2 * SHA256_DIGEST_SIZE + 1];
};

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The three digests of the bytes fed to digest_add, one pass. */
struct hashing {
	struct md5_ctx md5;
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
};

static void digest_start(struct hashing *h)
{
	md5_init(&h->md5);
	sha1_init(&h->sha1);
	sha256_init(&h->sha256);
}

static void digest_add(struct hashing *h, const void *data, size_t len)
{
	md5_update(&h->md5, len, data);
	sha1_update(&h->sha1, len, data);
	sha256_update(&h->sha256, len, data);
}

static void digest_end(struct hashing *h, struct digests *out)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	md5_digest(&h->md5, MD5_DIGEST_SIZE, d);
	hex(d, MD5_DIGEST_SIZE, out->md5);
	sha1_digest(&h->sha1, SHA1_DIGEST_SIZE, d);
	hex(d, SHA1_DIGEST_SIZE, out->sha1);
	sha256_digest(&h->sha256, SHA256_DIGEST_SIZE, d);
	hex(d, SHA256_DIGEST_SIZE, out->sha256);
}

static void digest_buf(const void *data, size_t len, struct digests *out)
{
	struct hashing h;
	digest_start(&h);
	digest_add(&h, data, len);
	digest_end(&h, out);
}

static int digest_file(int fd, struct digests *out)
{
	struct hashing h;
	uint8_t buf[65536];
	ssize_t n;
	digest_start(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		digest_add(&h, buf, (size_t)n);
	if (n < 0)
		return -errno;
	digest_end(&h, out);
	return 0;
}

/* A field of a control paragraph: its name and its whole text (continuations included). */
struct field {
	const char *name, *text;
	size_t name_len, len;
	int used;
};

static size_t split_fields(const char *control, struct field *f, size_t max)
{
	size_t n = 0;
	for (const char *line = control; *line && n < max;) {
		const char *colon = strchr(line, ':'), *eol = strchr(line, '\n');
		if (*line == ' ' || *line == '\t' || !colon || (eol && colon > eol)) {
			line = eol ? eol + 1 : line + strlen(line); /* stray line: dropped */
			continue;
		}
		f[n] = (struct field){ line, line, (size_t)(colon - line), 0, 0 };
		const char *end = eol ? eol + 1 : line + strlen(line);
		while (*end == ' ' || *end == '\t') { /* continuation lines */
			const char *e = strchr(end, '\n');
			end = e ? e + 1 : end + strlen(end);
		}
		f[n].len = (size_t)(end - line);
		line = end;
		n++;
	}
	return n;
}

/* dpkg's order of the fields of a Packages paragraph (Dpkg::Control::FieldsCore). */
static const char *const field_order[] = {
	"Package",
	"Package-Type",
	"Source",
	"Version",
	"Kernel-Version",
	"Built-For-Profiles",
	"Auto-Built-Package",
	"Architecture",
	"Subarchitecture",
	"Installer-Menu-Item",
	"Build-Essential",
	"Essential",
	"Protected",
	"Origin",
	"Bugs",
	"Maintainer",
	"Installed-Size",
	"Pre-Depends",
	"Depends",
	"Recommends",
	"Suggests",
	"Enhances",
	"Conflicts",
	"Breaks",
	"Replaces",
	"Provides",
	"Built-Using",
	"Static-Built-Using",
	"Filename", /* here: Filename, Size, MD5sum, SHA1, SHA256 */
	"Section",
	"Priority",
	"Multi-Arch",
	"Homepage",
	"Description",
	"Tag",
	"Task",
	NULL
};
static const char *const index_fields[] = { "Filename", "Size", "MD5sum", "SHA1", "SHA256", NULL };

static int is_field(const struct field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

static void add_field_text(struct strbuf *sb, const struct field *f)
{
	strbuf_add(sb, f->text, f->len);
	if (f->len && f->text[f->len - 1] != '\n')
		strbuf_add(sb, "\n", 1);
}

static char *make_stanza(const char *control, const char *file, off_t size,
			 const struct digests *dg)
{
	struct field f[128];
	size_t n = split_fields(control, f, 128);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		for (const char *const *x = index_fields; *x; x++)
			if (is_field(&f[i], *x))
				f[i].used = 1; /* the index's own values replace these */
	for (const char *const *o = field_order; *o; o++) {
		if (strcmp(*o, "Filename") == 0) {
			strbuf_addf(&sb, "Filename: " POOL "/%s\nSize: %lld\n", file,
				    (long long)size);
			strbuf_addf(&sb, "MD5sum: %s\nSHA1: %s\nSHA256: %s\n", dg->md5, dg->sha1,
				    dg->sha256);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (!f[i].used && is_field(&f[i], *o)) {
				add_field_text(&sb, &f[i]);
				f[i].used = 1;
			}
	}
	for (size_t i = 0; i < n; i++)
		if (!f[i].used)
			add_field_text(&sb, &f[i]);
	strbuf_add(&sb, "\n", 1);
	if (sb.oom) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

static void package_free(struct repo_package *p)
{
	free(p->file);
	free(p->package);
	free(p->version);
	free(p->stanza);
}

static const struct repo_package *find_same(const struct apt_repo *prev, const char *file,
					    const struct stat *st)
{
	for (size_t i = 0; prev && i < prev->n; i++) {
		const struct repo_package *p = &prev->pkgs[i];
		if (strcmp(p->file, file) == 0)
			return p->ino == st->st_ino && p->size == st->st_size &&
				       p->mtime.tv_sec == st->st_mtim.tv_sec &&
				       p->mtime.tv_nsec == st->st_mtim.tv_nsec
				   ? p
				   : NULL;
	}
	return NULL;
}

/* Reads dir/file into p (its stanza hashed from the file). */
static int read_package(const char *dir, const char *file, const struct stat *st,
			struct repo_package *p, struct strbuf *warnings)
{
	char path[PATH_MAX], field[512];
	if (path_fmt(path, sizeof(path), "%s/%s", dir, file))
		return -ENAMETOOLONG; /* left out of the index, as an unreadable file is */
	struct deb_info d;
	struct error err = ERROR_INIT;
	struct digests dg;
	int rc = helper_deb_read(path, 0, &d, &err);
	int fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (!rc && fd < 0) {
		rc = -errno;
		error_addf(&err, "%s", strerror(-rc));
	}
	if (!rc) {
		rc = digest_file(fd, &dg);
		if (rc)
			error_addf(&err, "%s", strerror(-rc));
	}
	if (fd >= 0)
		close(fd);
	if (!rc) {
		p->file = strdup(file);
		p->package = strdup(
		    deb_control_field(d.control.buf, "Package", field, sizeof(field)) == 0 ? field
											   : "");
		p->version = strdup(
		    deb_control_field(d.control.buf, "Version", field, sizeof(field)) == 0 ? field
											   : "");
		p->stanza = make_stanza(d.control.buf, file, st->st_size, &dg);
		if (!p->file || !p->package || !p->version || !p->stanza)
			rc = -ENOMEM;
	}
	if (rc)
		strbuf_addf(warnings, "%s: left out of repo/: %s\n", path,
			    err.msg.buf ? err.msg.buf : strerror(-rc));
	deb_info_release(&d);
	error_release(&err);
	return rc;
}

static int copy_package(const struct repo_package *from, struct repo_package *p)
{
	p->file = strdup(from->file);
	p->package = strdup(from->package);
	p->version = strdup(from->version);
	p->stanza = strdup(from->stanza);
	return p->file && p->package && p->version && p->stanza ? 0 : -ENOMEM;
}

static int by_file(const void *a, const void *b)
{
	return strcmp(((const struct repo_package *)a)->file,
		      ((const struct repo_package *)b)->file);
}

/* ---- the indexes ---- */

static int gzip_buf(const struct strbuf *in, struct strbuf *out)
{
	z_stream z = { 0 };
	/* 15 + 16: a gzip stream (no name, no time: the same bytes for the same index) */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	uLong bound = deflateBound(&z, in->len);
	char *buf = malloc(bound);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(in->buf ? in->buf : "");
	z.avail_in = (uInt)in->len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)bound;
	int r = deflate(&z, Z_FINISH);
	if (r == Z_STREAM_END)
		strbuf_add(out, buf, z.total_out);
	deflateEnd(&z);
	free(buf);
	return r == Z_STREAM_END && !out->oom ? 0 : -ENOMEM;
}

static void release_text(struct apt_repo *r, time_t now)
{
	char date[64];
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S UTC", &tm);
	struct strbuf *sb = &r->release;
	strbuf_addf(sb,
		    "Origin: wazofs\nLabel: wazofs\nSuite: " APT_REPO_SUITE
		    "\nCodename: " APT_REPO_SUITE "\nDate: %s\nArchitectures: all\n"
		    "Components: main\nDescription: Wazo plugins packaged by wazofs\n",
		    date);
	const struct {
		const char *name;
		const struct strbuf *data;
	} files[] = { { "main/binary-all/Packages", &r->packages },
		      { "main/binary-all/Packages.gz", &r->packages_gz } };
	struct digests dg[2];
	for (int i = 0; i < 2; i++)
		digest_buf(files[i].data->buf ? files[i].data->buf : "", files[i].data->len,
			   &dg[i]);
	strbuf_addf(sb, "MD5Sum:\n");
	for (int i = 0; i < 2; i++)
		strbuf_addf(sb, " %s %16zu %s\n", dg[i].md5, files[i].data->len, files[i].name);
	strbuf_addf(sb, "SHA256:\n");
	for (int i = 0; i < 2; i++)
		strbuf_addf(sb, " %s %16zu %s\n", dg[i].sha256, files[i].data->len, files[i].name);
}

/* Adds the package file name (stat st) of dir to out: read, or copied from prev when
 * it did not change. 0 (also when it is left out: not a package), or -ENOMEM. */
static int add_package(struct apt_repo *out, size_t *alloc, const struct apt_repo *prev,
		       const char *dir, const char *name, const struct stat *st,
		       struct strbuf *warnings)
{
	if (out->n == *alloc) {
		struct repo_package *bigger =
		    realloc(out->pkgs, (*alloc = *alloc * 2 + 16) * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		out->pkgs = bigger;
	}
	struct repo_package *p = &out->pkgs[out->n];
	memset(p, 0, sizeof(*p));
	const struct repo_package *same = find_same(prev, name, st);
	int prc = same ? copy_package(same, p) : read_package(dir, name, st, p, warnings);
	if (prc) {
		package_free(p);
		return prc == -ENOMEM ? prc : 0;
	}
	p->size = st->st_size;
	p->mtime = st->st_mtim;
	p->ino = st->st_ino;
	out->n++;
	return 0;
}

/* Every package file of dir (a regular file named *.deb, not hidden) into out. */
static int read_packages(const char *dir, const struct apt_repo *prev, struct apt_repo *out,
			 struct strbuf *warnings)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	size_t alloc = 0;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d)) && out->n < MAX_DEBS) {
		size_t len = strlen(de->d_name);
		struct stat st;
		if (len < 5 || strcmp(de->d_name + len - 4, ".deb") || de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		rc = add_package(out, &alloc, prev, dir, de->d_name, &st, warnings);
	}
	closedir(d);
	return rc;
}

int apt_repo_build(const char *dir, const struct apt_repo *prev, time_t now, struct apt_repo *out,
		   struct strbuf *warnings)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->dir, sizeof(out->dir), "%s", dir);
	out->built.tv_sec = now;
	int rc = read_packages(dir, prev, out, warnings);
	if (rc) {
		apt_repo_free(out);
		return rc;
	}
	if (out->n)
		qsort(out->pkgs, out->n, sizeof(*out->pkgs), by_file);
	for (size_t i = 0; i < out->n; i++)
		strbuf_addf(&out->packages, "%s", out->pkgs[i].stanza);
	rc = gzip_buf(&out->packages, &out->packages_gz);
	if (!rc)
		release_text(out, now);
	if (!rc && (out->packages.oom || out->release.oom))
		rc = -ENOMEM;
	if (rc)
		apt_repo_free(out);
	return rc;
}

int apt_repo_same_files(const struct apt_repo *a, const struct apt_repo *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct repo_package *x = &a->pkgs[i], *y = &b->pkgs[i];
		if (strcmp(x->file, y->file) || x->ino != y->ino || x->size != y->size ||
		    x->mtime.tv_sec != y->mtime.tv_sec || x->mtime.tv_nsec != y->mtime.tv_nsec)
			return 0;
	}
	return 1;
}

void apt_repo_free(struct apt_repo *r)
{
	for (size_t i = 0; i < r->n; i++)
		package_free(&r->pkgs[i]);
	free(r->pkgs);
	strbuf_release(&r->packages);
	strbuf_release(&r->packages_gz);
	strbuf_release(&r->release);
	strbuf_release(&r->inrelease);
	strbuf_release(&r->key);
	memset(r, 0, sizeof(*r));
}

/* ---- signing ---- */

/* gpg's home: $GNUPGHOME, else ~/.gnupg of the daemon's user. */
static void gnupg_home(char *out, size_t len)
{
	const char *env = getenv("GNUPGHOME");
	if (env && *env) {
		snprintf(out, len, "GNUPGHOME=%s", env);
		return;
	}
	const char *home = getenv("HOME");
	struct passwd *pw = (!home || !*home) ? getpwuid(getuid()) : NULL;
	snprintf(out, len, "GNUPGHOME=%s/.gnupg", home && *home ? home : pw ? pw->pw_dir : "/root");
}

static int run_gpg(const char *const *argv, const char *input, size_t input_len, unsigned timeout,
		   struct strbuf *out, struct error *err)
{
	char home[4200];
	gnupg_home(home, sizeof(home));
	const char *env[] = { subproc_default_path(), home, NULL };
	int in = -1, errfd = memfd_create("gpg-stderr", MFD_CLOEXEC);
	if (input) {
		/* gpg reads the text to sign from a file: a memfd, named through /proc */
		in = memfd_create("release", MFD_CLOEXEC);
		if (in < 0 || write(in, input, input_len) != (ssize_t)input_len) {
			if (in >= 0)
				close(in);
			if (errfd >= 0)
				close(errfd);
			error_addf(err, "cannot stage the text to sign: %s", strerror(errno));
			return -EIO;
		}
	}
	char in_path[64];
	snprintf(in_path, sizeof(in_path), "/proc/%d/fd/%d", (int)getpid(), in);
	const char *args[16];
	int n = 0;
	for (; n < 14 && argv[n]; n++)
		args[n] = argv[n];
	if (input)
		args[n++] = in_path;
	args[n] = NULL;
	struct subproc sp = { .argv = args,
			      .env = env,
			      .log_fd = errfd,
			      .capture = out,
			      .timeout_sec = timeout ? timeout : 60 };
	int rc = subproc_run(&sp);
	if (rc) {
		struct strbuf why = STRBUF_INIT;
		if (errfd >= 0 && lseek(errfd, 0, SEEK_SET) == 0)
			strbuf_read_fd(&why, errfd, 4096);
		while (why.len && (why.buf[why.len - 1] == '\n'))
			why.buf[--why.len] = 0;
		if (rc < 0)
			error_addf(err, "cannot run gpg: %s", strerror(-rc));
		else
			error_addf(err, "gpg exited with status %d: %s", rc,
				   why.len ? why.buf : "(no message)");
		strbuf_release(&why);
	}
	if (in >= 0)
		close(in);
	if (errfd >= 0)
		close(errfd);
	return rc ? -EIO : 0;
}

int apt_repo_sign(struct apt_repo *r, const char *key, unsigned timeout_sec, struct error *err)
{
	const char *sign[] = { "gpg",
			       "--batch",
			       "--no-tty",
			       "--yes",
			       "--local-user",
			       key,
			       "--digest-algo",
			       "SHA256",
			       "--clearsign",
			       "--output",
			       "-",
			       NULL };
	const char *export[] = { "gpg", "--batch", "--no-tty", "--export", key, NULL };
	strbuf_release(&r->inrelease);
	strbuf_release(&r->key);
	int rc = run_gpg(sign, r->release.buf ? r->release.buf : "", r->release.len, timeout_sec,
			 &r->inrelease, err);
	if (!rc)
		rc = run_gpg(export, NULL, 0, timeout_sec, &r->key, err);
	if (!rc && !r->key.len) {
		error_addf(err, "gpg exports no public key for '%s'", key);
		rc = -ENOENT;
	}
	if (rc) {
		strbuf_release(&r->inrelease);
		strbuf_release(&r->key);
	}
	return rc;
}

/* ---- the tree below repo/ ---- */

static const struct {
	const char *dir, *children; /* children: NUL-separated, ending with an empty one */
} dirs[] = {
	{ "", "dists\0pool\0" },
	{ "pool", "main\0" },
	{ "dists", APT_REPO_SUITE "\0" },
	{ "dists/" APT_REPO_SUITE, "Release\0main\0" },
	{ "dists/" APT_REPO_SUITE "/main", "binary-all\0" },
	{ BIN_DIR, "Packages\0Packages.gz\0" },
};

const struct repo_package *apt_repo_find(const struct apt_repo *r, const char *file)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) { /* pkgs are sorted by file name (by_file) */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(file, r->pkgs[mid].file);
		if (!c)
			return &r->pkgs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

enum repo_node apt_repo_lookup(const struct apt_repo *r, const char *rel,
			       const struct strbuf **text, const char **file)
{
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strcmp(rel, dirs[i].dir) == 0)
			return REPO_DIR;
	if (strcmp(rel, POOL) == 0)
		return REPO_DIR;
	const struct {
		const char *path;
		const struct strbuf *text;
		int only_signed;
	} texts[] = { { BIN_DIR "/Packages", &r->packages, 0 },
		      { BIN_DIR "/Packages.gz", &r->packages_gz, 0 },
		      { "dists/" APT_REPO_SUITE "/Release", &r->release, 0 },
		      { "dists/" APT_REPO_SUITE "/InRelease", &r->inrelease, 1 },
		      { "key.gpg", &r->key, 1 } };
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(rel, texts[i].path) == 0) {
			if (texts[i].only_signed && !texts[i].text->len)
				return REPO_NONE;
			*text = texts[i].text;
			return REPO_TEXT;
		}
	size_t pl = strlen(POOL "/");
	const struct repo_package *pkg =
	    strncmp(rel, POOL "/", pl) ? NULL : apt_repo_find(r, rel + pl);
	if (pkg) {
		*file = pkg->file;
		return REPO_FILE;
	}
	return REPO_NONE;
}

int apt_repo_list(const struct apt_repo *r, const char *rel, struct name_list *out)
{
	if (strcmp(rel, POOL) == 0) {
		for (size_t i = 0; i < r->n; i++)
			name_list_add(out, r->pkgs[i].file);
		return 0;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (strcmp(rel, dirs[i].dir))
			continue;
		for (const char *c = dirs[i].children; *c; c += strlen(c) + 1)
			name_list_add(out, c);
		if (r->inrelease.len && strcmp(rel, "dists/" APT_REPO_SUITE) == 0)
			name_list_add(out, "InRelease");
		if (r->key.len && !*rel)
			name_list_add(out, "key.gpg");
		return 0;
	}
	const struct strbuf *t;
	const char *f;
	return apt_repo_lookup(r, rel, &t, &f) == REPO_NONE ? -ENOENT : -ENOTDIR;
}
