/* plugin_package: turns a built plugin into the package wazo-plugind makes: the
 * plugin's wazo/ directory under /usr/lib/wazo-plugind/plugins/<ns>/<name>/, the
 * control fields, and the maintainer scripts that run `rules install`, `uninstall`
 * and `postrm` (under $DPKG_ROOT). */
#ifndef WAZOFS_PLUGIN_PACKAGE_H
#define WAZOFS_PLUGIN_PACKAGE_H
#include "plugin_meta.h"
#include "strbuf.h"

#define PLUGIN_SECTION	  "wazo-plugind-plugin"
#define PLUGIN_MAINTAINER "Wazo Plugind <wazo-dev@wazo.community>"
#define PLUGINS_DIR	  "usr/lib/wazo-plugind/plugins"
#define SAVED_RULES_DIR	  "var/lib/wazo-plugind/rules"

/* The three maintainer scripts for m; each malloc'd, caller frees. */
int plugin_scripts(const struct plugin_meta *m, char **postinst, char **prerm, char **postrm);
/* The Depends: value (debian_depends, then wazo-plugind-<name>-<ns> per depends); may
 * be empty. malloc'd. */
char *plugin_depends_field(const struct plugin_meta *m);
/* Completes pkgdir (filled by `rules package`) with the plugin's wazo/ directory and
 * the doc files, then writes the .deb at out_path. log_fd gets the cp output. */
int plugin_package_write(const struct plugin_meta *m, const char *plugin_root, const char *pkgdir,
			 const char *out_path, int log_fd, struct strbuf *err);
/* File name of the package in the state dir: <package>_<version>_all.deb */
void plugin_deb_filename(const char *name, const char *ns, const char *version, char *out,
			 size_t outlen);
/* Deletes the kept packages of package (<package>_*.deb) in dir, except the file named
 * keep (NULL: all of them). */
void plugin_prune_packages(const char *dir, const char *package, const char *keep);
#endif
