/* Hostile input for the pure parsers: the files of tests/data/hostile, generated bombs,
 * and status values holding any bytes. Every parse runs under an alarm, so a hang fails
 * the test instead of stalling it. */
#include "base/strbuf.h"
#include "check.h"
#include "jobs/job_status.h"
#include "plugin/install_request.h"
#include "plugin/market.h"
#include "plugin/plugin_meta.h"
#include "status_round_trip.h"
#include "yaml/yaml11.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char *data_dir(void)
{
	const char *d = getenv("WAZOFS_HOSTILE");
	return d ? d : "tests/data/hostile";
}

/* Parses text as plugin.yml; returns the rc, fills m and r. */
static int parse(const char *text, size_t len, struct plugin_meta *m, struct error *r)
{
	error_release(r); /* what an earlier parse refused */
	check_bound(10);
	int rc = plugin_meta_parse(text, len, "25.17", m, r);
	check_bound(0);
	return rc;
}

static int parse_file(const char *name, struct plugin_meta *m, struct error *r)
{
	char path[512];
	struct strbuf sb = STRBUF_INIT;
	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	int rc = strbuf_read_file(&sb, path, PLUGIN_YML_MAX);
	CHECK_INT(rc, 0);
	rc = parse(sb.buf ? sb.buf : "", sb.len, m, r);
	strbuf_release(&sb);
	return rc;
}

/* wazo-plugind's schema accepts any length; wazofs's own limits then refuse. */
static int limits_of(const char *name, struct error *r)
{
	struct plugin_meta m;
	CHECK_INT(parse_file(name, &m, r), 0);
	error_release(r);
	int rc = plugin_meta_check_limits(&m, r);
	plugin_meta_destroy(&m);
	return rc;
}

static int report_has(const struct error *r, const char *field, const char *cid)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->e[i].field, field) == 0 && strcmp(r->e[i].constraint_id, cid) == 0)
			return 1;
	return 0;
}

static void test_plugin_yml_files(void)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;

	/* 16 levels of `<<: [*a x8]`: refused before it is loaded (PyYAML, which copies
	 * what aliases name, would never finish reading it: wazo-plugind listing the
	 * installed plugin would hang) */
	CHECK_INT(parse_file("merge-bomb.yml", &m, &r), -EINVAL);
	CHECK(r.n && strstr(r.e[0].message, "aliases expand") != NULL);
	error_release(&r);
	error_release(&r);

	/* sexagesimal ints of any size read as Python reads them */
	CHECK_INT(parse_file("sexagesimal-version.yml", &m, &r), 0);
	CHECK_STR(m.version, "13264435183244001473986560000000000000000000000000000002");
	plugin_meta_destroy(&m);

	CHECK_INT(parse_file("long-float-version.yml", &m, &r), 0);
	CHECK_STR(m.version, "1.1111111111111112");
	plugin_meta_destroy(&m);

	/* int(nan), int(-inf): not a valid integer (and no undefined cast) */
	CHECK_INT(parse_file("nan-format.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "plugin_format_version", "type"));
	CHECK_INT(parse_file("inf-format.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "plugin_format_version", "type"));
	/* an int too large for 64 bits is out of range, as in Python */
	CHECK_INT(parse_file("huge-int-format.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "plugin_format_version", "range"));

	/* bytes YAML cannot hold are a YAML error with a position */
	CHECK_INT(parse_file("invalid-utf8.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "_yaml", "yaml"));
	CHECK_INT(parse_file("nul-bytes.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "_yaml", "yaml"));
	CHECK_INT(parse_file("binary.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "_yaml", "yaml"));
	CHECK_INT(parse_file("two-documents.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "_yaml", "yaml"));

	/* nesting past the limit is refused naming where */
	CHECK_INT(parse_file("deep-nesting.yml", &m, &r), -EINVAL);
	CHECK(report_has(&r, "_yaml", "yaml"));
	CHECK(strstr(r.e[0].message, "nested deeper than") != NULL);
	CHECK(strstr(r.e[0].message, "line 4") != NULL);

	/* names the mount could not show are refused before anything runs */
	CHECK_INT(limits_of("c1-controls.yml", &r), -EINVAL); /* valid YAML, no dpkg version */
	CHECK(report_has(&r, "version", "regex"));
	CHECK_INT(limits_of("long-name.yml", &r), -EINVAL);
	CHECK(report_has(&r, "name", "range"));
	CHECK_INT(limits_of("long-namespace.yml", &r), -EINVAL);
	CHECK(report_has(&r, "namespace", "range"));
	const char *sum =
	    "name: n123456789n123456789n123456789n123456789n123456789n123456789n123456"
	    "789n123456789n123456789n123456789\nnamespace: s123456789s123456789s12345"
	    "6789s123456789s123456789s12\nversion: 1123456789v123456789v123456789v123"
	    "456789v123456789v123456789v123456789v123456789v123456789v1234\n";
	CHECK_INT(parse(sum, strlen(sum), &m, &r), 0);
	error_release(&r);
	CHECK_INT(plugin_meta_check_limits(&m, &r), -EINVAL); /* each fits, the file name not */
	plugin_meta_destroy(&m);
	CHECK(report_has(&r, "name", "range"));
	error_release(&r);
}

/* The packageable check of a plugin.yml given as text: 0, or -EINVAL with r filled. */
static int packageable(const char *yml, struct error *r)
{
	struct plugin_meta m;
	int rc = parse(yml, strlen(yml), &m, r);
	if (rc)
		return 1000 + rc; /* not even valid for wazo-plugind's schema */
	error_release(r);
	rc = plugin_meta_check_limits(&m, r);
	plugin_meta_destroy(&m);
	return rc;
}

/* Metadata that would inject a control field, or name another plugin wrongly (issue 9,
 * defect 3): refused at validating, naming the field. */
static void test_injection(void)
{
	struct error r = ERROR_INIT;
	static const char *const bad_debian[] = { "[\"x\\nProtected: yes\"]",
						  "[\"x\\nEssential: yes\"]",
						  "[\"x\\nPre-Depends: evil\"]",
						  "[\"x, y\"]",
						  "[\"x (>= 1\\n)\"]",
						  "[\"x\\rConflicts: y\"]",
						  "[\"Upper\"]",
						  "[\"x (=> 1)\"]",
						  "[\"x (>= )\"]",
						  "[\"-x\"]",
						  "[\"x |\"]" };
	for (size_t i = 0; i < sizeof(bad_debian) / sizeof(bad_debian[0]); i++) {
		char yml[256];
		snprintf(yml, sizeof(yml),
			 "name: a\nnamespace: b\nversion: '1'\ndebian_depends: %s\n",
			 bad_debian[i]);
		int rc = packageable(yml, &r);
		if (rc != -EINVAL || !report_has(&r, "debian_depends", "regex"))
			fprintf(stderr, "  debian_depends %s: %d\n", bad_debian[i], rc);
		CHECK(rc == -EINVAL && report_has(&r, "debian_depends", "regex"));
	}
	static const char *const good_debian[] = {
		"[python3-requests, \"wazo-auth (>= 21.1)\", \"aa | bb (<< 2:1.0-1~b1)\"]",
		"[\"libc6:amd64 (= 2.36-9) [amd64] <!nocheck>\"]"
	};
	for (size_t i = 0; i < 2; i++) {
		char yml[256];
		snprintf(yml, sizeof(yml),
			 "name: a\nnamespace: b\nversion: '1'\ndebian_depends: %s\n",
			 good_debian[i]);
		int rc = packageable(yml, &r);
		if (rc)
			fprintf(stderr, "  %s: %s\n", good_debian[i], r.e[0].message);
		CHECK_INT(rc, 0);
	}
	/* a version with a Debian revision is a dpkg version */
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: 1.2-3\n", &r), 0);
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: 1:1.2-rc-3~b1\n", &r), 0);
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: 1.2-\n", &r), -EINVAL);
	/* depends: each name and namespace by the plugin name rules */
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: '1'\ndepends:\n"
			      "  - {name: \"x\\nProtected: yes\", namespace: b}\n",
			      &r),
		  -EINVAL);
	CHECK(report_has(&r, "depends", "regex"));
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: '1'\ndepends:\n"
			      "  - {name: x, namespace: \"../b\"}\n",
			      &r),
		  -EINVAL);
	CHECK(report_has(&r, "depends", "regex"));
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: '1'\ndepends:\n"
			      "  - {name: x, namespace: b, version: \"1\\nX: y\"}\n",
			      &r),
		  -EINVAL);
	CHECK(report_has(&r, "depends", "regex"));
	CHECK_INT(packageable("name: a\nnamespace: b\nversion: '1'\ndepends:\n"
			      "  - {name: x, namespace: b, version: '>= 1.0'}\n",
			      &r),
		  0);
	/* a trailing newline passes Python's `$` (wazo-plugind's schema), never a package
	 * name; checked on the parsed fields whatever the YAML loader kept */
	char name[] = "a\n", ns[] = "b", nsnl[] = "b\n", version[] = "1";
	struct plugin_meta m = { .name = name, .namespace = ns, .version = version };
	error_release(&r);
	CHECK_INT(plugin_meta_check_limits(&m, &r), -EINVAL);
	CHECK(report_has(&r, "name", "regex"));
	m.name = version;
	m.namespace = nsnl;
	error_release(&r);
	CHECK_INT(plugin_meta_check_limits(&m, &r), -EINVAL);
	CHECK(report_has(&r, "namespace", "regex"));
	error_release(&r);
}

/* A document nested 80,000 levels deep (160 KB): refused at the first levels. */
static void test_generated_bombs(void)
{
	size_t depth = 80000;
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "name: deep\nnamespace: demo\nversion: 1\nd: ");
	for (size_t i = 0; i < depth; i++)
		strbuf_add(&sb, "[", 1);
	for (size_t i = 0; i < depth; i++)
		strbuf_add(&sb, "]", 1);
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	CHECK_INT(parse(sb.buf, sb.len, &m, &r), -EINVAL);
	CHECK(report_has(&r, "_yaml", "yaml"));
	strbuf_release(&sb);

	/* a market of 500,000 `[` and one made of merge keys: an error, or an index, fast */
	char path[] = "/tmp/wazofs-hostile-market.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	for (int i = 0; i < 500000 / 1000; i++) {
		char b[1000];
		memset(b, '[', sizeof(b));
		CHECK(write(fd, b, sizeof(b)) == (ssize_t)sizeof(b));
	}
	close(fd);
	struct market *mk = NULL;
	struct error err = ERROR_INIT;
	check_bound(10);
	CHECK_INT(market_load(path, &mk, &err), -EINVAL);
	check_bound(0);
	CHECK(err.msg.buf && strstr(err.msg.buf, "nested deeper than"));
	error_release(&err);

	FILE *f = fopen(path, "w");
	fprintf(f, "a0: &a0 {x: 1}\n");
	for (int i = 1; i <= 16; i++)
		fprintf(f, "a%d: &a%d {<<: [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]}\n", i,
			i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	fprintf(f, "<<: *a16\n");
	fclose(f);
	check_bound(10);
	int rc = market_load(path, &mk, &err);
	check_bound(0);
	CHECK_INT(rc, -EINVAL); /* no items: refused, after a bounded lookup */
	error_release(&err);
	unlink(path);

	/* an install request made of merge keys */
	struct install_request req;
	const char *reqtext =
	    "a: &a {x: 1}\nb: &b {<<: [*a, *a, *a, *a]}\nc: &c {<<: [*b, *b, *b, *b]}\n"
	    "<<: *c\nmethod: market\noptions: {namespace: demo, name: x}\n";
	check_bound(10);
	CHECK_INT(install_request_parse(reqtext, strlen(reqtext), &req, &err), 0);
	check_bound(0);
	CHECK_STR(req.name, "x");
	error_release(&err);
	error_release(&r);
}

static void test_status_any_bytes(void)
{
	CHECK(status_round_trip("C1 \xc2\x85 NEL, \xc2\x9b CSI, \xe2\x80\xa8 LS, \xe2\x80\xa9 PS"));
	CHECK(status_round_trip("invalid \xff\xfe bytes \xc3"));
	CHECK(status_round_trip("BOM \xef\xbb\xbf and \xef\xbf\xbe"));
	CHECK(status_round_trip("escape \x1b[31m red \x7f"));
	CHECK(status_round_trip("surrogate \xed\xa0\x80 overlong \xc0\xaf"));
	/* a reason that quotes a "details:" line, and one past the field's size in 2-byte
	 * characters: both come back as they were */
	CHECK(status_round_trip("a reason\ndetails:\n  evil: 1\nend"));
	char wide[1600] = "";
	for (int i = 0; i < 700; i++)
		strcat(wide, "\xc3\xa9");
	CHECK(status_round_trip(wide));
	struct job_status ws;
	job_status_init(&ws);
	job_status_fail(&ws, "install-error", "Installation error", NULL, "%s", wide);
	CHECK_INT((int)strlen(ws.reason), 1022); /* whole characters only: no half of one */
	struct strbuf wr = STRBUF_INIT;
	job_status_render(&ws, &wr);
	CHECK(wr.buf && !strstr(wr.buf, "\xef\xbf\xbd")); /* no U+FFFD */
	strbuf_release(&wr);
	job_status_destroy(&ws);
	/* a valid saved status whose quoted reason spans a "details:" line: the details
	 * read back are the real ones */
	const char *saved = "state: error\nstep: validating\nerror_id: validation-error\n"
			    "message: Validation error\nreason: 'first\ndetails:\n  evil: x'\n"
			    "details:\n  name:\n    constraint_id: regex\n    constraint: x\n"
			    "    message: bad\n";
	struct job_status sback;
	CHECK_INT(job_status_parse(saved, strlen(saved), &sback), 0);
	CHECK(sback.details && strstr(sback.details, "  name:\n    constraint_id: regex\n"));
	CHECK(sback.details && !strstr(sback.details, "evil"));
	job_status_destroy(&sback);
	/* a UTF-8 sequence cut by a fixed-size field: é at the last byte of name[128] */
	char cut[300];
	memset(cut, 'a', sizeof(cut));
	for (size_t i = 120; i + 1 < sizeof(cut); i += 2)
		cut[i] = '\xc3', cut[i + 1] = '\xa9';
	cut[sizeof(cut) - 1] = 0;
	CHECK(status_round_trip(cut));
	/* a saved status is read within its length (found by fuzz_status: a heap overflow) */
	{
		static const char text[] = "name:\ndetails:\nespace: demo\nversion: 2\n";
		char *exact = malloc(sizeof(text) - 1); /* no NUL after it */
		memcpy(exact, text, sizeof(text) - 1);
		struct job_status back;
		job_status_parse(exact, sizeof(text) - 1, &back);
		/* details is read through the parser: here it is empty */
		CHECK(back.details == NULL);
		job_status_destroy(&back);
		free(exact);
	}
	/* every byte value, in random strings */
	unsigned seed = 12345;
	int all = 1;
	for (int n = 0; n < 3000; n++) {
		char s[64];
		size_t len = (size_t)(rand_r(&seed) % 63);
		for (size_t i = 0; i < len; i++)
			s[i] = (char)(1 + rand_r(&seed) % 255);
		s[len] = 0;
		all &= status_round_trip(s);
	}
	CHECK(all);
	/* quoting keeps printable text intact */
	char *q = y11_quote("café \xe2\x82\xac");
	CHECK_STR(q, "café \xe2\x82\xac");
	free(q);
	CHECK_STR(q = y11_quote("a\xc2\x85z"), "\"a\\x85z\"");
	free(q);
	CHECK_STR(q = y11_quote("a\xe2\x80\xa8z"), "\"a\\u2028z\"");
	free(q);
	CHECK_STR(q = y11_quote("a\xffz"), "\"a\\uFFFDz\"");
	free(q);
}

int main(void)
{
	RUN(test_plugin_yml_files);
	RUN(test_injection);
	RUN(test_generated_bombs);
	RUN(test_status_any_bytes);
	return CHECK_SUMMARY();
}
