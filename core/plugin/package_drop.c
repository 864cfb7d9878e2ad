/* package_drop: the checks of a dropped plugin package (package_drop.h). */
#include "package_drop.h"
#include "plugin_package.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The control field's value for messages ("(none)" when absent). */
static const char *field_or_none(const struct deb_info *d, const char *field, char *buf, size_t len)
{
	int rc = deb_control_field(d->control.buf ? d->control.buf : "", field, buf, len);
	return rc == 0 ? buf : rc == -ENOENT ? "(none)" : "(too long)";
}

/* The control file's own refusals: not a plugin package, or one dpkg would not remove
 * without a force; and the plugin.yml it must hold once. Fields into r. */
static void check_control(const struct deb_info *d, const char *package, struct error *r)
{
	char section[128];
	field_or_none(d, "Section", section, sizeof(section));
	if (strcmp(section, PLUGIN_SECTION))
		error_field(r, "Section", "regex", PLUGIN_SECTION,
			    "package %s is in section '%s', not a wazo-plugind plugin package "
			    "(section " PLUGIN_SECTION ")",
			    package, section);
	/* a package dpkg will not remove without a force: rm -r could never remove it */
	static const char *const never[] = { "Protected", "Essential" };
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		char v[64];
		if (deb_control_field(d->control.buf ? d->control.buf : "", never[i], v,
				      sizeof(v)) == 0 &&
		    strcasecmp(v, "no") != 0)
			error_field(
			    r, never[i], "regex", "no",
			    "package %s is marked %s: %s; dpkg would refuse to remove it, so "
			    "rm -r could not",
			    package, never[i], v);
	}
	if (d->n_plugin_yml == 0)
		error_field(r, "plugin.yml", "required", NULL,
			    "the package holds no /" PLUGINS_DIR
			    "/<namespace>/<name>/wazo/plugin.yml");
	else if (d->n_plugin_yml > 1)
		error_field(r, "plugin.yml", "required", NULL,
			    "the package holds %d plugin metadata files under /" PLUGINS_DIR
			    "/: one is expected",
			    d->n_plugin_yml);
}

/* The package's plugin.yml into m, validated as a copy's would be; its refusals into r. */
static int parse_meta(const struct deb_info *d, const char *wazo_version, struct plugin_meta *m,
		      struct error *r)
{
	struct error yr = ERROR_INIT;
	int rc = plugin_meta_parse(d->plugin_yml.buf ? d->plugin_yml.buf : "", d->plugin_yml.len,
				   wazo_version, m, &yr);
	if (rc == 0 && plugin_meta_check_limits(m, &yr))
		rc = -EINVAL;
	error_take_fields(r, &yr);
	if (yr.msg.len)
		error_addf(r, "%s", yr.msg.buf);
	error_release(&yr);
	return rc;
}

/* The control file and plugin.yml agree: where it is kept, the package's name and
 * version. Fields into r. */
static void check_agreement(const struct deb_info *d, const struct plugin_meta *m,
			    const char *package, const char *version, struct error *r)
{
	char want[300];
	if (strcmp(m->namespace, d->yml_ns) || strcmp(m->name, d->yml_name))
		error_field(r, strcmp(m->namespace, d->yml_ns) ? "namespace" : "name", "regex",
			    NULL,
			    "plugin.yml names %s/%s but the package keeps it under "
			    "/" PLUGINS_DIR "/%s/%s/",
			    m->namespace, m->name, d->yml_ns, d->yml_name);
	plugin_package_name(m->name, m->namespace, want, sizeof(want));
	if (strcmp(package, want))
		error_field(r, "Package", "regex", NULL,
			    "the control file names package %s but plugin.yml makes it %s", package,
			    want);
	if (strcmp(version, m->version))
		error_field(r, "Version", "regex", NULL,
			    "the control file has version %s but plugin.yml has %s", version,
			    m->version);
}

int package_drop_validate(const struct deb_info *d, const char *wazo_version, struct plugin_meta *m,
			  struct error *r)
{
	char package[512], version[256];
	memset(m, 0, sizeof(*m));
	r->n = 0; /* the fields refused; a message the caller has stays */
	field_or_none(d, "Package", package, sizeof(package));
	field_or_none(d, "Version", version, sizeof(version));
	check_control(d, package, r);
	if (r->n)
		return -EINVAL;
	int rc = parse_meta(d, wazo_version, m, r);
	if (!rc) {
		check_agreement(d, m, package, version, r);
		rc = r->n ? -EINVAL : 0;
	}
	if (rc) {
		plugin_meta_destroy(m);
		memset(m, 0, sizeof(*m));
	}
	return rc;
}
