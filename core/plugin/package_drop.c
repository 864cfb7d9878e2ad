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

int package_drop_validate(const struct deb_info *d, const char *wazo_version, struct plugin_meta *m,
			  struct error *r)
{
	char section[128], package[512], version[256], want[300];
	memset(m, 0, sizeof(*m));
	r->n = 0; /* the fields refused; a message the caller has stays */
	field_or_none(d, "Section", section, sizeof(section));
	field_or_none(d, "Package", package, sizeof(package));
	field_or_none(d, "Version", version, sizeof(version));
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
	if (r->n)
		return -EINVAL;
	struct error yr = ERROR_INIT;
	int rc = plugin_meta_parse(d->plugin_yml.buf ? d->plugin_yml.buf : "", d->plugin_yml.len,
				   wazo_version, m, &yr);
	if (rc == 0 && plugin_meta_check_limits(m, &yr))
		rc = -EINVAL;
	error_take_fields(r, &yr);
	if (yr.msg.len)
		error_addf(r, "%s", yr.msg.buf);
	error_release(&yr);
	if (rc) {
		plugin_meta_destroy(m);
		memset(m, 0, sizeof(*m));
		return rc;
	}
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
	if (r->n) {
		plugin_meta_destroy(m);
		memset(m, 0, sizeof(*m));
		return -EINVAL;
	}
	return 0;
}
