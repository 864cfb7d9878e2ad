/* Unit tests of the job pipeline and the core state without any mount: core/ used as a
 * library against a sandbox dpkg root, with the real dpkg, dpkg-deb and fakeroot. */
#include "base/fsutil.h"
#include "base/subproc.h"
#include "check.h"
#include "daemon/daemon.h"
#include "jobs/job.h"
#include "jobs/pipeline.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256], root[300], state[300], stub_log[300];

static int sh(const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct subproc sp = { .argv = argv, .log_fd = 2 };
	return subproc_run(&sp);
}

static void setup(void)
{
	char cmd[2048];
	snprintf(tmp, sizeof(tmp), "/tmp/wazofs-unit-pipeline.XXXXXX");
	if (!mkdtemp(tmp) || chmod(tmp, 0711) < 0) /* the build user crosses it */
		exit(2);
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(state, sizeof(state), "%s/state", tmp);
	snprintf(stub_log, sizeof(stub_log), "%s/asterisk.log", tmp);
	/* the stub must be on the PATH children get: set before subproc first reads it */
	char path[4096];
	snprintf(path, sizeof(path), "%s/stub:%s", tmp, getenv("PATH"));
	setenv("PATH", path, 1);
	CHECK(snprintf(cmd, sizeof(cmd),
		       "mkdir -p %s/var/lib/dpkg/info %s/var/lib/dpkg/updates %s/stub && "
		       "touch %s/var/lib/dpkg/status && "
		       "printf '#!/bin/sh\\necho \"$*\" >> %s\\n' > %s/stub/asterisk && "
		       "chmod +x %s/stub/asterisk",
		       root, root, tmp, root, stub_log, tmp, tmp) < (int)sizeof(cmd));
	if (sh(cmd))
		exit(2);
}

static int no_plugin(void *ctx, const char *ns, const char *name, char *ver, size_t len)
{
	(void)ctx, (void)ns, (void)name, (void)ver, (void)len;
	return -ENOENT;
}
static void nothing(void *ctx)
{
	(void)ctx;
}
static int no_market(void *ctx, const char *ns, const char *name, struct name_list *chain,
		     struct error *err)
{
	(void)ctx, (void)chain;
	error_addf(err, "%s/%s: no market here", ns, name);
	return -ENOENT;
}

/* the running Wazo version: the one the test's config gives */
static void fixed_wazo(void *ctx, char *out, size_t len)
{
	(void)ctx;
	snprintf(out, len, "25.17");
}

static const struct pipeline_host host = { no_plugin, nothing, no_market, fixed_wazo };

/* A plugin t/NAME at tmp/NAME whose `rules build` runs build (a shell snippet); fills
 * src, log and work paths for a direct pipeline run. */
static void write_plugin(const char *name, const char *build, char *src, char *log, char *work)
{
	char cmd[2048];
	snprintf(src, 512, "%s/%s", tmp, name);
	snprintf(log, 512, "%s/%s.log", tmp, name);
	snprintf(work, 512, "%s/work", tmp);
	snprintf(
	    cmd, sizeof(cmd),
	    "mkdir -p %s/wazo && printf 'name: %s\\nnamespace: t\\nversion: 1\\n' > "
	    "%s/wazo/plugin.yml && "
	    "printf '#!/bin/sh\\n[ \"$1\" = build ] && { %s; }\\nexit 0\\n' > %s/wazo/rules && "
	    "chmod +x %s/wazo/rules",
	    src, name, src, build, src, src);
	CHECK_INT(sh(cmd), 0);
}

static void test_failing_build_direct(struct wazofs_config *cfg)
{
	char src[512], log[512], work[512];
	write_plugin("bad", "echo build-output; exit 7", src, log, work);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, pkg = PTHREAD_MUTEX_INITIALIZER;
	struct pipeline_env env = { cfg, &pkg, &host, NULL };
	struct job *job = job_new(&lock, JOB_INSTALL, "bad", log);
	CHECK(job != NULL);
	if (!job)
		return;
	CHECK(pipeline_install(job, &env, &(struct install_source){ .path = src }, work, 0, NULL) <
	      0);
	CHECK_STR(job_state_name(job->st.state), "error");
	CHECK_STR(job_step_name(job->st.step), "building");
	CHECK_STR(job->st.error_id, "install-error");
	CHECK(strstr(job->st.reason, "status 7") != NULL);
	CHECK_STR(job->st.ns, "t");
	CHECK(access(work, F_OK) < 0); /* the work dir is cleaned */
	CHECK(access(src, F_OK) == 0); /* the source stays */
	job_free(job);
	struct strbuf sb = STRBUF_INIT;
	CHECK_INT(strbuf_read_file(&sb, log, 1 << 20), 0);
	CHECK(sb.buf && strstr(sb.buf, "build-output") && strstr(sb.buf, "== building"));
	strbuf_release(&sb);
}

static void test_hanging_rules_are_killed(struct wazofs_config *cfg)
{
	char src[512], log[512], work[512];
	write_plugin("hang", "sleep 600 & sleep 600", src, log, work);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, pkg = PTHREAD_MUTEX_INITIALIZER;
	struct wazofs_config c = *cfg;
	c.job_timeout = 1;
	struct pipeline_env env = { &c, &pkg, &host, NULL };
	struct job *job = job_new(&lock, JOB_INSTALL, "hang", log);
	CHECK(job != NULL);
	if (!job)
		return;
	time_t t0 = time(NULL);
	CHECK(pipeline_install(job, &env, &(struct install_source){ .path = src }, work, 0, NULL) <
	      0);
	CHECK(time(NULL) - t0 < 10);
	CHECK_STR(job_step_name(job->st.step), "building");
	CHECK(strstr(job->st.reason, "did not finish within 1 seconds") != NULL);
	job_free(job);
}

/* A host whose answer to "is t/late installed?" comes with a cancel (rm -r of the plugin
 * while the job validates), and which counts the dependency installs it is asked for. */
static struct job *cancel_job;
static int dependency_installs;

static int cancel_when_asked(void *ctx, const char *ns, const char *name, char *ver, size_t len)
{
	(void)ns, (void)len;
	if (cancel_job && strcmp(name, "late") == 0)
		cancel_request(&cancel_job->cancel);
	return no_plugin(ctx, ns, name, ver, len);
}

static int count_dependency(void *ctx, const char *ns, const char *name, struct name_list *chain,
			    struct error *err)
{
	dependency_installs++;
	return no_market(ctx, ns, name, chain, err);
}

/* A cancel is looked for before every step: one that comes while the plugin is validated
 * stops the job there, before any dependency is installed or anything built. */
static void test_cancel_between_steps(struct wazofs_config *cfg)
{
	char src[512], log[512], work[512], marker[600], cmd[1200];
	snprintf(marker, sizeof(marker), "%s/late-built", tmp);
	snprintf(cmd, sizeof(cmd), "touch %s", marker);
	write_plugin("late", cmd, src, log, work);
	snprintf(cmd, sizeof(cmd),
		 "printf 'depends:\n  - name: other\n    namespace: t\n' >> %s/wazo/plugin.yml",
		 src);
	CHECK_INT(sh(cmd), 0);
	static const struct pipeline_host cancelling = { cancel_when_asked, nothing,
							 count_dependency, fixed_wazo };
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, pkg = PTHREAD_MUTEX_INITIALIZER;
	struct pipeline_env env = { cfg, &pkg, &cancelling, NULL };
	struct job *job = job_new(&lock, JOB_INSTALL, "late", log);
	CHECK(job != NULL);
	if (!job)
		return;
	cancel_job = job;
	dependency_installs = 0;
	CHECK_INT(
	    pipeline_install(job, &env, &(struct install_source){ .path = src }, work, 0, NULL),
	    -ECANCELED);
	CHECK_STR(job_state_name(job->st.state), "error");
	CHECK_STR(job_step_name(job->st.step), "validating");
	CHECK(strstr(job->st.reason, "cancelled") != NULL);
	CHECK_INT(dependency_installs, 0);
	CHECK(access(marker, F_OK) < 0); /* nothing was built */
	CHECK(access(work, F_OK) < 0);
	cancel_job = NULL;
	job_free(job);
}

/* A work dir whose path leaves no room for the names the pipeline makes in it is an
 * error that says so, never a path cut short (it was cut: "WORK/sr" for WORK/src). */
static void test_work_dir_too_long(struct wazofs_config *cfg)
{
	char src[512], log[512], work[512];
	write_plugin("deep", "true", src, log, work);
	static char deep[PATH_MAX];
	size_t n = (size_t)snprintf(deep, sizeof(deep), "%s", tmp);
	while (n + 201 < PATH_MAX - 10) /* components of 200, then one to PATH_MAX - 10 */
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "/%0200d", 0);
	snprintf(deep + n, sizeof(deep) - n, "/%0*d", (int)(PATH_MAX - 11 - n), 0);
	CHECK_INT(strlen(deep), PATH_MAX - 10);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, pkg = PTHREAD_MUTEX_INITIALIZER;
	struct pipeline_env env = { cfg, &pkg, &host, NULL };
	struct job *job = job_new(&lock, JOB_INSTALL, "deep", log);
	CHECK(job != NULL);
	if (!job)
		return;
	CHECK_INT(
	    pipeline_install(job, &env, &(struct install_source){ .path = src }, deep, 0, NULL),
	    -ENAMETOOLONG);
	CHECK_STR(job_state_name(job->st.state), "error");
	CHECK(strstr(job->st.reason, "path is too long") != NULL);
	job_free(job);
}

static int status_has(struct daemon *p, const char *ns, const char *name, const char *needle)
{
	struct view v;
	if (daemon_view_open(p, ns, name, "status", &v))
		return 0;
	int found = v.buf && strstr(v.buf, needle) != NULL;
	view_release(&v);
	return found;
}

static void test_core_installs_and_removes(struct wazofs_config *cfg)
{
	struct daemon *p;
	struct error err = ERROR_INIT;
	CHECK_INT(daemon_new(&p, cfg, &err), 0);
	CHECK_INT(daemon_start(p), 0);
	char cmd[2048];
	char *ex = realpath("examples/helloworld", NULL);
	snprintf(cmd, sizeof(cmd), "cp -r %s %s/", ex, daemon_incoming_dir(p));
	free(ex);
	CHECK_INT(sh(cmd), 0);
	daemon_incoming_touch(p, "helloworld", 0);
	int installed = 0;
	for (int i = 0; i < 300 && !installed; i++) {
		installed = status_has(p, "demo", "helloworld", "state: installed");
		usleep(100000);
	}
	CHECK(installed);
	snprintf(
	    cmd, sizeof(cmd),
	    "dpkg-query --admindir=%s/var/lib/dpkg -W -f '${Section}' wazo-plugind-helloworld-demo "
	    "| grep -qx wazo-plugind-plugin",
	    root);
	CHECK_INT(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "grep -qx -- '-rx dialplan reload' %s", stub_log);
	CHECK_INT(sh(cmd), 0);
	struct name_list l = { 0 };
	CHECK_INT(daemon_list_namespaces(p, &l), 0);
	CHECK(name_list_has(&l, "demo"));
	name_list_free(&l);
	CHECK_INT(daemon_remove(p, "demo", "helloworld"), 0);
	CHECK(!status_has(p, "demo", "helloworld", "state"));
	CHECK_INT(daemon_remove(p, "demo", "helloworld"), -ENOENT);
	daemon_free(p);
	error_release(&err);
}

int main(void)
{
	setup();
	struct wazofs_config cfg;
	struct error err = ERROR_INIT;
	config_defaults(&cfg);
	snprintf(cfg.root, sizeof(cfg.root), "%s", root);
	snprintf(cfg.state, sizeof(cfg.state), "%s", state);
	snprintf(cfg.wazo_version, sizeof(cfg.wazo_version), "25.17");
	cfg.settle_ms = 100;
	CHECK_INT(config_finish(&cfg, &err), 0);
	error_release(&err);
	RUN(test_failing_build_direct, &cfg);
	RUN(test_hanging_rules_are_killed, &cfg);
	RUN(test_cancel_between_steps, &cfg);
	RUN(test_work_dir_too_long, &cfg);
	RUN(test_core_installs_and_removes, &cfg);
	if (!getenv("WAZOFS_KEEP"))
		rm_rf(tmp);
	return CHECK_SUMMARY();
}
