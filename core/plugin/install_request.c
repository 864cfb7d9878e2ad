/* install_request: parsing of install bodies (see install_request.h). */
#include "install_request.h"
#include "deb_writer.h"
#include "plugin_meta.h"
#include "yaml/yaml11.h"
#include "yaml/yaml_doc.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

int install_request_name(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	       (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int copy_opt(yaml_document_t *d, yaml_node_t *opts, const char *key, char *dst, size_t len,
		    int required, struct error *err)
{
	const char *v = ydoc_get_scalar(d, opts, key);
	if (!v || !*v) {
		if (required)
			error_addf(err, "options.%s is required", key);
		return required ? -EINVAL : 0;
	}
	if (strlen(v) >= len) {
		error_addf(err, "options.%s is too long", key);
		return -EINVAL;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

/* methods apt and market: the names become a package name and version on apt-get's
 * command line, a job's directory in the mount and a market lookup */
static int check_names(const struct install_request *r, struct error *err)
{
	if (!plugin_token_valid(r->ns, strlen(r->ns), 0))
		error_addf(err, "options.namespace '%s' does not match ^[a-z0-9]+$", r->ns);
	else if (!plugin_token_valid(r->name, strlen(r->name), 1))
		error_addf(err, "options.name '%s' does not match ^[a-z0-9-]+$", r->name);
	else if (r->version[0] && deb_version_check(r->version))
		error_addf(err, "options.version '%s' is not a Debian version", r->version);
	else
		return 0;
	return -EINVAL;
}

/* A YAML 1.1 boolean that is true (NULL: not given). */
static int is_true(const char *v)
{
	char b[8];
	return v && y11_resolve_plain(v) == Y11_BOOL &&
	       y11_python_str(v, Y11_BOOL, b, sizeof(b)) == 0 && strcmp(b, "True") == 0;
}

int install_request_parse(const char *text, size_t len, struct install_request *r,
			  struct error *err)
{
	memset(r, 0, sizeof(*r));
	yaml_document_t doc;
	int rc = ydoc_load(text, len, &doc, NULL, err);
	if (rc)
		return rc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *opts = ydoc_get(&doc, root, "options");
	const char *method = ydoc_get_scalar(&doc, root, "method");
	const char *reinstall = ydoc_get_scalar(&doc, root, "reinstall");
	if (!method || (strcmp(method, "git") && strcmp(method, "market") &&
			strcmp(method, "apt") && strcmp(method, "rebuild"))) {
		error_addf(err, "method must be git, market, apt or rebuild");
		rc = -EINVAL;
	} else if (!opts || opts->type != YAML_MAPPING_NODE) {
		error_addf(err, "options must be a mapping");
		rc = -EINVAL;
	} else {
		snprintf(r->method, sizeof(r->method), "%s", method);
		if (strcmp(method, "rebuild") == 0 && is_true(ydoc_get_scalar(&doc, opts, "all"))) {
			r->all = 1;
		} else if (strcmp(method, "git") == 0) {
			rc = copy_opt(&doc, opts, "url", r->url, sizeof(r->url), 1, err);
			if (!rc)
				rc = copy_opt(&doc, opts, "ref", r->ref, sizeof(r->ref), 0, err);
			if (!rc)
				rc = copy_opt(&doc, opts, "subdirectory", r->subdirectory,
					      sizeof(r->subdirectory), 0, err);
		} else {
			rc = copy_opt(&doc, opts, "namespace", r->ns, sizeof(r->ns), 1, err);
			if (!rc)
				rc = copy_opt(&doc, opts, "name", r->name, sizeof(r->name), 1, err);
			if (!rc)
				rc = copy_opt(&doc, opts, "version", r->version, sizeof(r->version),
					      0, err);
		}
	}
	if (!rc && strcmp(r->method, "git") && !r->all)
		rc = check_names(r, err);
	r->reinstall = is_true(reinstall);
	yaml_document_delete(&doc);
	return rc;
}

void url_redact(const char *text, size_t len, struct strbuf *out)
{
	const char *end = text + len;
	for (const char *c = text; c < end;) {
		const char *sep = memmem(c, (size_t)(end - c), "://", 3);
		if (!sep) {
			strbuf_add(out, c, (size_t)(end - c));
			return;
		}
		const char *host = sep + 3, *auth_end = host, *at = NULL;
		while (auth_end < end && !strchr("/?#'\" \t\r\n", *auth_end)) {
			if (*auth_end == '@')
				at = auth_end;
			auth_end++;
		}
		strbuf_add(out, c, (size_t)(host - c));
		if (at) {
			strbuf_addf(out, "***");
			host = at;
		}
		c = host;
	}
}
