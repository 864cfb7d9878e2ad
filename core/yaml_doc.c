/* yaml_doc: libyaml document access (see yaml_doc.h). */
#include "yaml_doc.h"
#include <string.h>

#define MERGE_DEPTH_MAX 16

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

static yaml_node_t *get_depth(yaml_document_t *d, yaml_node_t *m, const char *key, int depth)
{
	if (!m || m->type != YAML_MAPPING_NODE || depth > MERGE_DEPTH_MAX)
		return NULL;
	yaml_node_pair_t *p;
	for (p = m->data.mapping.pairs.top; p-- > m->data.mapping.pairs.start;) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		const char *text = ydoc_scalar(k);
		if (text && strcmp(text, key) == 0 && !is_merge_key(k))
			return yaml_document_get_node(d, p->value);
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		if (!is_merge_key(yaml_document_get_node(d, p->key)))
			continue;
		yaml_node_t *v = yaml_document_get_node(d, p->value), *r = NULL;
		if (v && v->type == YAML_MAPPING_NODE)
			r = get_depth(d, v, key, depth + 1);
		for (size_t i = 0; !r && i < ydoc_seq_len(v); i++)
			r = get_depth(d, ydoc_seq_item(d, v, i), key, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

yaml_node_t *ydoc_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	return get_depth(d, m, key, 0);
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
