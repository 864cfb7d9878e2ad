/* deb_reader: a .deb is an ar archive (debian-binary, control.tar.*, data.tar.*); each
 * tar member is read as a nested libarchive stream fed from the outer one. */
#include "deb_reader.h"
#include "plugin_meta.h"
#include "plugin_package.h"
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The nested reader's source: the data of the outer archive's current member. */
struct member {
	struct archive *outer;
	char buf[64 * 1024];
};

static la_ssize_t member_read(struct archive *a, void *ctx, const void **out)
{
	struct member *m = ctx;
	la_ssize_t n = archive_read_data(m->outer, m->buf, sizeof(m->buf));
	*out = m->buf;
	if (n < 0) {
		archive_set_error(a, EINVAL, "%s", archive_error_string(m->outer));
		return ARCHIVE_FATAL;
	}
	return n;
}

/* Reads the current entry of a (at most max bytes) into sb. */
static int read_entry(struct archive *a, size_t max, struct strbuf *sb)
{
	char buf[16384];
	la_ssize_t n;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (sb->len + (size_t)n > max)
			return -EFBIG;
		strbuf_add(sb, buf, (size_t)n);
	}
	if (n < 0)
		return -EINVAL;
	return sb->oom ? -ENOMEM : 0;
}

static const char *strip_dot(const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return path;
}

/* 1 when path is PLUGINS_DIR/<ns>/<name>/wazo/plugin.yml; fills ns and name. */
static int metadata_path(const char *path, struct deb_info *d)
{
	path = strip_dot(path);
	size_t pre = strlen(PLUGINS_DIR "/");
	if (strncmp(path, PLUGINS_DIR "/", pre))
		return 0;
	const char *ns = path + pre, *slash = strchr(ns, '/');
	if (!slash)
		return 0;
	const char *name = slash + 1, *end = strchr(name, '/');
	if (!end || strcmp(end, "/wazo/plugin.yml") || slash == ns || end == name)
		return 0;
	if (d->n_plugin_yml == 0) {
		snprintf(d->yml_ns, sizeof(d->yml_ns), "%.*s", (int)(slash - ns), ns);
		snprintf(d->yml_name, sizeof(d->yml_name), "%.*s", (int)(end - name), name);
	}
	return 1;
}

/* Reads one tar member (control or data) through a nested reader. */
static int read_member(struct archive *outer, const char *member_name, int is_control,
		       struct deb_info *d, struct error *err)
{
	struct member *mine = calloc(1, sizeof(*mine)); /* 64 KiB: not on the stack */
	struct archive *in = mine ? archive_read_new() : NULL;
	if (!in) {
		free(mine);
		error_addf(err, "out of memory");
		return -ENOMEM;
	}
	mine->outer = outer;
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	int rc = 0, found_control = 0;
	if (archive_read_open(in, mine, NULL, member_read, NULL) != ARCHIVE_OK)
		rc = -EINVAL;
	struct archive_entry *e;
	while (!rc) {
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = -EINVAL;
			break;
		}
		const char *path = archive_entry_pathname(e);
		if (!path || archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (is_control && strcmp(strip_dot(path), "control") == 0) {
			found_control = 1;
			rc = read_entry(in, DEB_CONTROL_MAX, &d->control);
		} else if (!is_control && metadata_path(path, d) && d->n_plugin_yml++ == 0) {
			rc = read_entry(in, PLUGIN_YML_MAX, &d->plugin_yml);
		}
		if (rc == -EFBIG) {
			error_addf(err, "%s: %s is too large", member_name, strip_dot(path));
			break;
		}
	}
	if (rc == -EINVAL)
		error_addf(err, "%s is not a valid tar archive: %s", member_name,
			   archive_error_string(in) ? archive_error_string(in) : "read error");
	else if (rc == -ENOMEM)
		error_addf(err, "out of memory");
	else if (!rc && is_control && !found_control) {
		error_addf(err, "%s has no control file", member_name);
		rc = -EINVAL;
	}
	archive_read_free(in);
	free(mine);
	return rc;
}

static int member_is(const char *name, const char *stem)
{
	size_t n = strlen(stem);
	return strncmp(name, stem, n) == 0 && (name[n] == 0 || name[n] == '.');
}

int deb_read(const char *path, int flags, struct deb_info *out, struct error *err)
{
	memset(out, 0, sizeof(*out));
	struct archive *a = archive_read_new();
	if (!a) {
		error_addf(err, "out of memory");
		return -ENOMEM;
	}
	archive_read_support_format_ar(a);
	int rc = 0, n = 0, seen_control = 0, seen_data = 0;
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		error_addf(err, "not a Debian package: %s", archive_error_string(a));
		rc = -EINVAL;
	}
	struct archive_entry *e;
	while (!rc) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			error_addf(err, "not a valid Debian package (after %d members): %s", n,
				   archive_error_string(a));
			rc = -EINVAL;
			break;
		}
		const char *name = archive_entry_pathname(e);
		name = name ? name : "";
		if (n++ == 0) {
			struct strbuf v = STRBUF_INIT;
			rc = strcmp(name, "debian-binary") ? -EINVAL : read_entry(a, 64, &v);
			if (rc || v.len < 2 || memcmp(v.buf, "2.", 2)) {
				error_addf(err, "not a Debian package: debian-binary %s",
					   rc ? "is missing" : "is not format 2.x");
				rc = -EINVAL;
			}
			strbuf_release(&v);
		} else if (member_is(name, "control.tar") && !seen_control) {
			seen_control = 1;
			rc = read_member(a, name, 1, out, err);
		} else if (member_is(name, "data.tar") && seen_control && !seen_data) {
			seen_data = 1;
			if (flags & DEB_READ_DATA)
				rc = read_member(a, name, 0, out, err);
			else
				break;
		}
	}
	if (!rc && (!seen_control || ((flags & DEB_READ_DATA) && !seen_data))) {
		error_addf(err, "not a valid Debian package: no %s member",
			   seen_control ? "data.tar" : "control.tar");
		rc = -EINVAL;
	}
	archive_read_free(a);
	return rc;
}
