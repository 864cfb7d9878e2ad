/* market: the market index (see market.h). */
#include "market.h"
#include "version_cmp.h"
#include "yaml/yaml11.h"
#include "yaml/yaml_doc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MARKET_MAX (64 * 1024 * 1024)

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_version(struct market_version *v)
{
	free(v->version);
	free(v->method);
	free(v->url);
	free(v->ref);
	free(v->subdirectory);
	free(v->min_wazo_version);
	free(v->max_wazo_version);
}

void market_free(struct market *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_items; i++) {
		struct market_item *it = &m->items[i];
		free(it->ns);
		free(it->name);
		for (size_t j = 0; j < it->n_versions; j++)
			free_version(&it->versions[j]);
		free(it->versions);
		free(it->extra_yaml);
	}
	free(m->items);
	free(m);
}

/* The fields other than namespace, name and versions, as YAML (scalars and lists of
 * scalars; anything deeper is left out). */
static char *render_extra(yaml_document_t *d, yaml_node_t *item)
{
	struct strbuf sb = STRBUF_INIT;
	for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
	     p++) {
		const char *key = ydoc_scalar(yaml_document_get_node(d, p->key));
		yaml_node_t *v = yaml_document_get_node(d, p->value);
		if (!key || !strcmp(key, "namespace") || !strcmp(key, "name") ||
		    !strcmp(key, "versions") || !strcmp(key, "installed_version"))
			continue;
		if (ydoc_scalar(v)) {
			y11_add_kv(&sb, 0, key, ydoc_scalar(v));
		} else if (v && v->type == YAML_SEQUENCE_NODE) {
			strbuf_addf(&sb, "%s:%s\n", key, ydoc_seq_len(v) ? "" : " []");
			for (size_t i = 0; i < ydoc_seq_len(v); i++) {
				const char *s = ydoc_scalar(ydoc_seq_item(d, v, i));
				if (s) {
					struct strbuf q = STRBUF_INIT;
					y11_add_kv(&q, 0, "x", s);
					strbuf_addf(&sb, "  - %s", q.buf ? q.buf + 3 : "''\n");
					strbuf_release(&q);
				}
			}
		}
	}
	return strbuf_detach(&sb, NULL);
}

static int load_item(yaml_document_t *d, yaml_node_t *n, struct market_item *it, size_t idx,
		     struct error *err)
{
	const char *ns = ydoc_get_scalar(d, n, "namespace"), *name = ydoc_get_scalar(d, n, "name");
	yaml_node_t *versions = ydoc_get(d, n, "versions");
	if (!ns || !name || !versions || versions->type != YAML_SEQUENCE_NODE) {
		error_addf(err, "item %zu (line %zu): needs namespace, name and a list of versions",
			   idx, n->start_mark.line + 1);
		return -EINVAL;
	}
	it->ns = strdup(ns);
	it->name = strdup(name);
	it->extra_yaml = render_extra(d, n);
	size_t count = ydoc_seq_len(versions);
	it->versions = calloc(count ? count : 1, sizeof(*it->versions));
	if (!it->ns || !it->name || !it->versions)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *vn = ydoc_seq_item(d, versions, i);
		yaml_node_t *opts = ydoc_get(d, vn, "options");
		const char *version = ydoc_get_scalar(d, vn, "version");
		if (!version) {
			error_addf(err, "%s/%s: version %zu has no version", ns, name, i);
			return -EINVAL;
		}
		struct market_version *v = &it->versions[it->n_versions++];
		v->version = strdup(version);
		v->method = dup_or_null(ydoc_get_scalar(d, vn, "method"));
		v->url = dup_or_null(ydoc_get_scalar(d, opts, "url"));
		v->ref = dup_or_null(ydoc_get_scalar(d, opts, "ref"));
		v->subdirectory = dup_or_null(ydoc_get_scalar(d, opts, "subdirectory"));
		v->min_wazo_version = dup_or_null(ydoc_get_scalar(d, vn, "min_wazo_version"));
		v->max_wazo_version = dup_or_null(ydoc_get_scalar(d, vn, "max_wazo_version"));
	}
	return 0;
}

int market_load(const char *path, struct market **out, struct error *err)
{
	struct strbuf text = STRBUF_INIT;
	int rc = strbuf_read_file(&text, path, MARKET_MAX);
	if (rc)
		error_addf(err, "%s: %s", path, strerror(-rc));
	else
		rc = market_parse(text.buf, text.len, path, out, err);
	strbuf_release(&text);
	return rc;
}

int market_parse(const char *text, size_t len, const char *origin, struct market **out,
		 struct error *err)
{
	int rc;
	const char *path = origin;
	yaml_document_t doc;
	struct error yerr = ERROR_INIT;
	rc = ydoc_load(text, len, &doc, NULL, &yerr);
	if (rc) {
		error_addf(err, "%s: %s", path, yerr.msg.buf ? yerr.msg.buf : strerror(-rc));
		error_release(&yerr);
		return rc;
	}
	struct market *m = calloc(1, sizeof(*m));
	yaml_node_t *items = ydoc_get(&doc, yaml_document_get_root_node(&doc), "items");
	size_t count = ydoc_seq_len(items);
	rc = m ? 0 : -ENOMEM;
	if (!rc && (!items || items->type != YAML_SEQUENCE_NODE)) {
		error_addf(err, "%s: expected {\"items\": [...]}", path);
		rc = -EINVAL;
	}
	if (!rc && !(m->items = calloc(count ? count : 1, sizeof(*m->items))))
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < count; i++)
		rc =
		    load_item(&doc, ydoc_seq_item(&doc, items, i), &m->items[m->n_items++], i, err);
	yaml_document_delete(&doc);
	if (rc) {
		market_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

const struct market_item *market_find(const struct market *m, const char *ns, const char *name)
{
	for (size_t i = 0; m && i < m->n_items; i++)
		if (strcmp(m->items[i].ns, ns) == 0 && strcmp(m->items[i].name, name) == 0)
			return &m->items[i];
	return NULL;
}

int market_version_installable(const struct market_version *v, const char *running)
{
	int c;
	if (!running || !*running)
		return 1;
	if (v->min_wazo_version && *v->min_wazo_version &&
	    (version_cmp(v->min_wazo_version, running, &c) || c > 0))
		return 0;
	if (v->max_wazo_version && *v->max_wazo_version &&
	    (version_cmp(running, v->max_wazo_version, &c) || c > 0))
		return 0;
	return 1;
}

const struct market_version *market_pick(const struct market_item *it, const char *running,
					 const char *want)
{
	const struct market_version *best = NULL;
	for (size_t i = 0; it && i < it->n_versions; i++) {
		const struct market_version *v = &it->versions[i];
		if (want && *want) {
			if (strcmp(v->version, want) == 0)
				return v;
			continue;
		}
		int c;
		if (market_version_installable(v, running) &&
		    (!best || (version_cmp(v->version, best->version, &c) == 0 && c > 0)))
			best = v;
	}
	return best;
}

void market_info_render(const struct market_item *it, const char *installed_version,
			const char *running, struct strbuf *out)
{
	y11_add_kv(out, 0, "namespace", it->ns);
	y11_add_kv(out, 0, "name", it->name);
	if (it->extra_yaml)
		strbuf_add(out, it->extra_yaml, strlen(it->extra_yaml));
	if (installed_version)
		y11_add_kv(out, 0, "installed_version", installed_version);
	else
		strbuf_addf(out, "installed_version: null\n");
	strbuf_addf(out, "versions:%s\n", it->n_versions ? "" : " []");
	for (size_t i = 0; i < it->n_versions; i++) {
		const struct market_version *v = &it->versions[i];
		int installable = market_version_installable(v, running), c = 0;
		int newer = !installed_version ||
			    (version_cmp(v->version, installed_version, &c) == 0 && c > 0);
		struct strbuf q = STRBUF_INIT;
		y11_add_kv(&q, 0, "version", v->version);
		strbuf_addf(out, "  - %s", q.buf);
		strbuf_release(&q);
		const char *keys[] = { "method", "min_wazo_version", "max_wazo_version" };
		const char *vals[] = { v->method, v->min_wazo_version, v->max_wazo_version };
		for (int k = 0; k < 3; k++)
			if (vals[k])
				y11_add_kv(out, 4, keys[k], vals[k]);
		strbuf_addf(out, "    installable: %s\n    upgradable: %s\n",
			    installable ? "true" : "false",
			    installable && newer ? "true" : "false");
	}
}
