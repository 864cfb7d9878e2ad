/* Unit tests of core/plugin_meta and core/yaml11: a corpus of plugin.yml files with the
 * verdict wazo-plugind's rules give each (tests/data/plugin-yml; `make corpus` points
 * WAZOFS_CORPUS at the shared corpus of real plugins, WAZOFS_CORPUS_MIN at its size), plus
 * the coercions and error details one by one. */
#include "check.h"
#include "plugin/plugin_meta.h"
#include "plugin/version_cmp.h"
#include "yaml/yaml11.h"
#include <errno.h>
#include <stdlib.h>

static const char *corpus_dir(void)
{
	const char *d = getenv("WAZOFS_CORPUS");
	return d ? d : "tests/data/plugin-yml";
}

static void verdict(const char *path, const char *wazo, char *out, size_t outlen)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	if (plugin_meta_load(path, wazo, &m, &r) == 0) {
		snprintf(out, outlen, "valid");
		plugin_meta_destroy(&m);
		return;
	}
	char fields[256];
	error_field_names(&r, fields, sizeof(fields));
	snprintf(out, outlen, "invalid %s", fields);
	error_release(&r);
}

static void test_corpus(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/EXPECTED.tsv", corpus_dir());
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char line[1024];
	int rows = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *file = strtok(line, "\t"), *v25 = strtok(NULL, "\t"),
		     *v17 = strtok(NULL, "\t");
		if (!file || !v25 || !v17 || strcmp(file, "filename") == 0)
			continue;
		rows++;
		char got[300], yml[4096];
		snprintf(yml, sizeof(yml), "%s/%s", corpus_dir(), file);
		verdict(yml, "25.17", got, sizeof(got));
		if (strcmp(got, v25))
			fprintf(stderr, "  %s @25.17\n", file);
		CHECK_STR(got, v25);
		verdict(yml, "17.10", got, sizeof(got));
		if (strcmp(got, v17))
			fprintf(stderr, "  %s @17.10\n", file);
		CHECK_STR(got, v17);
	}
	fclose(f);
	const char *min = getenv("WAZOFS_CORPUS_MIN");
	CHECK(rows >= (min ? atoi(min) : 10));
}

static struct plugin_meta parse_ok(const char *text)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	int rc = plugin_meta_parse(text, strlen(text), "25.17", &m, &r);
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  first error: %s %s\n", r.e[0].field, r.e[0].message);
	return m;
}

static void test_coercions(void)
{
	struct plugin_meta m = parse_ok("name: a\nnamespace: b\nversion: 017\n");
	CHECK_STR(m.version, "15");
	plugin_meta_destroy(&m);
	m = parse_ok("name: a\nnamespace: b\nversion: 1.10\nmax_wazo_version: 99.0\n");
	CHECK_STR(m.version, "1.1");
	plugin_meta_destroy(&m);
	m = parse_ok("name: a\nnamespace: b\nversion: yes\nplugin_format_version: ' 2 '\n");
	CHECK_STR(m.version, "True");
	CHECK_INT(m.format_version, 2);
	plugin_meta_destroy(&m);
	m = parse_ok("name: a\nnamespace: b\nversion: 1:30\n"
		     "depends:\n - {name: x, namespace: y}\ndebian_depends: [curl, jq]\n");
	CHECK_STR(m.version, "90");
	CHECK_INT(m.n_depends, 1);
	CHECK_STR(m.depends[0].name, "x");
	CHECK_INT(m.n_debian_depends, 2);
	CHECK_STR(m.debian_depends[1], "jq");
	plugin_meta_destroy(&m);

	char buf[64];
	y11_python_str("1.5e-5", Y11_FLOAT, buf, sizeof(buf));
	CHECK_STR(buf, "1.5e-05");
	y11_python_str("0.0001", Y11_FLOAT, buf, sizeof(buf));
	CHECK_STR(buf, "0.0001");
	y11_python_str("123456789012345678.0", Y11_FLOAT, buf, sizeof(buf));
	CHECK_STR(buf, "1.2345678901234568e+17");
	y11_python_str("0x1f", Y11_INT, buf, sizeof(buf));
	CHECK_STR(buf, "31");
	CHECK_INT(y11_resolve_plain("1e3"), Y11_STR);
	CHECK_INT(y11_resolve_plain("2024-01-01"), Y11_TIMESTAMP);
	CHECK_INT(y11_resolve_plain("Off"), Y11_BOOL);
}

static void test_errors(void)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	const char *t = "name: Hello\nnamespace: a-b\nplugin_format_version: 7\n";
	CHECK_INT(plugin_meta_parse(t, strlen(t), "25.17", &m, &r), -EINVAL);
	CHECK_INT(r.n, 4);
	CHECK_STR(r.e[0].field, "name");
	CHECK_STR(r.e[0].constraint_id, "regex");
	CHECK_STR(r.e[0].constraint, "^[a-z0-9-]+$");
	CHECK_STR(r.e[1].field, "namespace");
	CHECK_STR(r.e[2].field, "version");
	CHECK_STR(r.e[2].constraint_id, "required");
	CHECK_STR(r.e[3].constraint_id, "range");
	/* each error of a field in the file has the line of its value; a missing one none */
	CHECK_INT(r.e[0].line, 1);
	CHECK_INT(r.e[1].line, 2);
	CHECK_INT(r.e[2].line, 0);
	CHECK_INT(r.e[3].line, 3);
	struct strbuf shown = STRBUF_INIT;
	error_render_fields(&r, &shown);
	CHECK(shown.buf && strstr(shown.buf, "  namespace:\n") &&
	      strstr(shown.buf, "    line: 2\n"));
	strbuf_release(&shown);

	t = "name: a\n\tnamespace: b\n";
	CHECK_INT(plugin_meta_parse(t, strlen(t), "25.17", &m, &r), -EINVAL);
	CHECK(r.n > 0 && r.e);
	const char *field = r.n && r.e ? r.e[0].field : "",
		   *message = r.n && r.e ? r.e[0].message : "";
	CHECK_STR(field, "_yaml");
	CHECK(strstr(message, "line 2") != NULL);

	/* A billion-laughs document is refused before it is loaded: aliases are charged
	 * what they expand to (PyYAML copies them). */
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 30; i++) {
		strbuf_addf(&sb, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			strbuf_addf(&sb, "%s*a%d", j ? ", " : "", i - 1);
		strbuf_addf(&sb, "]\n");
	}
	strbuf_addf(&sb, "name: a\nnamespace: b\nversion: '1'\n");
	CHECK_INT(plugin_meta_parse(sb.buf, sb.len, "25.17", &m, &r), -EINVAL);
	CHECK_STR(r.e[0].field, "_yaml");
	CHECK(strstr(r.e[0].message, "aliases expand") != NULL);
	strbuf_release(&sb);

	/* depends and debian_depends are bounded: entries, and an entry's length */
	strbuf_addf(&sb, "name: a\nnamespace: b\nversion: '1'\ndebian_depends: [");
	for (int i = 0; i < PLUGIN_DEPENDS_MAX + 1; i++)
		strbuf_addf(&sb, "%sp%d", i ? ", " : "", i);
	strbuf_addf(&sb, "]\n");
	r.n = 0;
	CHECK_INT(plugin_meta_parse(sb.buf, sb.len, "25.17", &m, &r), 0);
	CHECK_INT(plugin_meta_check_limits(&m, &r), -EINVAL);
	CHECK(r.n && strcmp(r.e[0].field, "debian_depends") == 0);
	plugin_meta_destroy(&m);
	strbuf_release(&sb);
	strbuf_addf(&sb, "name: a\nnamespace: b\nversion: '1'\ndebian_depends: [p");
	for (int i = 0; i < PLUGIN_DEPEND_LEN_MAX; i++)
		strbuf_add(&sb, "x", 1);
	strbuf_addf(&sb, "]\n");
	r.n = 0;
	CHECK_INT(plugin_meta_parse(sb.buf, sb.len, "25.17", &m, &r), 0);
	CHECK_INT(plugin_meta_check_limits(&m, &r), -EINVAL);
	CHECK(r.n && strcmp(r.e[0].field, "debian_depends") == 0);
	CHECK(r.n && strstr(r.e[0].message, "longer than") != NULL);
	plugin_meta_destroy(&m);
	strbuf_release(&sb);
	strbuf_addf(&sb, "name: a\nnamespace: b\nversion: '1'\ndepends:\n");
	for (int i = 0; i < PLUGIN_DEPENDS_MAX + 1; i++)
		strbuf_addf(&sb, "  - {namespace: n, name: p%d}\n", i);
	r.n = 0;
	CHECK_INT(plugin_meta_parse(sb.buf, sb.len, "25.17", &m, &r), 0);
	CHECK_INT(plugin_meta_check_limits(&m, &r), -EINVAL);
	CHECK(r.n && strcmp(r.e[0].field, "depends") == 0);
	plugin_meta_destroy(&m);
	strbuf_release(&sb);

	/* 200000 nested sequences: no recursion blows the stack */
	strbuf_addf(&sb, "name: a\nnamespace: b\nversion: '1'\ndeep: ");
	for (int i = 0; i < 200000; i++)
		strbuf_add(&sb, "[", 1);
	for (int i = 0; i < 200000; i++)
		strbuf_add(&sb, "]", 1);
	strbuf_add(&sb, "\n", 1);
	int deep = plugin_meta_parse(sb.buf, sb.len, "25.17", &m, &r);
	CHECK(deep == 0 || (deep == -EINVAL && r.n == 1));
	if (deep == 0)
		plugin_meta_destroy(&m);
	strbuf_release(&sb);

	struct strbuf details = STRBUF_INIT;
	t = "name: a\nnamespace: B\nversion: '1'\n";
	plugin_meta_parse(t, strlen(t), "25.17", &m, &r);
	error_render_fields(&r, &details);
	CHECK_STR(details.buf, "  namespace:\n    constraint_id: regex\n"
			       "    constraint: '^[a-z0-9]+$'\n"
			       "    message: String does not match expected pattern.\n"
			       "    line: 2\n");
	strbuf_release(&details);
	error_release(&r);
}

static void test_version_cmp(void)
{
	int c;
	CHECK_INT(version_cmp("25.17", "25.2", &c), 0);
	CHECK(c > 0);
	CHECK_INT(version_cmp("1.0", "1.0.0", &c), 0);
	CHECK(c < 0);
	CHECK_INT(version_cmp("17.10", "17.10", &c), 0);
	CHECK_INT(c, 0);
	CHECK_INT(version_cmp("1.a", "1.2", &c), -EINVAL);
}

static void test_quote(void)
{
	char *q;
	CHECK_STR(q = y11_quote("2.5"), "'2.5'");
	free(q);
	CHECK_STR(q = y11_quote("yes"), "'yes'");
	free(q);
	CHECK_STR(q = y11_quote("0.0.1"), "0.0.1");
	free(q);
	CHECK_STR(q = y11_quote("it's: here"), "'it''s: here'");
	free(q);
	CHECK_STR(q = y11_quote("a\nb"), "\"a\\nb\"");
	free(q);
	CHECK_STR(q = y11_quote(""), "''");
	free(q);
}

int main(void)
{
	RUN(test_corpus);
	RUN(test_coercions);
	RUN(test_errors);
	RUN(test_version_cmp);
	RUN(test_quote);
	return CHECK_SUMMARY();
}
