/* dpkg_db: the dpkg database read in process (see dpkg_db.h). The format is deb822:
 * records separated by blank lines, "Field: value" lines, continuation lines that start
 * with a blank. Only the fields a record of ours needs are kept. */
#include "dpkg_db.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_MAX (256u << 20) /* a status file past this is not dpkg's */

struct word_letter {
	const char *word;
	char letter;
};

static const struct word_letter wants[] = {
	{ "unknown", 'u' },   { "install", 'i' }, { "hold", 'h' },
	{ "deinstall", 'r' }, { "purge", 'p' },	  { NULL, 0 },
};
static const struct word_letter eflags[] = { { "ok", 0 }, { "reinstreq", 'R' }, { NULL, 0 } };
static const struct word_letter states[] = {
	{ "not-installed", 'n' },    { "config-files", 'c' },	 { "half-installed", 'H' },
	{ "unpacked", 'U' },	     { "half-configured", 'F' }, { "triggers-awaited", 'W' },
	{ "triggers-pending", 't' }, { "installed", 'i' },	 { NULL, 0 },
};

/* The letter of the next blank-separated word of *s (advanced past it), or -1. */
static int next_letter(const char **s, const struct word_letter *table)
{
	const char *w = *s + strspn(*s, " \t");
	size_t len = strcspn(w, " \t");
	*s = w + len;
	for (const struct word_letter *t = table; t->word; t++)
		if (strlen(t->word) == len && !strncmp(t->word, w, len))
			return (unsigned char)t->letter;
	return -1;
}

int dpkg_status_abbrev(const char *status_field, char out[4])
{
	const char *s = status_field;
	int want = next_letter(&s, wants), eflag = next_letter(&s, eflags),
	    state = next_letter(&s, states);
	if (want < 0 || eflag < 0 || state < 0 || s[strspn(s, " \t")])
		return -EINVAL;
	out[0] = (char)want;
	out[1] = (char)state;
	out[2] = (char)eflag;
	out[3] = 0;
	return 0;
}

struct records {
	struct dpkg_record *v;
	size_t n, cap;
	/* v's index + 1 of each package and architecture (0: an empty slot), open
	 * addressing over 2 * cap slots: a journal record finds the one it replaces in
	 * O(1), not in a scan of every package of the host */
	size_t *slots;
};

/* The field of rec that a field name fills, or NULL for a field not kept. */
static const char **kept_field(struct dpkg_record *rec, const char *name, size_t len,
			       const char **status)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "Package", offsetof(struct dpkg_record, package) },
		{ "Architecture", offsetof(struct dpkg_record, architecture) },
		{ "Version", offsetof(struct dpkg_record, version) },
		{ "Section", offsetof(struct dpkg_record, section) },
		{ "Depends", offsetof(struct dpkg_record, depends) },
	};
	if (len == 6 && !strncasecmp(name, "Status", 6))
		return status;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == len && !strncasecmp(fields[i].name, name, len))
			return (const char **)((char *)rec + fields[i].offset);
	return NULL;
}

static int same_package(const struct dpkg_record *a, const struct dpkg_record *b)
{
	return !strcmp(a->package, b->package) && !strcmp(a->architecture, b->architecture);
}

/* The slot of rec's package and architecture: the one holding it, or the empty one
 * where it goes. */
static size_t *slot_of(const struct records *rs, const struct dpkg_record *rec)
{
	size_t h = 14695981039346656037ULL; /* FNV-1a over "package\0architecture" */
	for (const char *c = rec->package; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h *= 1099511628211ULL;
	for (const char *c = rec->architecture; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	size_t mask = 2 * rs->cap - 1; /* cap is a power of two */
	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (!rs->slots[i] || same_package(&rs->v[rs->slots[i] - 1], rec))
			return &rs->slots[i];
}

/* Doubles v and its slots (the slots are filled again from v). */
static int grow(struct records *rs)
{
	size_t cap = rs->cap ? rs->cap * 2 : 256;
	struct dpkg_record *v = realloc(rs->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rs->v = v;
	size_t *slots = calloc(2 * cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(rs->slots);
	rs->slots = slots;
	rs->cap = cap;
	for (size_t i = 0; i < rs->n; i++)
		*slot_of(rs, &rs->v[i]) = i + 1;
	return 0;
}

/* Adds rec, replacing an earlier record of the same package and architecture. */
static int put_record(struct records *rs, const struct dpkg_record *rec)
{
	if (rs->n == rs->cap) {
		int rc = grow(rs);
		if (rc)
			return rc;
	}
	size_t *slot = slot_of(rs, rec);
	if (*slot) {
		rs->v[*slot - 1] = *rec;
		return 0;
	}
	rs->v[rs->n++] = *rec;
	*slot = rs->n;
	return 0;
}

/* Parses the records of buf in place (it must outlive rs). A record without a package
 * name or with a Status dpkg would not write is left out, as dpkg-query leaves it. */
static int parse_records(char *buf, struct records *rs)
{
	struct dpkg_record rec = { "", "", "", "", "", "" };
	const char *status = NULL;
	char *last_end = NULL; /* where the last kept field's value was cut */
	char *line = buf;
	for (;;) {
		char *nl = line ? strchr(line, '\n') : NULL;
		int blank = !line || !*line || *line == '\n';
		if (blank) {
			if (*rec.package && status && !dpkg_status_abbrev(status, rec.status)) {
				int rc = put_record(rs, &rec);
				if (rc)
					return rc;
			}
			rec = (struct dpkg_record){ "", "", "", "", "", "" };
			status = NULL;
			last_end = NULL;
			if (!line || !*line || !nl)
				return 0;
			line = nl + 1;
			continue;
		}
		if (*line == ' ' || *line == '\t') { /* continues the field before */
			if (last_end && nl) {	     /* joined to it, its blank the separator */
				size_t len = (size_t)(nl - line);
				memmove(last_end, line, len);
				last_end += len;
				*last_end = 0;
			}
		} else {
			char *colon = strchr(line, ':');
			const char **field =
			    colon && (!nl || colon < nl)
				? kept_field(&rec, line, (size_t)(colon - line), &status)
				: NULL;
			last_end = NULL;
			if (field) {
				char *v = colon + 1;
				v += strspn(v, " \t");
				if (nl) {
					*nl = 0;
					last_end = nl;
				}
				*field = v;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

static int journal_order(const void *a, const void *b)
{
	unsigned long x = strtoul(*(char *const *)a, NULL, 10),
		      y = strtoul(*(char *const *)b, NULL, 10);
	return x < y ? -1 : x > y;
}

/* The names of the journal's records (all digits), in the order dpkg applies them. */
static int journal_names(const char *dir, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	size_t cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!e->d_name[0] || e->d_name[strspn(e->d_name, "0123456789")])
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			char **v = realloc(*out, cap * sizeof(*v));
			if (!v) {
				rc = -ENOMEM;
				break;
			}
			*out = v;
		}
		if (!((*out)[*n] = strdup(e->d_name))) {
			rc = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), journal_order);
	return rc;
}

struct db_read {
	struct strbuf status;
	struct strbuf *journal;
	size_t n_journal;
	struct records rs;
};

static void db_read_release(struct db_read *r)
{
	strbuf_release(&r->status);
	for (size_t i = 0; i < r->n_journal; i++)
		strbuf_release(&r->journal[i]);
	free(r->journal);
	free(r->rs.v);
	free(r->rs.slots);
	memset(r, 0, sizeof(*r));
}

/* One read of the database into r: 0, 1 when the status file changed under it (read
 * again), or -errno. */
static int db_read_once(const char *admindir, struct db_read *r)
{
	char path[PATH_MAX];
	if (path_fmt(path, sizeof(path), "%s/status", admindir))
		return -ENAMETOOLONG;
	struct stat before, after;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	int rc = fstat(fd, &before) < 0 ? -errno : strbuf_read_fd(&r->status, fd, DB_MAX);
	close(fd);
	if (!rc && r->status.oom)
		rc = -ENOMEM;
	if (!rc && r->status.buf)
		rc = parse_records(r->status.buf, &r->rs);
	char **names = NULL;
	size_t n_names = 0;
	char dir[PATH_MAX];
	if (!rc)
		rc = path_fmt(dir, sizeof(dir), "%s/updates", admindir);
	if (!rc)
		rc = journal_names(dir, &names, &n_names);
	if (!rc && n_names && !(r->journal = calloc(n_names, sizeof(*r->journal))))
		rc = -ENOMEM;
	if (r->journal)
		r->n_journal = n_names;
	for (size_t i = 0; i < n_names; i++) {
		if (!rc && r->journal) {
			char file[PATH_MAX];
			int e = path_fmt(file, sizeof(file), "%s/%s", dir, names[i]);
			if (!e)
				e = strbuf_read_file(&r->journal[i], file, DB_MAX);
			/* a record dpkg folded into the status file meanwhile: read again */
			if (e == -ENOENT)
				rc = 1;
			else if (e)
				rc = e;
			else if (r->journal[i].oom)
				rc = -ENOMEM;
			else if (r->journal[i].buf)
				rc = parse_records(r->journal[i].buf, &r->rs);
		}
		free(names[i]);
	}
	free(names);
	if (!rc && (stat(path, &after) < 0 || !file_state_same(&before, &after)))
		rc = 1;
	return rc;
}

int dpkg_db_read(const char *admindir, dpkg_record_fn fn, void *ctx)
{
	struct db_read r = { 0 };
	int rc = 1;
	for (int tries = 0; rc == 1 && tries < 5; tries++) {
		db_read_release(&r);
		rc = db_read_once(admindir, &r);
	}
	if (rc == 1)
		rc = -EAGAIN; /* dpkg rewrote it five times during as many reads */
	for (size_t i = 0; !rc && i < r.rs.n; i++)
		if (r.rs.v[i].status[1] != 'n')
			rc = fn(&r.rs.v[i], ctx);
	db_read_release(&r);
	return rc;
}
