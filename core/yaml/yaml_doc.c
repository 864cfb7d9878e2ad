/* yaml_doc: libyaml document access (see yaml_doc.h). */
#include "yaml_doc.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void add_problem(struct error *err, const yaml_parser_t *p)
{
	const yaml_mark_t *mark =
	    p->problem_mark.line || p->problem_mark.column ? &p->problem_mark : &p->context_mark;
	error_addf(err, "line %zu column %zu: %s%s%s", mark->line + 1, mark->column + 1,
		   p->problem ? p->problem : "invalid YAML", p->context ? " " : "",
		   p->context ? p->context : "");
}

/* What an anchor stands for: the bytes of scalars an alias to it brings in, aliases
 * inside it counted as they expand. */
struct anchor {
	char *name;
	size_t bytes;
};

/* The anchors of a document, and the anchored collections still open. */
struct expansion {
	struct anchor *v;
	size_t n;
	struct open_anchor {
		char *name;
		size_t bytes;
		int depth;
	} open[YDOC_DEPTH_MAX + 1];
	size_t n_open;
	size_t total, budget;
};

static void expansion_free(struct expansion *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].name);
	for (size_t i = 0; i < x->n_open; i++)
		free(x->open[i].name);
	free(x->v);
}

/* bytes more in the document: in every open anchor too. -E2BIG past the budget. */
static int charge(struct expansion *x, size_t bytes)
{
	x->total += bytes;
	for (size_t i = 0; i < x->n_open; i++)
		x->open[i].bytes += bytes;
	return x->total > x->budget ? -E2BIG : 0;
}

/* An anchor defined (a later one of the same name hides it, as in YAML). */
static int define(struct expansion *x, const char *name, size_t bytes)
{
	struct anchor *v = realloc(x->v, (x->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	x->v = v;
	if (!(v[x->n].name = strdup(name)))
		return -ENOMEM;
	v[x->n++].bytes = bytes;
	return 0;
}

static size_t anchor_bytes(const struct expansion *x, const char *name)
{
	for (size_t i = x->n; i-- > 0;)
		if (strcmp(x->v[i].name, name) == 0)
			return x->v[i].bytes;
	return 0;
}

/* Walks the events of text before it is loaded: refuses nesting past YDOC_DEPTH_MAX,
 * and a document whose aliases (merge keys' included) expand to more than the budget
 * (an alias is charged what its anchor holds, so a reader that copies what aliases name,
 * as PyYAML does, never gets more than that); stops at the first problem, so a hostile
 * document costs only what was read of it. */
static int check_shape(const char *text, size_t len, struct error *err)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	struct expansion x = { .budget = len > YDOC_EXPAND_MIN ? len : YDOC_EXPAND_MIN };
	int depth = 0, rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = -EINVAL; /* the loader words the syntax error */
			break;
		}
		yaml_event_type_t type = ev.type;
		size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
		const yaml_char_t *anchor = NULL;
		if (type == YAML_SCALAR_EVENT) {
			anchor = ev.data.scalar.anchor;
			rc = charge(&x, ev.data.scalar.length + 1);
			if (!rc && anchor)
				rc = define(&x, (const char *)anchor, ev.data.scalar.length + 1);
		} else if (type == YAML_ALIAS_EVENT) {
			rc = charge(&x, anchor_bytes(&x, (const char *)ev.data.alias.anchor));
		} else if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			anchor = type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
								   : ev.data.mapping_start.anchor;
			if (++depth > YDOC_DEPTH_MAX) {
				error_addf(err, "line %zu column %zu: nested deeper than %d levels",
					   line, col, YDOC_DEPTH_MAX);
				rc = -E2BIG;
			} else if (anchor) {
				struct open_anchor *o = &x.open[x.n_open];
				o->name = strdup((const char *)anchor);
				o->bytes = 0;
				o->depth = depth;
				rc = o->name ? (x.n_open++, 0) : -ENOMEM;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			if (x.n_open && x.open[x.n_open - 1].depth == depth) {
				struct open_anchor *o = &x.open[--x.n_open];
				rc = define(&x, o->name, o->bytes);
				free(o->name);
			}
			depth--;
		}
		yaml_event_delete(&ev);
		if (rc == -E2BIG && x.total > x.budget)
			error_addf(
			    err, "line %zu column %zu: aliases expand the document past %zu bytes",
			    line, col, x.budget);
		if (rc || type == YAML_STREAM_END_EVENT)
			break;
	}
	expansion_free(&x);
	yaml_parser_delete(&p);
	return rc;
}

int ydoc_load(const char *text, size_t len, yaml_document_t *doc, int *more, struct error *err)
{
	int rc = check_shape(text, len, err);
	if (rc == -ENOMEM || rc == -E2BIG)
		return rc == -E2BIG ? -EINVAL : rc;
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	rc = 0;
	if (!yaml_parser_load(&p, doc)) {
		add_problem(err, &p);
		rc = p.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	} else if (more) {
		yaml_document_t extra;
		if (!yaml_parser_load(&p, &extra)) {
			add_problem(err, &p);
			yaml_document_delete(doc);
			rc = -EINVAL;
		} else {
			*more = yaml_document_get_root_node(&extra) != NULL;
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

const char *ydoc_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int is_merge_key(yaml_node_t *k)
{
	return k && k->type == YAML_SCALAR_NODE &&
	       k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       strcmp((const char *)k->data.scalar.value, "<<") == 0;
}

/* One lookup: which mappings were searched already (bit per node of the document). */
struct lookup {
	yaml_document_t *d;
	const char *key;
	uint8_t *seen;
};

static int first_visit(struct lookup *l, yaml_node_t *m)
{
	size_t i = (size_t)(m - l->d->nodes.start);
	if (l->seen[i / 8] & (1u << (i % 8)))
		return 0;
	l->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	return 1;
}

static yaml_node_t *lookup_in(struct lookup *l, yaml_node_t *m, int depth)
{
	if (!m || m->type != YAML_MAPPING_NODE || depth > YDOC_DEPTH_MAX || !first_visit(l, m))
		return NULL;
	yaml_node_pair_t *p;
	for (p = m->data.mapping.pairs.top; p-- > m->data.mapping.pairs.start;) {
		yaml_node_t *k = yaml_document_get_node(l->d, p->key);
		const char *text = ydoc_scalar(k);
		if (text && strcmp(text, l->key) == 0 && !is_merge_key(k))
			return yaml_document_get_node(l->d, p->value);
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		if (!is_merge_key(yaml_document_get_node(l->d, p->key)))
			continue;
		yaml_node_t *v = yaml_document_get_node(l->d, p->value), *r = NULL;
		if (v && v->type == YAML_MAPPING_NODE)
			r = lookup_in(l, v, depth + 1);
		for (size_t i = 0; !r && i < ydoc_seq_len(v); i++)
			r = lookup_in(l, ydoc_seq_item(l->d, v, i), depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

yaml_node_t *ydoc_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	size_t nodes = (size_t)(d->nodes.top - d->nodes.start);
	struct lookup l = { d, key, calloc(nodes / 8 + 1, 1) };
	if (!l.seen)
		return NULL;
	yaml_node_t *r = lookup_in(&l, m, 0);
	free(l.seen);
	return r;
}

const char *ydoc_get_scalar(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	return ydoc_scalar(ydoc_get(d, m, key));
}

size_t ydoc_seq_len(yaml_node_t *n)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *ydoc_seq_item(yaml_document_t *d, yaml_node_t *n, size_t i)
{
	if (i >= ydoc_seq_len(n))
		return NULL;
	return yaml_document_get_node(d, n->data.sequence.items.start[i]);
}
