/* yaml_doc: reading libyaml documents (YAML, and JSON, which YAML reads): mapping
 * lookups with PyYAML's merge keys, and scalar access. No allocation. */
#ifndef WAZOFS_YAML_DOC_H
#define WAZOFS_YAML_DOC_H
#include <yaml.h>

/* The value of key in mapping m: explicit keys win (the last one), then merge keys
 * (`<<`, the first merged mapping that has it). NULL when absent or m is no mapping. */
yaml_node_t *ydoc_get(yaml_document_t *d, yaml_node_t *m, const char *key);
/* The text of a scalar node, NULL for anything else. */
const char *ydoc_scalar(yaml_node_t *n);
/* The text of the scalar at key, NULL when absent or not a scalar. */
const char *ydoc_get_scalar(yaml_document_t *d, yaml_node_t *m, const char *key);
/* Number of items of a sequence node (0 for anything else) and item i. */
size_t ydoc_seq_len(yaml_node_t *n);
yaml_node_t *ydoc_seq_item(yaml_document_t *d, yaml_node_t *n, size_t i);
#endif
