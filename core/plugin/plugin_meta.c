/* plugin_meta: loads wazo/plugin.yml with libyaml's document loader (aliases stay
 * references, so alias bombs cost nothing) and checks it field by field through a table
 * of rules (field_rules), as wazo-plugind's schema does; each error of a field in the
 * file says the line of its value. */
#include "plugin_meta.h"
#include "deb_writer.h"
#include "version_cmp.h"
#include "yaml/yaml11.h"
#include "yaml/yaml_doc.h"
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define NAME_RE	     "^[a-z0-9-]+$"
#define NAMESPACE_RE "^[a-z0-9]+$"

void error_render_fields(const struct error *r, struct strbuf *sb)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct field_error *e = &r->e[i];
		char *key = y11_quote(e->field);
		strbuf_addf(sb, "  %s:\n", key ? key : "field");
		free(key);
		y11_add_kv(sb, 4, "constraint_id", e->constraint_id);
		if (e->constraint[0])
			y11_add_kv(sb, 4, "constraint", e->constraint);
		y11_add_kv(sb, 4, "message", e->message);
		if (e->line)
			strbuf_addf(sb, "    line: %u\n", e->line);
	}
}

int plugin_token_valid(const char *s, size_t len, int allow_dash)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      (allow_dash && s[i] == '-')))
			return 0;
	return 1;
}

void plugin_package_name(const char *name, const char *ns, char *out, size_t outlen)
{
	snprintf(out, outlen, "wazo-plugind-%s-%s", name, ns);
}

void plugin_deb_filename(const char *name, const char *ns, const char *version, char *out,
			 size_t outlen)
{
	snprintf(out, outlen, "wazo-plugind-%s-%s_%s_all.deb", name, ns, version);
}

/* ---- YAML node access ---- */

static int is_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

static const char *scalar_text(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* The YAML 1.1 type of a scalar node: quoted scalars and explicit non-default tags
 * are strings unless tagged otherwise. */
static enum y11_kind scalar_kind(yaml_node_t *n)
{
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return Y11_STR;
	return y11_resolve_plain(scalar_text(n));
}

static int scalar_is_string(yaml_node_t *n)
{
	return is_scalar(n) && scalar_kind(n) == Y11_STR;
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key, int *present)
{
	yaml_node_t *n = ydoc_get(d, m, key);
	*present = n != NULL;
	return n;
}

static int is_null(yaml_node_t *n)
{
	return is_scalar(n) && scalar_kind(n) == Y11_NULL;
}

static int regex_full_match(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return 0;
	/* Python re.match with `$` tolerates one trailing newline. */
	size_t n = strlen(s);
	char *copy = strdup(s);
	int ok = 0;
	if (copy) {
		if (n && copy[n - 1] == '\n')
			copy[n - 1] = 0;
		ok = regexec(&re, copy, 0, NULL, 0) == 0;
		free(copy);
	}
	regfree(&re);
	return ok;
}

/* A version-like field after Python str() coercion of int/float/bool; NULL (and an
 * error in r) when it is not a string then. */
static char *coerced_string(yaml_node_t *n, const char *field, struct error *r)
{
	if (is_scalar(n)) {
		enum y11_kind k = scalar_kind(n);
		if (k == Y11_STR)
			return strdup(scalar_text(n));
		if (k == Y11_BOOL || k == Y11_INT || k == Y11_FLOAT) {
			char buf[4400]; /* Python's longest int text */
			if (y11_python_str(scalar_text(n), k, buf, sizeof(buf)) == 0)
				return strdup(buf);
		}
	}
	if (is_null(n))
		error_field(r, field, "required", NULL, "Field may not be null.");
	else
		error_field(r, field, "type", NULL, "Not a valid string.");
	return NULL;
}

static char *required_regex_string(yaml_document_t *d, yaml_node_t *root, const char *field,
				   const char *pattern, struct error *r)
{
	int present;
	yaml_node_t *n = map_get(d, root, field, &present);
	if (!present) {
		error_field(r, field, "required", NULL, "Missing data for required field.");
		return NULL;
	}
	if (!scalar_is_string(n)) {
		if (is_null(n))
			error_field(r, field, "required", NULL, "Field may not be null.");
		else
			error_field(r, field, "type", NULL, "Not a valid string.");
		return NULL;
	}
	if (!regex_full_match(pattern, scalar_text(n))) {
		error_field(r, field, "regex", pattern, "String does not match expected pattern.");
		return NULL;
	}
	return strdup(scalar_text(n));
}

static int in_set(char c, const char *set)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr(set, c));
}

static const char *skip_blank(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* One Debian relation alternative: name[:arch] [(op version)] [[archs]] [<profiles>]. */
static const char *debian_alternative(const char *s)
{
	s = skip_blank(s);
	const char *start = s;
	if (!in_set(*s, ""))
		return NULL;
	while (in_set(*s, "+.-"))
		s++;
	if (s - start < 2)
		return NULL;
	if (*s == ':') {
		const char *a = ++s;
		while (in_set(*s, "-"))
			s++;
		if (s == a)
			return NULL;
	}
	s = skip_blank(s);
	if (*s == '(') {
		s = skip_blank(s + 1);
		static const char *const ops[] = { "<<", "<=", ">=", ">>", "=", "<", ">" };
		size_t i;
		for (i = 0; i < 7 && strncmp(s, ops[i], strlen(ops[i])); i++)
			;
		if (i == 7)
			return NULL;
		s = skip_blank(s + strlen(ops[i]));
		char v[PLUGIN_VERSION_MAX + 1];
		size_t n = 0;
		while (s[n] && s[n] != ')' && s[n] != ' ' && s[n] != '\t' && n < sizeof(v) - 1)
			v[n] = s[n], n++;
		v[n] = 0;
		if (!n || deb_version_check(v))
			return NULL;
		s = skip_blank(s + n);
		if (*s++ != ')')
			return NULL;
		s = skip_blank(s);
	}
	static const char brackets[][3] = { "[]", "<>" };
	for (int b = 0; b < 2; b++)
		while (*s == brackets[b][0]) {
			const char *in = ++s;
			while (in_set(*s, "!-. \t"))
				s++;
			if (s == in || *s++ != brackets[b][1])
				return NULL;
			s = skip_blank(s);
		}
	return s;
}

/* An entry of debian_depends: alternatives joined by '|', and nothing else (no ',', no
 * control character: each would add a relation or a control field). */
static int debian_relation_valid(const char *s)
{
	for (;;) {
		s = debian_alternative(s);
		if (!s)
			return 0;
		if (!*s)
			return 1;
		if (*s++ != '|')
			return 0;
	}
}

/* Each field that reaches a control file, a path or a command line, by Debian's and the
 * plugin name rules. */
static void check_injection(const struct plugin_meta *m, struct error *r)
{
	if (m->name && !plugin_token_valid(m->name, strlen(m->name), 1))
		error_field(r, "name", "regex", NAME_RE, "String does not match expected pattern.");
	if (m->namespace && !plugin_token_valid(m->namespace, strlen(m->namespace), 0))
		error_field(r, "namespace", "regex", NAMESPACE_RE,
			    "String does not match expected pattern.");
	for (size_t i = 0; i < m->n_debian_depends; i++)
		if (!debian_relation_valid(m->debian_depends[i])) {
			error_field(r, "debian_depends", "regex", "name [(op version)] [| ...]",
				    "debian_depends[%zu]: not a Debian relation (a package name, "
				    "an optional version and alternatives with '|'; no ',' nor "
				    "control characters).",
				    i);
			break;
		}
	for (size_t i = 0; i < m->n_depends; i++) {
		const struct plugin_dep *d = &m->depends[i];
		const char *bad = !plugin_token_valid(d->name, strlen(d->name), 1) ? "name"
				  : !plugin_token_valid(d->namespace, strlen(d->namespace), 0)
				      ? "namespace"
				  : d->version && (deb_has_control_char(d->version) ||
						   strlen(d->version) > PLUGIN_VERSION_MAX)
				      ? "version"
				      : NULL;
		if (bad) {
			error_field(r, "depends", "regex", NULL,
				    "depends[%zu].%s: not a valid plugin %s.", i, bad, bad);
			break;
		}
	}
}

int plugin_meta_check_limits(const struct plugin_meta *m, struct error *r)
{
	static const struct {
		const char *field;
		size_t max;
	} limits[] = { { "name", PLUGIN_NAME_MAX },
		       { "namespace", PLUGIN_NAMESPACE_MAX },
		       { "version", PLUGIN_VERSION_MAX } };
	const char *values[] = { m->name, m->namespace, m->version };
	int each_ok = 1;
	for (size_t i = 0; i < 3; i++)
		if (values[i] && strlen(values[i]) > limits[i].max) {
			char c[32];
			snprintf(c, sizeof(c), "length <= %zu", limits[i].max);
			error_field(r, limits[i].field, "range", c, "Longer than %zu characters.",
				    limits[i].max);
			each_ok = 0;
		}
	if (m->version && each_ok && deb_version_check(m->version)) {
		error_field(r, "version", "regex", "[epoch:]upstream[-revision]",
			    "Not a version dpkg accepts (it must start with a digit and hold "
			    "only letters, digits and . + ~ - :).");
		each_ok = 0;
	}
	/* a plugin depends on a few others: what more a file holds is refused, not copied
	 * into every control file and status */
	if (m->n_depends > PLUGIN_DEPENDS_MAX)
		error_field(r, "depends", "range",
			    "at most " PLUGIN_STR(PLUGIN_DEPENDS_MAX) " entries",
			    "More than %d entries.", PLUGIN_DEPENDS_MAX);
	if (m->n_debian_depends > PLUGIN_DEPENDS_MAX)
		error_field(r, "debian_depends", "range",
			    "at most " PLUGIN_STR(PLUGIN_DEPENDS_MAX) " entries",
			    "More than %d entries.", PLUGIN_DEPENDS_MAX);
	for (size_t i = 0; i < m->n_debian_depends; i++)
		if (m->debian_depends[i] && strlen(m->debian_depends[i]) > PLUGIN_DEPEND_LEN_MAX) {
			error_field(r, "debian_depends", "range",
				    "length <= " PLUGIN_STR(PLUGIN_DEPEND_LEN_MAX),
				    "debian_depends[%zu] is longer than %d characters.", i,
				    PLUGIN_DEPEND_LEN_MAX);
			break;
		}
	if (r->n)
		each_ok = 0;
	check_injection(m, r);
	if (r->n)
		each_ok = 0;
	if (!each_ok || !m->name || !m->namespace || !m->version)
		return each_ok ? 0 : -EINVAL;
	char file[1024];
	plugin_deb_filename(m->name, m->namespace, m->version, file, sizeof(file));
	if (strlen(file) > 255)
		error_field(r, "name", "range", "package file name <= 255",
			    "The package file name %.40s... would be longer than 255 "
			    "characters.",
			    file);
	return r->n ? -EINVAL : 0;
}

static void check_format_version(yaml_document_t *d, yaml_node_t *root, struct plugin_meta *m,
				 struct error *r)
{
	const char *f = "plugin_format_version";
	int present;
	yaml_node_t *n = map_get(d, root, f, &present);
	m->format_version = 0;
	if (!present)
		return;
	long long v = 0;
	int ok = 0;
	if (is_scalar(n)) {
		switch (scalar_kind(n)) {
		case Y11_INT: {
			int conv = y11_int_value(scalar_text(n), &v);
			ok = conv == 0;
			/* an int too large for us is out of range, as in Python */
			if (conv == -ERANGE)
				ok = 1, v = LLONG_MAX;
			break;
		}
		case Y11_FLOAT: {
			/* int() of nan or inf raises in Python: not a valid integer */
			double x;
			ok = y11_float_value(scalar_text(n), &x) == 0 && x == x && x > -1e18 &&
			     x < 1e18;
			if (ok)
				v = (long long)x;
			break;
		}
		case Y11_STR: ok = y11_python_int_of_str(scalar_text(n), &v) == 0; break;
		default: break;
		}
	}
	if (!ok) {
		if (is_null(n))
			error_field(r, f, "required", NULL, "Field may not be null.");
		else
			error_field(r, f, "type", NULL, "Not a valid integer.");
		return;
	}
	if (v < 0 || v > 2) {
		error_field(r, f, "range", "0..2",
			    "Must be greater than or equal to 0 and less than or equal to 2.");
		return;
	}
	m->format_version = (int)v;
}

static char *check_wazo_bound(yaml_document_t *d, yaml_node_t *root, const char *field,
			      const char *running, int is_min, struct error *r)
{
	int present;
	yaml_node_t *n = map_get(d, root, field, &present);
	if (!present)
		return NULL;
	char *v = coerced_string(n, field, r);
	if (!v || !running)
		return v;
	int c;
	if (version_cmp(is_min ? v : running, is_min ? running : v, &c)) {
		error_field(r, field, "range", v,
			    "Cannot compare version %s with the running Wazo version %s.", v,
			    running);
	} else if (c > 0) {
		if (is_min)
			error_field(r, field, "range", v,
				    "The minimum Wazo version is %s; this is Wazo %s.", v, running);
		else
			error_field(r, field, "range", v,
				    "The maximum Wazo version is %s; this is Wazo %s.", v, running);
	}
	return v;
}

static char *dep_string(yaml_document_t *d, yaml_node_t *item, size_t i, const char *key,
			int required, struct error *r)
{
	int present;
	yaml_node_t *n = map_get(d, item, key, &present);
	if (!present) {
		if (required)
			error_field(r, "depends", "required", NULL,
				    "depends[%zu].%s: Missing data for required field.", i, key);
		return NULL;
	}
	if (!scalar_is_string(n) || (required && !scalar_text(n)[0])) {
		error_field(r, "depends", "type", NULL, "depends[%zu].%s: Not a valid %sstring.", i,
			    key, required ? "non-empty " : "");
		return NULL;
	}
	return strdup(scalar_text(n));
}

static void check_depends(yaml_document_t *d, yaml_node_t *root, struct plugin_meta *m,
			  struct error *r)
{
	int present;
	yaml_node_t *n = map_get(d, root, "depends", &present);
	if (!present)
		return;
	if (!n || n->type != YAML_SEQUENCE_NODE) {
		if (is_null(n))
			error_field(r, "depends", "required", NULL, "Field may not be null.");
		else
			error_field(r, "depends", "type", NULL, "Not a valid list.");
		return;
	}
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	m->depends = calloc(count ? count : 1, sizeof(*m->depends));
	if (!m->depends)
		return;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(d, n->data.sequence.items.start[i]);
		if (!item || item->type != YAML_MAPPING_NODE ||
		    item->data.mapping.pairs.top == item->data.mapping.pairs.start) {
			error_field(r, "depends", "type", NULL,
				    "depends[%zu]: Not a valid mapping with name and namespace.",
				    i);
			continue;
		}
		struct plugin_dep *dep = &m->depends[m->n_depends++];
		dep->namespace = dep_string(d, item, i, "namespace", 1, r);
		dep->name = dep_string(d, item, i, "name", 1, r);
		dep->version = dep_string(d, item, i, "version", 0, r);
	}
}

static void read_debian_depends(yaml_document_t *d, yaml_node_t *root, struct plugin_meta *m)
{
	int present;
	yaml_node_t *n = map_get(d, root, "debian_depends", &present);
	if (!present || !n)
		return;
	if (n->type == YAML_SCALAR_NODE) {
		if (is_null(n) || !scalar_text(n)[0])
			return;
		m->debian_depends = calloc(1, sizeof(char *));
		if (m->debian_depends && (m->debian_depends[0] = strdup(scalar_text(n))))
			m->n_debian_depends = 1;
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return;
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	m->debian_depends = calloc(count ? count : 1, sizeof(char *));
	if (!m->debian_depends)
		return;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it = yaml_document_get_node(d, n->data.sequence.items.start[i]);
		if (is_scalar(it) && scalar_text(it)[0])
			m->debian_depends[m->n_debian_depends++] = strdup(scalar_text(it));
	}
}

static char *optional_text(yaml_document_t *d, yaml_node_t *root, const char *key)
{
	int present;
	yaml_node_t *n = map_get(d, root, key, &present);
	if (!present || !is_scalar(n) || is_null(n))
		return NULL;
	return strdup(scalar_text(n));
}

void plugin_meta_destroy(struct plugin_meta *m)
{
	free(m->name);
	free(m->namespace);
	free(m->version);
	free(m->min_wazo_version);
	free(m->max_wazo_version);
	for (size_t i = 0; i < m->n_depends; i++) {
		free(m->depends[i].name);
		free(m->depends[i].namespace);
		free(m->depends[i].version);
	}
	free(m->depends);
	for (size_t i = 0; i < m->n_debian_depends; i++)
		free(m->debian_depends[i]);
	free(m->debian_depends);
	free(m->description);
	free(m->display_name);
	memset(m, 0, sizeof(*m));
}

/* What every field rule reads: the document, its root mapping, the running Wazo version
 * (NULL: no min/max check). */
struct meta_input {
	yaml_document_t *doc;
	yaml_node_t *root;
	const char *wazo_version;
};

/* A name or namespace is one line (a newline would reach a control file). */
static char *one_line(char *s)
{
	if (s)
		s[strcspn(s, "\n")] = 0;
	return s;
}

static void rule_name(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	m->name = one_line(required_regex_string(in->doc, in->root, "name", NAME_RE, r));
}

static void rule_namespace(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	m->namespace =
	    one_line(required_regex_string(in->doc, in->root, "namespace", NAMESPACE_RE, r));
}

static void rule_version(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	int present;
	yaml_node_t *vn = map_get(in->doc, in->root, "version", &present);
	if (!present)
		error_field(r, "version", "required", NULL, "Missing data for required field.");
	else
		m->version = coerced_string(vn, "version", r);
}

static void rule_format_version(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	check_format_version(in->doc, in->root, m, r);
}

static void rule_min_wazo(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	m->min_wazo_version =
	    check_wazo_bound(in->doc, in->root, "min_wazo_version", in->wazo_version, 1, r);
}

static void rule_max_wazo(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	m->max_wazo_version =
	    check_wazo_bound(in->doc, in->root, "max_wazo_version", in->wazo_version, 0, r);
}

static void rule_depends(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	check_depends(in->doc, in->root, m, r);
}

static void rule_debian_depends(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	(void)r;
	read_debian_depends(in->doc, in->root, m);
}

static void rule_description(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	(void)r;
	m->description = optional_text(in->doc, in->root, "description");
}

static void rule_display_name(const struct meta_input *in, struct plugin_meta *m, struct error *r)
{
	(void)r;
	m->display_name = optional_text(in->doc, in->root, "display_name");
}

/* plugin.yml's fields, each with its rule, in the order of wazo-plugind's schema: a rule
 * reads its field, fills m and adds what is wrong to the report. */
static const struct field_rule {
	const char *key;
	void (*check)(const struct meta_input *in, struct plugin_meta *m, struct error *r);
} field_rules[] = {
	{ "name", rule_name },
	{ "namespace", rule_namespace },
	{ "version", rule_version },
	{ "plugin_format_version", rule_format_version },
	{ "min_wazo_version", rule_min_wazo },
	{ "max_wazo_version", rule_max_wazo },
	{ "depends", rule_depends },
	{ "debian_depends", rule_debian_depends },
	{ "description", rule_description },
	{ "display_name", rule_display_name },
};

/* Each error of a field that is in the file gets the line of its value (1-based). */
static void report_lines(yaml_document_t *d, yaml_node_t *root, struct error *r)
{
	for (size_t i = 0; i < r->n; i++) {
		int present;
		yaml_node_t *v = map_get(d, root, r->e[i].field, &present);
		if (present && v)
			r->e[i].line = (unsigned)v->start_mark.line + 1;
	}
}

int plugin_meta_parse(const char *text, size_t len, const char *wazo_version, struct plugin_meta *m,
		      struct error *r)
{
	memset(m, 0, sizeof(*m));
	r->n = 0; /* the fields refused; a message the caller has stays */
	if (len > PLUGIN_YML_MAX) {
		error_field(r, "_yaml", "size", NULL, "plugin.yml is larger than %d bytes",
			    PLUGIN_YML_MAX);
		return -EINVAL;
	}
	yaml_document_t doc;
	struct error err = ERROR_INIT;
	int more = 0, rc = ydoc_load(text, len, &doc, &more, &err);
	if (rc) {
		if (rc == -EINVAL)
			error_field(r, "_yaml", "yaml", NULL, "%s",
				    err.msg.buf ? err.msg.buf : "invalid YAML");
		error_release(&err);
		return rc;
	}
	error_release(&err);
	/* Exactly one document: a second one is an error, like PyYAML's safe_load. */
	if (more) {
		error_field(r, "_yaml", "yaml", NULL,
			    "expected a single document, found more than one");
		goto out_doc;
	}

	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		error_field(r, "_schema", "schema", NULL, "plugin.yml must be a mapping, it is %s",
			    !root || is_null(root)	       ? "empty"
			    : root->type == YAML_SEQUENCE_NODE ? "a list"
							       : "a scalar");
		goto out_doc;
	}
	struct meta_input in = { &doc, root, wazo_version };
	for (size_t i = 0; i < sizeof(field_rules) / sizeof(field_rules[0]); i++)
		field_rules[i].check(&in, m, r);
	report_lines(&doc, root, r);
out_doc:
	yaml_document_delete(&doc);
	if (r->n) {
		plugin_meta_destroy(m);
		return -EINVAL;
	}
	return 0;
}

int plugin_meta_load(const char *path, const char *wazo_version, struct plugin_meta *m,
		     struct error *r)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = strbuf_read_file(&sb, path, PLUGIN_YML_MAX);
	if (rc) {
		memset(m, 0, sizeof(*m));
		r->n = 0;
		if (rc == -EFBIG)
			error_field(r, "_yaml", "size", NULL, "plugin.yml is larger than %d bytes",
				    PLUGIN_YML_MAX);
		else
			error_field(r, "_yaml", "required", NULL, "cannot read wazo/plugin.yml: %s",
				    strerror(-rc));
		strbuf_release(&sb);
		return -EINVAL;
	}
	rc = plugin_meta_parse(sb.buf, sb.len, wazo_version, m, r);
	strbuf_release(&sb);
	return rc;
}
