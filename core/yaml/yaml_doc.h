/* yaml_doc: reading libyaml documents (YAML, and JSON, which YAML reads): one loader
 * with the limits hostile input needs, mapping lookups with PyYAML's merge keys, and
 * scalar access. */
#ifndef WAZOFS_YAML_DOC_H
#define WAZOFS_YAML_DOC_H
#include "base/error.h"
#include "base/strbuf.h"
#include <yaml.h>

/* Deepest nesting of collections a loaded document may have. */
#define YDOC_DEPTH_MAX 64

/* What the scalars of a document may add up to with every alias expanded (merge keys'
 * included): the document's own size, or this much when it is smaller. */
#define YDOC_EXPAND_MIN (1024 * 1024)

/* Loads the first document of text (len bytes) into doc (caller deletes it with
 * yaml_document_delete). Input nested deeper than YDOC_DEPTH_MAX, or whose aliases expand
 * past YDOC_EXPAND_MIN (or len when larger), is refused before it is loaded, so its
 * cost is bounded by what was read of it. *more (when not NULL) tells whether
 * another document follows. Returns 0, -EINVAL with "line L column C: problem" in err,
 * or -ENOMEM. */
int ydoc_load(const char *text, size_t len, yaml_document_t *doc, int *more, struct error *err);

/* The value of key in mapping m: explicit keys win (the last one), then merge keys
 * (`<<`, the first merged mapping that has it, depth first). Each mapping is searched at
 * most once per lookup and merges nest at most YDOC_DEPTH_MAX deep, so merge-key bombs cost their
 * size, not their expansion. NULL when absent or m is no mapping. */
yaml_node_t *ydoc_get(yaml_document_t *d, yaml_node_t *m, const char *key);
/* The text of a scalar node, NULL for anything else. */
const char *ydoc_scalar(yaml_node_t *n);
/* The text of the scalar at key, NULL when absent or not a scalar. */
const char *ydoc_get_scalar(yaml_document_t *d, yaml_node_t *m, const char *key);
/* Number of items of a sequence node (0 for anything else) and item i. */
size_t ydoc_seq_len(yaml_node_t *n);
yaml_node_t *ydoc_seq_item(yaml_document_t *d, yaml_node_t *n, size_t i);
#endif
