/* Unit tests of core/yaml/yaml_doc (the one YAML loader: errors with their line, the
 * nesting limit, documents that follow, PyYAML's merge keys) and of the status file's
 * round trip through it (core/jobs/job_status). */
#include "base/strbuf.h"
#include "check.h"
#include "jobs/job_status.h"
#include "yaml/yaml_doc.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *get(const char *text, const char *key)
{
	static char value[256];
	yaml_document_t doc;
	struct error err = ERROR_INIT;
	value[0] = 0;
	if (ydoc_load(text, strlen(text), &doc, NULL, &err) == 0) {
		const char *v = ydoc_get_scalar(&doc, yaml_document_get_root_node(&doc), key);
		snprintf(value, sizeof(value), "%s", v ? v : "(absent)");
		yaml_document_delete(&doc);
	} else {
		snprintf(value, sizeof(value), "(error: %s)", err.msg.buf ? err.msg.buf : "");
	}
	error_release(&err);
	return value;
}

static void test_merge_keys(void)
{
	const char *base = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\n";
	char text[512];
	/* explicit keys win over merged ones, wherever they stand */
	snprintf(text, sizeof(text), "%sc: {<<: *a, x: 9}\n", base);
	yaml_document_t doc;
	struct error err = ERROR_INIT;
	CHECK_INT(ydoc_load(text, strlen(text), &doc, NULL, &err), 0);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *c = ydoc_get(&doc, root, "c");
	CHECK_STR(ydoc_get_scalar(&doc, c, "x"), "9");
	CHECK_STR(ydoc_get_scalar(&doc, c, "y"), "2");
	CHECK(ydoc_get(&doc, c, "z") == NULL);
	yaml_document_delete(&doc);
	/* a list of merges: the first that has the key */
	snprintf(text, sizeof(text), "%sc: {<<: [*b, *a]}\n", base);
	CHECK_INT(ydoc_load(text, strlen(text), &doc, NULL, &err), 0);
	root = yaml_document_get_root_node(&doc);
	c = ydoc_get(&doc, root, "c");
	CHECK_STR(ydoc_get_scalar(&doc, c, "y"), "3");
	CHECK_STR(ydoc_get_scalar(&doc, c, "x"), "1");
	CHECK_STR(ydoc_get_scalar(&doc, c, "z"), "4");
	yaml_document_delete(&doc);
	/* merges nest */
	CHECK_STR(get("a: &a {x: 1}\nb: &b {<<: *a}\n<<: *b\n", "x"), "1");
	/* the last of two explicit keys wins */
	CHECK_STR(get("k: 1\nk: 2\n", "k"), "2");
	CHECK_STR(get("k: 1\n", "missing"), "(absent)");
	error_release(&err);
}

static void test_merge_bomb_is_bounded(void)
{
	/* each level merges the previous one twice: 2^30 paths if expanded */
	struct strbuf t = STRBUF_INIT;
	strbuf_addf(&t, "l0: &l0 {k: v}\n");
	for (int i = 1; i <= 30; i++)
		strbuf_addf(&t, "l%d: &l%d {<<: [*l%d, *l%d]}\n", i, i, i - 1, i - 1);
	strbuf_addf(&t, "<<: *l30\n");
	/* refused before it is loaded, at the line where the expansion passes the budget */
	CHECK(strstr(get(t.buf, "missing"), "aliases expand the document past 1048576 bytes"));
	strbuf_release(&t);
	/* what PyYAML reads whole stays readable: a few aliases and a merge key */
	CHECK_STR(get("a: &a {x: 1}\nb: &b {<<: *a}\n<<: *b\n", "x"), "1");
	/* 5,000 aliases of a 200 KB scalar: a 200 KB file that would copy to 1 GB */
	strbuf_addf(&t, "big: &a ");
	for (int i = 0; i < 200000; i++)
		strbuf_add(&t, "x", 1);
	strbuf_addf(&t, "\nlist: [");
	for (int i = 0; i < 5000; i++)
		strbuf_addf(&t, "%s*a", i ? ", " : "");
	strbuf_addf(&t, "]\n");
	CHECK(strstr(get(t.buf, "list"), "aliases expand the document"));
	strbuf_release(&t);
}

static void test_errors_and_limits(void)
{
	yaml_document_t doc;
	struct error err = ERROR_INIT;
	const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
	CHECK_INT(ydoc_load(bad, strlen(bad), &doc, NULL, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "line ") != NULL);
	error_release(&err);
	/* nested deeper than the limit: refused before it is loaded */
	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < YDOC_DEPTH_MAX + 5; i++)
		strbuf_add(&deep, "[", 1);
	for (int i = 0; i < YDOC_DEPTH_MAX + 5; i++)
		strbuf_add(&deep, "]", 1);
	CHECK_INT(ydoc_load(deep.buf, deep.len, &doc, NULL, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "deep") != NULL);
	error_release(&err);
	strbuf_release(&deep);
	/* a document that follows is reported */
	int more = 0;
	const char *two = "a: 1\n---\nb: 2\n";
	CHECK_INT(ydoc_load(two, strlen(two), &doc, &more, &err), 0);
	CHECK_INT(more, 1);
	yaml_document_delete(&doc);
	CHECK_INT(ydoc_load("a: 1\n", 5, &doc, &more, &err), 0);
	CHECK_INT(more, 0);
	yaml_document_delete(&doc);
	/* JSON is YAML */
	CHECK_STR(get("{\"k\": \"v\", \"n\": [1]}", "k"), "v");
	error_release(&err);
}

static void test_status_round_trip(void)
{
	struct job_status st, back;
	job_status_init(&st);
	st.state = JOB_STATE_ERROR;
	st.step = STEP_BUILDING;
	snprintf(st.ns, sizeof(st.ns), "demo");
	snprintf(st.name, sizeof(st.name), "hello");
	snprintf(st.version, sizeof(st.version), "1.0"); /* a float to YAML 1.1 if unquoted */
	snprintf(st.package, sizeof(st.package), "wazo-plugind-hello-demo");
	snprintf(st.waiting, sizeof(st.waiting), "yes"); /* a bool if unquoted */
	job_status_fail(&st, "install-error", "Installation error", NULL,
			"rules build exited 2: 'quote' \"dq\" # not a comment: %s", "x");
	struct strbuf sb = STRBUF_INIT;
	job_status_render(&st, &sb);
	CHECK_INT(job_status_parse(sb.buf, sb.len, &back), 0);
	CHECK_INT(back.state, st.state);
	CHECK_INT(back.step, st.step);
	CHECK_STR(back.ns, st.ns);
	CHECK_STR(back.name, st.name);
	CHECK_STR(back.version, "1.0");
	CHECK_STR(back.package, st.package);
	CHECK_STR(back.waiting, "yes");
	CHECK_STR(back.error_id, "install-error");
	CHECK_STR(back.message, "Installation error");
	CHECK_STR(back.reason, st.reason);
	/* and the rendering of what was read back is the same text */
	struct strbuf again = STRBUF_INIT;
	job_status_render(&back, &again);
	CHECK_STR(again.buf, sb.buf);
	job_status_destroy(&st);
	job_status_destroy(&back);
	strbuf_release(&sb);
	strbuf_release(&again);
}

int main(void)
{
	RUN(test_merge_keys);
	RUN(test_merge_bomb_is_bounded);
	RUN(test_errors_and_limits);
	RUN(test_status_round_trip);
	return CHECK_SUMMARY();
}
