/* plugin_meta: wazo/plugin.yml into a plain struct, validated with wazo-plugind's rules
 * (YAML 1.1 typing, Python coercions, LooseVersion comparison of Wazo versions). */
#ifndef WAZOFS_PLUGIN_META_H
#define WAZOFS_PLUGIN_META_H
#include "base/strbuf.h"
#include <stddef.h>

#define PLUGIN_YML_MAX	(1024 * 1024)
#define META_MAX_ERRORS 24
/* The longest name, namespace and version a plugin may have (the status fields hold
 * them; the package file name made of them must stay within 255 bytes as well). */
#define PLUGIN_NAME_MAX	     127
#define PLUGIN_NAMESPACE_MAX 63
#define PLUGIN_VERSION_MAX   127

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

struct meta_error {
	char field[64];		/* top-level key, or _yaml / _schema */
	char constraint_id[16]; /* regex, range, required, type, yaml, schema */
	char constraint[96];	/* may be empty */
	char message[256];
	unsigned line; /* of the field's value in plugin.yml (1-based); 0: not in the file */
};

struct meta_report {
	size_t n;
	struct meta_error e[META_MAX_ERRORS];
};

/* Parses and validates text (len bytes) against the running Wazo version (NULL: no
 * min/max check). Returns 0 when valid (m filled; free with plugin_meta_destroy),
 * -EINVAL when not (report filled, m left empty), -ENOMEM. m and r are always set up. */
int plugin_meta_parse(const char *text, size_t len, const char *wazo_version, struct plugin_meta *m,
		      struct meta_report *r);
/* The same from a file; a file over PLUGIN_YML_MAX or unreadable is a _yaml error. */
int plugin_meta_load(const char *path, const char *wazo_version, struct plugin_meta *m,
		     struct meta_report *r);
void plugin_meta_destroy(struct plugin_meta *m);
/* wazofs's own limits on top of wazo-plugind's schema: a version dpkg accepts, and names
 * the mount and dpkg can both show: each field within its PLUGIN_*_MAX and the package file name
 * wazo-plugind-<name>-<namespace>_<version>_all.deb within 255 bytes. 0, or -EINVAL with
 * each offending field added to r (constraint_id range or regex). */
int plugin_meta_check_limits(const struct plugin_meta *m, struct meta_report *r);

/* Adds an error to r (ignored past META_MAX_ERRORS). */
void meta_report_add(struct meta_report *r, const char *field, const char *constraint_id,
		     const char *constraint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "field1,field2" sorted, as EXPECTED.tsv writes it. */
void meta_report_fields(const struct meta_report *r, char *out, size_t outlen);
/* The status `details:` body for r, indented by two spaces per level. */
void meta_report_render(const struct meta_report *r, struct strbuf *sb);

/* 1 when the len bytes at s are a plain name token: [a-z0-9]+, or [a-z0-9-]+ with
 * allow_dash (a namespace, a name; no trailing-newline leniency, unlike validation). */
int plugin_token_valid(const char *s, size_t len, int allow_dash);
/* Debian package name: wazo-plugind-<name>-<namespace>. */
void plugin_package_name(const char *name, const char *ns, char *out, size_t outlen);
/* Its file name: wazo-plugind-<name>-<namespace>_<version>_all.deb. */
void plugin_deb_filename(const char *name, const char *ns, const char *version, char *out,
			 size_t outlen);
#endif
