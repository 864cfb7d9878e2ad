/* archive_helper: the daemon's side of wazofs-archive (see archive_helper.h). The
 * request goes in on the helper's stdin (a memory file of records), the answer
 * comes back on its stdout as records, with a "result" record (0 or the call's -errno)
 * and, on failure, an "error" record with the message. */
#include "archive_helper.h"
#include "base/fsutil.h"
#include "base/records.h"
#include "base/subproc.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef WAZOFS_LIBEXECDIR
#define WAZOFS_LIBEXECDIR "/usr/local/lib/wazofs"
#endif
#define HELPER "wazofs-archive"

static char helper_path[PATH_MAX];
static pthread_once_t helper_once = PTHREAD_ONCE_INIT;

static void find_helper(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if (path_fmt(helper_path, sizeof(helper_path), "%s/" HELPER, self) == 0 &&
			    access(helper_path, X_OK) == 0)
				return;
			if (path_fmt(helper_path, sizeof(helper_path), "%s/../" HELPER, self) ==
				0 &&
			    access(helper_path, X_OK) == 0)
				return;
		}
	}
	/* a build-time constant: it fits */
	path_fmt(helper_path, sizeof(helper_path), "%s/" HELPER, WAZOFS_LIBEXECDIR);
}

static atomic_uint helper_timeout;

void archive_helper_set_timeout(unsigned seconds)
{
	atomic_store(&helper_timeout, seconds);
}

void archive_helper_use(const char *path)
{
	pthread_once(&helper_once, find_helper);
	snprintf(helper_path, sizeof(helper_path), "%s", path);
}

const char *archive_helper_path(void)
{
	pthread_once(&helper_once, find_helper);
	return helper_path;
}

/* The request in a memfd, read from its start: the helper's stdin. The fd, or -errno
 * with err saying so. */
static int request_fd(const struct strbuf *in, struct error *err)
{
	int fd = memfd_create("wazofs-archive-request", MFD_CLOEXEC);
	int rc = fd < 0 ? -errno : in->len ? write_all(fd, in->buf, in->len) : 0;
	if (!rc && lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (!rc)
		return fd;
	if (fd >= 0)
		close(fd);
	error_addf(err, "cannot pass the request to " HELPER ": %s", strerror(-rc));
	return rc;
}

/* Runs the helper with args and stdin (the request, the archive, or /dev/null when
 * -1), as who says (NULL: root); its answer goes to out. Returns the call's result (0
 * or -errno); err gets the helper's error record, or what went wrong with the helper
 * itself. */
/* What the helper answered (its records in out) and how it ended (status, as
 * subproc_run's): its result, or -EIO with err saying why there is none. */
static int helper_answer(const struct strbuf *out, int status, const char *prog, struct error *err)
{
	size_t pos = 0;
	struct record rec;
	int have_result = 0;
	int rc = 0;
	while (out->buf && records_next(out->buf, out->len, &pos, &rec) == 1) {
		if (record_is(&rec, "error"))
			error_addf(err, "%.*s", (int)rec.value_len, rec.value);
		else if (record_is(&rec, "result")) {
			have_result = 1;
			rc = -(int)strtol(rec.value, NULL, 10);
		}
	}
	if (status < 0) {
		error_addf(err, "cannot run %s: %s", prog, strerror(-status));
		return status;
	}
	if (out->oom)
		return -ENOMEM;
	if (have_result && (status == 0) == (rc == 0))
		return rc;
	if (status > 128)
		error_addf(err, "%s died of signal %d", HELPER, status - 128);
	else
		error_addf(err, "%s ended with status %d and no answer", HELPER, status);
	return -EIO;
}

static int run_helper(const char *const *args, int in, int pass, const struct helper_user *who,
		      struct strbuf *out, struct error *err)
{
	const char *argv[8] = { archive_helper_path() };
	for (size_t i = 0; args[i] && i + 2 < sizeof(argv) / sizeof(argv[0]); i++)
		argv[i + 1] = args[i];
	struct subproc sp = { .argv = argv,
			      .stdin_fd = in >= 0 ? in : 0,
			      .log_fd = -1,
			      .capture = out,
			      .timeout_sec = atomic_load(&helper_timeout),
			      .pass_fd = pass };
	int prog = -1;
	if (who)
		sp.env = who->env;
	if (who && who->as_user) {
		/* by its fd: the user need not reach the helper's directory */
		prog = open(argv[0], O_PATH | O_CLOEXEC);
		if (prog < 0) {
			int rc = -errno;
			error_addf(err, "cannot run %s: %s", argv[0], strerror(-rc));
			return rc;
		}
		sp.exec_fd = prog;
		sp.as_user = 1;
		sp.uid = who->uid;
		sp.gid = who->gid;
		sp.no_network = 1;
	}
	int status = subproc_run(&sp);
	if (prog >= 0)
		close(prog);
	if (sp.timed_out) {
		error_addf(err, "%s did not finish within %u seconds", HELPER, sp.timeout_sec);
		return -ETIMEDOUT;
	}
	return helper_answer(out, status, argv[0], err);
}

/* The deb-write request's records, each a field of struct deb_request. */
#define REQUEST_FIELD(name, member)                        \
	{                                                  \
		name, offsetof(struct deb_request, member) \
	}
static const struct {
	const char *name;
	size_t offset;
} deb_request_fields[DEB_REQUEST_FIELDS] = {
	REQUEST_FIELD("package", ctl.package),	       REQUEST_FIELD("version", ctl.version),
	REQUEST_FIELD("maintainer", ctl.maintainer),   REQUEST_FIELD("section", ctl.section),
	REQUEST_FIELD("priority", ctl.priority),       REQUEST_FIELD("depends", ctl.depends),
	REQUEST_FIELD("description", ctl.description), REQUEST_FIELD("postinst", scripts.postinst),
	REQUEST_FIELD("prerm", scripts.prerm),	       REQUEST_FIELD("postrm", scripts.postrm),
};

static const char **request_field(struct deb_request *req, size_t i)
{
	return (const char **)((char *)req + deb_request_fields[i].offset);
}

/* One record of more: x_path starts an entry, x_mode and x_data complete it. */
static int take_more(struct deb_contents *more, const struct record *rec)
{
	struct deb_entry *last = more->n ? (struct deb_entry *)&more->entries[more->n - 1] : NULL;
	if (record_is(rec, "x_path")) {
		struct deb_entry *bigger =
		    realloc((void *)more->entries, (more->n + 1) * sizeof(*more->entries));
		if (!bigger)
			return -ENOMEM;
		more->entries = bigger;
		last = &bigger[more->n++];
		memset(last, 0, sizeof(*last));
		last->path = strndup(rec->value, rec->value_len);
		return last->path ? 0 : -ENOMEM;
	}
	if (record_is(rec, "x_mode") && last)
		last->mode = (mode_t)strtoul(rec->value, NULL, 8);
	else if (record_is(rec, "x_data") && last) {
		last->data = rec->value;
		last->len = rec->value_len;
	} else if (record_is(rec, "keep_owners"))
		more->keep_owners = 1;
	else if (record_is(rec, "replaced")) {
		const char **bigger = realloc((void *)more->replaced,
					      (more->n_replaced + 1) * sizeof(*more->replaced));
		if (!bigger)
			return -ENOMEM;
		more->replaced = bigger;
		bigger[more->n_replaced] = strndup(rec->value, rec->value_len);
		return bigger[more->n_replaced++] ? 0 : -ENOMEM;
	}
	return 0;
}

int archive_helper_take_deb_request(const struct strbuf *in, struct deb_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t pos = 0;
	struct record rec;
	int rc = 0;
	while (!rc && in->buf && records_next(in->buf, in->len, &pos, &rec) == 1) {
		for (size_t i = 0; i < DEB_REQUEST_FIELDS; i++)
			if (record_is(&rec, deb_request_fields[i].name) && !req->owned[i]) {
				if (!(req->owned[i] = strndup(rec.value, rec.value_len)))
					return -ENOMEM;
				*request_field(req, i) = req->owned[i];
			}
		if (record_is(&rec, "source_date")) {
			char date[32];
			snprintf(date, sizeof(date), "%.*s", (int)rec.value_len, rec.value);
			req->ctl.source_date = (time_t)strtoll(date, NULL, 10);
		}
		rc = take_more(&req->more, &rec);
	}
	return rc;
}

void archive_helper_deb_request_release(struct deb_request *req)
{
	for (size_t i = 0; i < DEB_REQUEST_FIELDS; i++)
		free(req->owned[i]);
	for (size_t i = 0; i < req->more.n; i++)
		free((void *)req->more.entries[i].path);
	for (size_t i = 0; i < req->more.n_replaced; i++)
		free((void *)req->more.replaced[i]);
	free((void *)req->more.entries);
	free((void *)req->more.replaced);
	memset(req, 0, sizeof(*req));
}

int helper_deb_write(int out_fd, const char *rootdir, const struct deb_contents *more,
		     const struct helper_user *who, const struct deb_control *ctl,
		     const struct deb_scripts *scripts, struct error *err)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	struct deb_request req = { .ctl = *ctl, .scripts = *scripts };
	for (size_t i = 0; i < DEB_REQUEST_FIELDS; i++)
		if (*request_field(&req, i)) /* an absent record is NULL */
			records_put_str(&in, deb_request_fields[i].name, *request_field(&req, i));
	for (size_t i = 0; more && i < more->n; i++) {
		const struct deb_entry *x = &more->entries[i];
		char mode[16];
		snprintf(mode, sizeof(mode), "%o", (unsigned)x->mode);
		records_put_str(&in, "x_path", x->path);
		records_put_str(&in, "x_mode", mode);
		records_put(&in, "x_data", x->data ? x->data : "", x->data ? x->len : 0);
	}
	for (size_t i = 0; more && i < more->n_replaced; i++)
		records_put_str(&in, "replaced", more->replaced[i]);
	if (more && more->keep_owners)
		records_put_str(&in, "keep_owners", "1");
	char date[32];
	snprintf(date, sizeof(date), "%lld", (long long)ctl->source_date);
	records_put_str(&in, "source_date", date);
	const char *args[] = { "deb-write", "-", rootdir, NULL };
	int fd = in.oom ? -ENOMEM : request_fd(&in, err);
	int rc = fd < 0 ? fd : run_helper(args, fd, out_fd, who, &out, err);
	if (fd >= 0)
		close(fd);
	strbuf_release(&in);
	strbuf_release(&out);
	return rc;
}

/* A record's value into a fixed char array (cut to fit). */
#define COPY_FIELD(dst, rec) snprintf(dst, sizeof(dst), "%.*s", (int)(rec).value_len, (rec).value)

int helper_deb_read(const char *path, int flags, struct deb_info *d, struct error *err)
{
	memset(d, 0, sizeof(*d));
	struct strbuf out = STRBUF_INIT;
	const char *args[] = { "deb-read", path, (flags & DEB_READ_DATA) ? "data" : NULL, NULL };
	int rc = run_helper(args, -1, -1, NULL, &out, err);
	size_t pos = 0;
	struct record rec;
	while (out.buf && records_next(out.buf, out.len, &pos, &rec) == 1) {
		if (record_is(&rec, "control"))
			record_copy(&rec, &d->control);
		else if (record_is(&rec, "plugin_yml"))
			record_copy(&rec, &d->plugin_yml);
		else if (record_is(&rec, "n_plugin_yml"))
			d->n_plugin_yml = (int)strtol(rec.value, NULL, 10);
		else if (record_is(&rec, "yml_ns"))
			COPY_FIELD(d->yml_ns, rec);
		else if (record_is(&rec, "yml_name"))
			COPY_FIELD(d->yml_name, rec);
	}
	strbuf_release(&out);
	if (!rc && (d->control.oom || d->plugin_yml.oom))
		rc = -ENOMEM;
	return rc;
}

/* One report entry is five records, report_field first. */
void archive_helper_put_report(struct strbuf *out, const struct error *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct field_error *e = &r->e[i];
		char line[16];
		snprintf(line, sizeof(line), "%u", e->line);
		records_put_str(out, "report_field", e->field);
		records_put_str(out, "report_constraint_id", e->constraint_id);
		records_put_str(out, "report_constraint", e->constraint);
		records_put_str(out, "report_message", e->message);
		records_put_str(out, "report_line", line);
	}
}

static void take_report(const struct strbuf *out, struct error *r)
{
	size_t pos = 0;
	struct record rec;
	struct field_error *e = NULL;
	while (out->buf && records_next(out->buf, out->len, &pos, &rec) == 1) {
		if (record_is(&rec, "report_field")) {
			size_t before = r->n;
			error_field(r, "", "", "", "%s",
				    ""); /* filled by the records that follow */
			e = r->n > before ? &r->e[r->n - 1] : NULL;
			if (e)
				COPY_FIELD(e->field, rec);
		} else if (!e) {
			continue;
		} else if (record_is(&rec, "report_constraint_id")) {
			COPY_FIELD(e->constraint_id, rec);
		} else if (record_is(&rec, "report_constraint")) {
			COPY_FIELD(e->constraint, rec);
		} else if (record_is(&rec, "report_message")) {
			COPY_FIELD(e->message, rec);
		} else if (record_is(&rec, "report_line")) {
			e->line = (unsigned)strtoul(rec.value, NULL, 10);
		}
	}
}

int helper_import_archive(const char *src, const char *dest, unsigned long long max_bytes,
			  unsigned long max_entries, const struct helper_user *who,
			  struct error *err)
{
	/* the archive comes in on stdin, opened here: the user need not reach it */
	int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		error_addf(err, "%s: %s", src, strerror(-rc));
		return rc;
	}
	char bytes[32], entries[32];
	snprintf(bytes, sizeof(bytes), "%llu", max_bytes);
	snprintf(entries, sizeof(entries), "%lu", max_entries);
	const char *args[] = { "import", "-", dest, bytes, entries, NULL };
	struct strbuf out = STRBUF_INIT;
	int rc = run_helper(args, fd, -1, who, &out, err);
	close(fd);
	take_report(&out, err);
	strbuf_release(&out);
	return rc;
}
