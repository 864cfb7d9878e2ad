/* Unit tests of core/market and core/install_request: the wazo market format read with
 * libyaml, version picking against the running Wazo version, the info file, and
 * install bodies. */
#include "base/fsutil.h"
#include "check.h"
#include "plugin/install_request.h"
#include "plugin/market.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static const char market_json[] =
    "{\"items\": [\n"
    " {\"namespace\": \"acme\", \"name\": \"hello\", \"display_name\": \"Hello: world\",\n"
    "  \"tags\": [\"a\", \"yes\"], \"author\": {\"name\": \"x\"},\n"
    "  \"versions\": [\n"
    "   {\"version\": \"1.2.0\", \"method\": \"git\", \"min_wazo_version\": \"25.2\",\n"
    "    \"options\": {\"url\": \"https://example.invalid/hello\", \"ref\": \"v1.2.0\"}},\n"
    "   {\"version\": \"1.10.0\", \"method\": \"git\", \"min_wazo_version\": \"26.1\",\n"
    "    \"options\": {\"url\": \"https://example.invalid/hello\", \"ref\": \"v1.10.0\",\n"
    "                \"subdirectory\": \"plugin\"}},\n"
    "   {\"version\": \"1.9.0\", \"method\": \"git\", \"max_wazo_version\": \"25.17\",\n"
    "    \"options\": {\"url\": \"https://example.invalid/hello\"}}]},\n"
    " {\"namespace\": \"acme\", \"name\": \"empty\", \"versions\": []}]}\n";

static struct market *load(const char *text, struct error *err)
{
	char path[] = "/tmp/wazofs-unit-market.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	close(fd);
	write_file_atomic(path, text, strlen(text), 0644);
	struct market *m = NULL;
	if (market_load(path, &m, err))
		m = NULL;
	unlink(path);
	return m;
}

static void test_market(void)
{
	struct error err = ERROR_INIT;
	struct market *m = load(market_json, &err);
	CHECK(m != NULL);
	if (!m) {
		fprintf(stderr, "  %s\n", err.msg.buf);
		return;
	}
	CHECK_INT(m->n_items, 2);
	const struct market_item *it = market_find(m, "acme", "hello");
	CHECK(it != NULL && it->n_versions == 3);
	CHECK(market_find(m, "acme", "nope") == NULL);
	/* 1.10.0 needs 26.1: on 25.17 the newest installable is 1.9.0 (versions, not text) */
	const struct market_version *v = market_pick(it, "25.17", NULL);
	CHECK_STR(v ? v->version : NULL, "1.9.0");
	v = market_pick(it, "26.1", NULL);
	CHECK_STR(v ? v->version : NULL, "1.10.0");
	CHECK_STR(v ? v->subdirectory : NULL, "plugin");
	v = market_pick(it, "25.17", "1.2.0");
	CHECK_STR(v ? v->ref : NULL, "v1.2.0");
	CHECK(market_pick(market_find(m, "acme", "empty"), "25.17", NULL) == NULL);

	struct strbuf info = STRBUF_INIT;
	market_info_render(it, "1.2.0", "25.17", &info);
	CHECK(info.buf && strstr(info.buf, "display_name: 'Hello: world'\n"));
	CHECK(info.buf && strstr(info.buf, "tags:\n  - a\n  - 'yes'\n"));
	CHECK(info.buf && strstr(info.buf, "installed_version: 1.2.0\n"));
	CHECK(info.buf && strstr(info.buf, "  - version: 1.2.0\n    method: git\n"
					   "    min_wazo_version: '25.2'\n"
					   "    installable: true\n    upgradable: false\n"));
	CHECK(info.buf && strstr(info.buf, "  - version: 1.10.0\n    method: git\n"
					   "    min_wazo_version: '26.1'\n"
					   "    installable: false\n    upgradable: false\n"));
	CHECK(info.buf && strstr(info.buf, "  - version: 1.9.0\n    method: git\n"
					   "    max_wazo_version: '25.17'\n"
					   "    installable: true\n    upgradable: true\n"));
	CHECK(info.buf && !strstr(info.buf, "author"));
	strbuf_release(&info);
	market_info_render(market_find(m, "acme", "empty"), NULL, "25.17", &info);
	CHECK(info.buf && strstr(info.buf, "installed_version: null\nversions: []\n"));
	strbuf_release(&info);
	market_free(m);

	error_release(&err);
	CHECK(load("{\"items\": [{\"name\": \"x\"}]}", &err) == NULL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "needs namespace, name and a list of versions"));
	error_release(&err);
	CHECK(load("{\"items\": [", &err) == NULL);
	CHECK(err.msg.buf &&
	      strstr(err.msg.buf, ": line 2 column 1: did not find expected node content"));
	error_release(&err);
}

static void test_requests(void)
{
	struct install_request r;
	struct error err = ERROR_INIT;
	const char *t = "method: git\noptions: {url: 'file:///x', ref: main, subdirectory: p}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), 0);
	CHECK_STR(r.method, "git");
	CHECK_STR(r.url, "file:///x");
	CHECK_STR(r.subdirectory, "p");
	CHECK_INT(r.reinstall, 0);
	t = "{\"method\": \"market\", \"options\": {\"namespace\": \"a\", \"name\": \"b\"}, "
	    "\"reinstall\": true}";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), 0);
	CHECK_STR(r.ns, "a");
	CHECK_STR(r.version, "");
	CHECK_INT(r.reinstall, 1);
	t = "method: git\noptions: {ref: main}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "options.url is required"));
	error_release(&err);
	t = "method: svn\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), -EINVAL);
	error_release(&err);
	/* method apt: names and version end up on apt-get's command line */
	t = "method: apt\noptions: {namespace: demo, name: hello-world, version: '1:2.0-1'}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), 0);
	CHECK_STR(r.method, "apt");
	CHECK_STR(r.name, "hello-world");
	CHECK_STR(r.version, "1:2.0-1");
	t = "method: apt\noptions: {namespace: demo, name: x}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), 0);
	CHECK_STR(r.version, "");
	t = "method: apt\noptions: {namespace: demo, name: x, version: --force-yes}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "not a Debian version"));
	error_release(&err);
	t = "method: apt\noptions: {namespace: 'de mo', name: x}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "options.namespace"));
	error_release(&err);
	t = "method: apt\noptions: {namespace: demo}\n";
	CHECK_INT(install_request_parse(t, strlen(t), &r, &err), -EINVAL);
	CHECK(err.msg.buf && strstr(err.msg.buf, "options.name is required"));
	CHECK(install_request_name("x.yml") && install_request_name("x.yaml"));
	CHECK(!install_request_name("x.yml.tar"));
	error_release(&err);
}

/* Credentials in URLs never reach a log or a status (issue 9, defect 6). */
static void test_redact(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "https://TOKEN@github.com/a/b.git", "https://***@github.com/a/b.git" },
		{ "https://user:pass@host:8443/x", "https://***@host:8443/x" },
		{ "fatal: repository 'https://u:p@h/r/' not found\nssh://git@h/r and "
		  "https://h/r?a=b@c",
		  "fatal: repository 'https://***@h/r/' not found\nssh://***@h/r and "
		  "https://h/r?a=b@c" },
		{ "file:///root/repo", "file:///root/repo" },
		{ "no url here: a@b", "no url here: a@b" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		url_redact(cases[i].in, strlen(cases[i].in), &sb);
		CHECK_STR(sb.buf ? sb.buf : "", cases[i].want);
		strbuf_release(&sb);
	}
}

int main(void)
{
	RUN(test_market);
	RUN(test_requests);
	RUN(test_redact);
	return CHECK_SUMMARY();
}
