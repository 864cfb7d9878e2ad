/* plugin_meta: wazo/plugin.yml into a plain struct, validated with wazo-plugind's rules
 * (YAML 1.1 typing, Python coercions, LooseVersion comparison of Wazo versions). */
#ifndef WAZOFS_PLUGIN_META_H
#define WAZOFS_PLUGIN_META_H
#include "base/error.h"
#include "base/strbuf.h"
#include <stddef.h>

#define PLUGIN_YML_MAX (1024 * 1024)
/* The longest name, namespace and version a plugin may have (the status fields hold
 * them; the package file name made of them must stay within 255 bytes as well). */
#define PLUGIN_NAME_MAX	     127
#define PLUGIN_NAMESPACE_MAX 63
#define PLUGIN_VERSION_MAX   127
/* depends and debian_depends: entries each, and the length of a debian_depends entry */
#define PLUGIN_DEPENDS_MAX    256
#define PLUGIN_DEPEND_LEN_MAX 1024
#define PLUGIN_STR_(x)	      #x
#define PLUGIN_STR(x)	      PLUGIN_STR_(x)

struct plugin_dep {
	char *name, *namespace, *version; /* version may be NULL */
};

struct plugin_meta {
	char *name, *namespace, *version;
	int format_version;
	char *min_wazo_version, *max_wazo_version; /* NULL when absent */
	struct plugin_dep *depends;
	size_t n_depends;
	char **debian_depends;
	size_t n_debian_depends;
	char *description, *display_name; /* NULL when absent */
};

/* Parses and validates text (len bytes) against the running Wazo version (NULL: no
 * min/max check). Returns 0 when valid (m filled; free with plugin_meta_destroy),
 * -EINVAL when not (r's fields filled, m left empty), -ENOMEM. m is always set up, and
 * r's fields are reset first. */
int plugin_meta_parse(const char *text, size_t len, const char *wazo_version, struct plugin_meta *m,
		      struct error *r);
/* The same from a file; a file over PLUGIN_YML_MAX or unreadable is a _yaml error. */
int plugin_meta_load(const char *path, const char *wazo_version, struct plugin_meta *m,
		     struct error *r);
void plugin_meta_destroy(struct plugin_meta *m);
/* wazofs's own limits on top of wazo-plugind's schema: a version dpkg accepts, and names
 * the mount and dpkg can both show: each field within its PLUGIN_*_MAX and the package file name
 * wazo-plugind-<name>-<namespace>_<version>_all.deb within 255 bytes. 0, or -EINVAL with
 * each offending field added to r (constraint_id range or regex). */
int plugin_meta_check_limits(const struct plugin_meta *m, struct error *r);

/* The status `details:` body for r, indented by two spaces per level. */
void error_render_fields(const struct error *r, struct strbuf *sb);

/* 1 when the len bytes at s are a plain name token: [a-z0-9]+, or [a-z0-9-]+ with
 * allow_dash (a namespace, a name; no trailing-newline leniency, unlike validation). */
int plugin_token_valid(const char *s, size_t len, int allow_dash);
/* Debian package name: wazo-plugind-<name>-<namespace>. */
void plugin_package_name(const char *name, const char *ns, char *out, size_t outlen);
/* Its file name: wazo-plugind-<name>-<namespace>_<version>_all.deb. */
void plugin_deb_filename(const char *name, const char *ns, const char *version, char *out,
			 size_t outlen);
#endif
