/* market: a market index in wazo market format (JSON, read with libyaml):
 * {"items": [{"namespace", "name", "versions": [{"version", "method", "options": {"url",
 * "ref", "subdirectory"}, "min_wazo_version", "max_wazo_version"}], ...}]}.
 * A loaded market is immutable; the owner frees it with market_free(). */
#ifndef WAZOFS_MARKET_H
#define WAZOFS_MARKET_H
#include "base/error.h"
#include "base/strbuf.h"
#include <stddef.h>

struct market_version {
	char *version, *method, *url, *ref, *subdirectory; /* NULL when absent */
	char *min_wazo_version, *max_wazo_version;
};

struct market_item {
	char *ns, *name;
	struct market_version *versions;
	size_t n_versions;
	char *extra_yaml; /* the item's other fields, as YAML lines */
};

struct market {
	struct market_item *items;
	size_t n_items;
};

/* Loads path. Returns 0, or -errno / -EINVAL with a message in err. */
int market_load(const char *path, struct market **out, struct error *err);
/* The same from text (len bytes); origin names it in errors. */
int market_parse(const char *text, size_t len, const char *origin, struct market **out,
		 struct error *err);
void market_free(struct market *m);
const struct market_item *market_find(const struct market *m, const char *ns, const char *name);
/* 1 when the version's min/max Wazo versions admit running ("" or NULL: admitted). */
int market_version_installable(const struct market_version *v, const char *running);
/* The newest installable version of it (or the one named want), NULL when none. */
const struct market_version *market_pick(const struct market_item *it, const char *running,
					 const char *want);
/* The `info` file: the item's fields, installed_version, and versions with installable
 * and upgradable (installable and newer than the installed version). */
void market_info_render(const struct market_item *it, const char *installed_version,
			const char *running, struct strbuf *out);
#endif
