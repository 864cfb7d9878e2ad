/* deb_format: the parts of the Debian package format that need no archive library (a
 * package's first bytes, control fields, version syntax), so that the daemon, which
 * never links libarchive (reading and writing packages is wazofs-archive's work, see
 * archive_helper.h), has them. Declared in deb_reader.h and deb_writer.h. */
#include "deb_reader.h"
#include "deb_writer.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int deb_looks_like_package(const char *path)
{
	char head[8 + 13];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && memcmp(head, "!<arch>\ndebian-binary", 21) == 0;
}

void deb_info_release(struct deb_info *d)
{
	strbuf_release(&d->control);
	strbuf_release(&d->plugin_yml);
}

int deb_version_check(const char *v)
{
	if (!v)
		return -EINVAL;
	const char *colon = strchr(v, ':'), *up = v;
	if (colon) {
		if (colon == v)
			return -EINVAL;
		for (const char *c = v; c < colon; c++)
			if (*c < '0' || *c > '9')
				return -EINVAL;
		up = colon + 1;
	}
	const char *dash = strrchr(up, '-'), *end = dash ? dash : up + strlen(up);
	if (up == end || *up < '0' || *up > '9' || (dash && !dash[1]))
		return -EINVAL;
	for (const char *c = up; *c; c++) {
		int alnum = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
			    (*c >= 'A' && *c <= 'Z');
		int sep = *c == '.' || *c == '+' || *c == '~';
		/* '-' in the upstream part and as the revision's separator; ':' only in the
		 * upstream part of a version with an epoch */
		int split = (*c == '-' && c <= end) || (*c == ':' && colon && c < end);
		if (!alnum && !sep && !split)
			return -EINVAL;
	}
	return 0;
}

int deb_has_control_char(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int deb_control_field(const char *control, const char *field, char *out, size_t len)
{
	size_t fl = strlen(field);
	for (const char *line = control; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		if (ll > fl && line[fl] == ':' && strncasecmp(line, field, fl) == 0) {
			const char *v = line + fl + 1;
			while (v < line + ll && (*v == ' ' || *v == '\t'))
				v++;
			size_t vl = (size_t)(line + ll - v);
			while (vl && isspace((unsigned char)v[vl - 1]))
				vl--;
			if (vl >= len)
				return -ENAMETOOLONG;
			memcpy(out, v, vl);
			out[vl] = 0;
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}
