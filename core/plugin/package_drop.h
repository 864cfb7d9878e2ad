/* package_drop: whether a .deb copied into incoming/ is a wazo-plugind plugin package
 * that may be installed as it is: section wazo-plugind-plugin, exactly one metadata file
 * at usr/lib/wazo-plugind/plugins/<namespace>/<name>/wazo/plugin.yml, a plugin.yml valid
 * by wazo-plugind's rules (and wazofs's limits) that agrees with that path and with the
 * control file's Package and Version. */
#ifndef WAZOFS_PACKAGE_DROP_H
#define WAZOFS_PACKAGE_DROP_H
#include "deb_reader.h"
#include "plugin_meta.h"

/* 0 with m filled (free with plugin_meta_destroy), or -EINVAL with r naming each field
 * that is wrong (Section, Package, Version, plugin.yml, or a plugin.yml field) and m
 * left empty. wazo_version: the running one (NULL: min/max not checked). */
int package_drop_validate(const struct deb_info *d, const char *wazo_version, struct plugin_meta *m,
			  struct error *r);
#endif
