/* daemon_jobs: running install jobs: a copy or an install request from incoming/, a
 * `mkdir` install from the market, a dependency installed for another job. Each runs
 * the pipeline in the calling (worker) thread and settles the job record after it. */
#include "daemon_jobs.h"
#include "base/fsutil.h"
#include "plugin/install_request.h"
#include "plugin/source_store.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* A scratch dir of its own for one job: a fresh name every time, also across restarts,
 * so nothing a killed job left can end up in another job's package. */
static int new_work_dir(struct daemon *p, char *out, size_t len)
{
	int rc = path_fmt(out, len, "%s/job-XXXXXX", p->work_dir);
	return rc ? rc : mkdtemp(out) ? 0 : -errno;
}

/* Whether a Depends field names package (a whole name: "pkg", "pkg (>= 1)", "a | pkg"). */
static int depends_on(const char *depends, const char *package)
{
	size_t n = strlen(package);
	for (const char *c = depends ? strstr(depends, package) : NULL; c;
	     c = strstr(c + 1, package)) {
		int starts = c == depends || strchr(", |", c[-1]);
		int ends = strchr(" ,(:|", c[n]) != NULL; /* the NUL is in the set too */
		if (starts && ends)
			return 1;
	}
	return 0;
}

/* A git source for ns/name from the market (version: NULL for the newest installable).
 * Copies into the buffers; returns 0 or -ENOENT with err saying why. Takes p->lock. */
struct market_source {
	char url[1024], ref[256], subdir[512], version[128];
	int apt; /* method apt: the plugin package from the host's APT sources */
	char apt_ns[64], apt_name[128];
	char path[PATH_MAX]; /* method rebuild: the kept source tree */
	char origin[1024];   /* what the status's origin says ("" : made from the source) */
	time_t date;	     /* method rebuild: the kept source's date */
	int all;	     /* method rebuild of every plugin that has a kept source */
};

/* The kept source of ns/name's installed version (method rebuild): its tree and
 * origin into ms. 0, or -ENOENT with err holding the refused field, _source. */
static int rebuild_source(struct daemon *p, const char *ns, const char *name,
			  struct market_source *ms, struct error *err)
{
	pthread_mutex_lock(&p->lock);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	int installed = ip && dpkg_is_installed(ip);
	if (installed)
		snprintf(ms->version, sizeof(ms->version), "%s", ip->version);
	pthread_mutex_unlock(&p->lock);
	int has_tree = 0;
	if (!installed) {
		error_field(err, "_source", "required", NULL,
			    "%s/%s is not installed: there is no kept source to rebuild", ns, name);
		return -ENOENT;
	}
	if (source_lookup(p->cfg.state, ns, name, ms->version, ms->origin, sizeof(ms->origin),
			  &ms->date, &has_tree) ||
	    !has_tree ||
	    source_tree_path(p->cfg.state, ns, name, ms->version, ms->path, sizeof(ms->path))) {
		error_field(err, "_source", "required", NULL,
			    "%s/%s %s has no kept source (installed by wazo-plugind, from a "
			    "package or by apt, or its source was past source_max_bytes): install "
			    "it again from its source",
			    ns, name, ms->version);
		return -ENOENT;
	}
	return 0;
}

static int market_source(struct daemon *p, const char *ns, const char *name, const char *version,
			 struct market_source *ms, struct error *err)
{
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	const struct market_item *it = market_find(p->market, ns, name);
	const struct market_version *v = market_pick(it, p->wazo_version, version);
	if (!p->market)
		error_addf(err, "%s/%s is not installed and no market is configured", ns, name);
	else if (!it)
		error_addf(err, "%s/%s is not installed and the market does not have it", ns, name);
	else if (!v)
		error_addf(err, "the market has no %s%s of %s/%s installable on Wazo %s",
			   version && *version ? "version " : "version", version ? version : "", ns,
			   name, p->wazo_version[0] ? p->wazo_version : "(unknown)");
	else if (!v->url || (v->method && strcmp(v->method, "git")))
		error_addf(err, "%s/%s %s: only the git method with an url is supported", ns, name,
			   v->version);
	if (!p->market || !it || !v || !v->url || (v->method && strcmp(v->method, "git")))
		rc = -ENOENT;
	else {
		snprintf(ms->url, sizeof(ms->url), "%s", v->url);
		snprintf(ms->ref, sizeof(ms->ref), "%s", v->ref ? v->ref : "");
		snprintf(ms->subdir, sizeof(ms->subdir), "%s",
			 v->subdirectory ? v->subdirectory : "");
		snprintf(ms->version, sizeof(ms->version), "%s", v->version);
		snprintf(ms->origin, sizeof(ms->origin), "market");
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* The plugins that can be rebuilt (a kept source tree), named "ns/name" in out,
 * dependencies first. Under p->lock. */
static void rebuildable(struct daemon *p, struct name_list *out)
{
	size_t n = p->n_installed, left = 0;
	char *todo = calloc(n ? n : 1, 1);
	for (size_t i = 0; todo && i < n; i++)
		if (dpkg_is_installed(&p->installed[i]) &&
		    installed_extra_of(p, &p->installed[i])->has_source)
			todo[i] = 1, left++;
	/* each round takes the plugins none of the others left depends on; a cycle
	 * (which dpkg would not have installed) is taken in name order */
	while (todo && left) {
		size_t taken = 0;
		for (size_t i = 0; i < n; i++) {
			int waits = 0;
			for (size_t k = 0; todo[i] && !waits && k < n; k++)
				waits =
				    k != i && todo[k] &&
				    depends_on(p->installed[i].depends, p->installed[k].package);
			if (todo[i] && !waits)
				todo[i] = 2, taken++;
		}
		for (size_t i = 0; i < n; i++) {
			if (todo[i] != 2 && !(taken == 0 && todo[i]))
				continue;
			char key[200];
			snprintf(key, sizeof(key), "%s/%s", p->installed[i].ns,
				 p->installed[i].name);
			name_list_add(out, key);
			todo[i] = 0, left--;
		}
	}
	free(todo);
}

int daemon_rebuild_all(struct daemon *p, uid_t uid, struct strbuf *said)
{
	struct name_list keys = { 0 };
	pthread_mutex_lock(&p->lock);
	rebuildable(p, &keys);
	pthread_mutex_unlock(&p->lock);
	int queued = 0;
	for (size_t i = 0; i < keys.n; i++) {
		char ns[64], name[128], log[PATH_MAX];
		const char *slash = strchr(keys.v[i], '/');
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - keys.v[i]), keys.v[i]);
		snprintf(name, sizeof(name), "%s", slash + 1);
		struct job *job = plugin_log_path(p, ns, name, log, sizeof(log)) == 0
				      ? job_new(&p->lock, JOB_INSTALL, NULL, log)
				      : NULL;
		if (!job) {
			strbuf_addf(said, "%s: cannot queue its rebuild: %s\n", keys.v[i],
				    strerror(errno));
			continue;
		}
		job->rebuild = 1;
		pthread_mutex_lock(&p->lock);
		registry_add_job(p, job, JOB_QUEUED, uid, ns, name, NULL);
		pthread_mutex_unlock(&p->lock);
		strbuf_addf(said, "%s: rebuild queued\n", keys.v[i]);
		queued++;
	}
	name_list_free(&keys);
	return queued;
}

/* {method: rebuild, options: {all: true}}: a job per plugin that has a kept source
 * (each queued behind what runs now); the request itself is done once they are
 * queued. 0, or -ENOENT (the job failed) when there is none. */
static int request_rebuild_all(struct daemon *p, struct job *job)
{
	struct strbuf said = STRBUF_INIT;
	int n = daemon_rebuild_all(p, job->asked_uid, &said);
	job_logf(job, "%s", said.buf ? said.buf : "");
	strbuf_release(&said);
	if (n == 0) {
		struct error err = ERROR_INIT;
		error_field(&err, "_source", "required", NULL,
			    "no installed plugin has a kept source to rebuild from");
		job_step(job, STEP_VALIDATING);
		job_fail(job, "validation-error", "Validation error", &err, "%s", err.e[0].message);
		error_release(&err);
		return -ENOENT;
	}
	job_step(job, STEP_CLEANING);
	job_set_state(job, JOB_STATE_INSTALLED);
	job_step(job, STEP_COMPLETED);
	return 0;
}

int run_rebuild_job(struct daemon *p, struct job *job, const char *ns, const char *name)
{
	struct market_source ms = { 0 };
	struct error err = ERROR_INIT;
	char work[PATH_MAX];
	int rc = rebuild_source(p, ns, name, &ms, &err);
	if (rc) {
		job_step(job, STEP_VALIDATING);
		job_fail(job, "validation-error", "Validation error", &err, "%s", err.e[0].message);
	} else if ((rc = new_work_dir(p, work, sizeof(work)))) {
		job_fail(job, "install-error", "Installation error", NULL,
			 "cannot create a work dir in %s: %s", p->work_dir, strerror(-rc));
	} else {
		syslog(LOG_INFO, "%s/%s: rebuilding %s from its kept source", ns, name, ms.version);
		struct install_source source = { .path = ms.path,
						 .origin = ms.origin,
						 .source_date = ms.date };
		rc = pipeline_install(job, &p->env, &source, work, 1, NULL);
	}
	job_close_log(job);
	daemon_repo_refresh(p); /* before the job's end shows */
	registry_end_job(p, job, rc);
	if (rc)
		syslog(LOG_WARNING, "%s/%s: rebuild failed: %s", ns, name,
		       err.n ? err.e[0].message : "see its status");
	error_release(&err);
	return rc;
}

/* An install request file incoming/NAME.yml: turns it into a source. */
static int request_source(struct daemon *p, struct job *job, const char *path,
			  struct market_source *ms, int *reinstall)
{
	struct strbuf text = STRBUF_INIT;
	struct error err = ERROR_INIT;
	struct install_request req = { 0 };
	int rc = strbuf_read_file(&text, path, 1 << 20);
	if (!rc)
		rc = install_request_parse(text.buf, text.len, &req, &err);
	else
		error_addf(&err, "%s", strerror(-rc));
	if (rc) {
		/* the request as a whole is the refused field */
		error_field(&err, "_request", "schema", NULL, "%s",
			    err.msg.buf ? err.msg.buf : "invalid");
		job_fail(job, "validation-error", "Validation error", &err,
			 "the install request is not valid: %s", err.e[0].message);
	} else if (strcmp(req.method, "rebuild") == 0) {
		ms->all = req.all;
		rc = req.all ? 0 : rebuild_source(p, req.ns, req.name, ms, &err);
		req.reinstall = 1; /* the same version, built again */
		if (rc) {
			pthread_mutex_lock(&p->lock);
			snprintf(job->st.ns, sizeof(job->st.ns), "%s", req.ns);
			snprintf(job->st.name, sizeof(job->st.name), "%s", req.name);
			pthread_mutex_unlock(&p->lock);
			job_step(job, STEP_VALIDATING);
			job_fail(job, "validation-error", "Validation error", &err, "%s",
				 err.e[0].message);
		}
	} else if (strcmp(req.method, "apt") == 0) {
		ms->apt = 1;
		snprintf(ms->apt_ns, sizeof(ms->apt_ns), "%s", req.ns);
		snprintf(ms->apt_name, sizeof(ms->apt_name), "%s", req.name);
		snprintf(ms->version, sizeof(ms->version), "%s", req.version);
	} else if (strcmp(req.method, "git") == 0) {
		snprintf(ms->url, sizeof(ms->url), "%s", req.url);
		snprintf(ms->ref, sizeof(ms->ref), "%s", req.ref);
		snprintf(ms->subdir, sizeof(ms->subdir), "%s", req.subdirectory);
	} else {
		rc = market_source(p, req.ns, req.name, req.version, ms, &err);
		if (rc) {
			pthread_mutex_lock(&p->lock);
			snprintf(job->st.ns, sizeof(job->st.ns), "%s", req.ns);
			snprintf(job->st.name, sizeof(job->st.name), "%s", req.name);
			pthread_mutex_unlock(&p->lock);
			job_fail(job, "install-error", "Installation error", NULL, "%s",
				 error_msg(&err));
		}
	}
	*reinstall = req.reinstall;
	strbuf_release(&text);
	error_release(&err);
	return rc;
}

/* The end of an install job of incoming/entry (rc): the log moves to the plugin's and
 * the copy goes (unless changed meanwhile); a copy removed while it ran is forgotten; a
 * failure keeps its status. Returns the rc to settle the job with. */
static int end_install(struct daemon *p, struct job *job, const char *entry, const char *src,
		       const char *log, unsigned long gen, int rc)
{
	/* the job stays JOB_RUNNING until settle_job: while it does, nobody else frees it */
	pthread_mutex_lock(&p->lock);
	int stopping = p->stopping;
	char ns[64], name[128], reason[sizeof(job->st.reason)];
	snprintf(ns, sizeof(ns), "%s", job->st.ns);
	snprintf(name, sizeof(name), "%s", job->st.name);
	snprintf(reason, sizeof(reason), "%s", job->st.reason);
	pthread_mutex_unlock(&p->lock);
	char path[PATH_MAX];
	struct stat st;
	if (rc == 0) {
		syslog(LOG_INFO, "incoming/%s: %s/%s installed", entry, ns, name);
		if (plugin_log_path(p, ns, name, path, sizeof(path)) == 0)
			rename(log, path);
		/* the copy goes unless the user changed it while the job ran */
		if (registry_copy_generation(p, entry) == gen) {
			daemon_remove_copy(p, entry);
			registry_copy_forget(p, entry);
		}
	} else if (stopping) {
		/* interrupted by the unmount: no saved status, so it runs again next mount */
		if (status_file_path(p, entry, path, sizeof(path)) == 0)
			unlink(path);
	} else if (lstat(src, &st) < 0 && errno == ENOENT) {
		/* removed while its job ran: cancelled, and nothing is left to show */
		syslog(LOG_INFO, "incoming/%s: removed while its job ran: cancelled", entry);
		if (status_file_path(p, entry, path, sizeof(path)) == 0)
			unlink(path);
		unlink(log);
		rc = 0; /* forgotten as a success is */
	} else {
		syslog(LOG_WARNING, "incoming/%s: job failed: %s", entry, reason);
		persist_status(p, job);
	}
	return rc;
}

/* A new running job of incoming/entry, in place of an ended one; NULL (logged). */
static struct job *start_install(struct daemon *p, const char *entry, const char *src,
				 const char *log)
{
	struct job *job = job_new(&p->lock, JOB_INSTALL, entry, log);
	if (!job) {
		syslog(LOG_ERR, "cannot start a job for incoming/%s: %m", entry);
		return NULL;
	}
	/* who asked: the owner of the copy (the admin or root who made it) */
	struct stat st;
	uid_t owner = lstat(src, &st) == 0 ? st.st_uid : 0;
	pthread_mutex_lock(&p->lock);
	registry_add_job(p, job, JOB_RUNNING, owner, NULL, NULL, NULL);
	pthread_mutex_unlock(&p->lock);
	registry_flush_files(p); /* the ended job it replaced */
	persist_status(p, job);
	syslog(LOG_INFO, "incoming/%s: job started", entry);
	return job;
}

void run_install(struct daemon *p, const char *entry)
{
	char src[PATH_MAX], log[PATH_MAX], work[PATH_MAX];
	if (path_fmt(src, sizeof(src), "%s/%s", p->incoming, entry) ||
	    incoming_log_path(p, entry, log, sizeof(log))) {
		syslog(LOG_ERR, "incoming/%s: path too long: no job", entry);
		return;
	}
	int work_rc = new_work_dir(p, work, sizeof(work));
	size_t n = strlen(entry), sl = strlen(REINSTALL_SUFFIX);
	int reinstall = n > sl && strcmp(entry + n - sl, REINSTALL_SUFFIX) == 0;
	struct stat st;
	int is_request = install_request_name(entry) && lstat(src, &st) == 0 && S_ISREG(st.st_mode);
	unsigned long gen = registry_copy_generation(p, entry);
	struct job *job = start_install(p, entry, src, log);
	if (!job)
		return;
	struct install_source source = { .path = src };
	struct market_source ms = { 0 };
	int rc = 0;
	if (is_request) {
		job_step(job, STEP_STARTING);
		rc = request_source(p, job, src, &ms, &reinstall);
		source = ms.apt ? (struct install_source){ .apt_ns = ms.apt_ns,
							   .apt_name = ms.apt_name,
							   .apt_version = ms.version }
			 : ms.path[0]
			     ? (struct install_source){ .path = ms.path, .origin = ms.origin }
			     : (struct install_source){ .git_url = ms.url,
							.git_ref = ms.ref,
							.git_subdir = ms.subdir,
							.origin = ms.origin[0] ? ms.origin : NULL };
	}
	if (!rc && ms.all) {
		rc = request_rebuild_all(p, job);
		work_rc = 0;
		ms.all = -1; /* done: no pipeline */
	}
	if (!rc && work_rc) {
		job_step(job, STEP_STARTING);
		job_fail(job, "install-error", "Installation error", NULL,
			 "cannot create a work dir in %s: %s", p->work_dir, strerror(-work_rc));
		rc = work_rc;
	}
	if (!rc && ms.all != -1)
		rc = pipeline_install(job, &p->env, &source, work, reinstall, NULL);
	if (!work_rc)
		rm_rf(work); /* the pipeline's end removed it, unless it did not run */
	job_close_log(job);
	/* a package kept or an older one pruned: repo/ shows it before the copy goes */
	daemon_repo_refresh(p);
	registry_end_job(p, job, end_install(p, job, entry, src, log, gen, rc));
}

/* Runs a job for ns/name from the market in this thread: a queued `mkdir` install
 * (job given) or a dependency (job NULL: made here). Returns the pipeline's result. */
int run_market_job(struct daemon *p, struct job *job, const char *ns, const char *name,
		   struct name_list *chain, struct error *err)
{
	char log[PATH_MAX], work[PATH_MAX];
	struct market_source ms = { 0 };
	int rc = market_source(p, ns, name, NULL, &ms, err);
	if (!job) {
		if (rc)
			return rc;
		plugin_log_path(p, ns, name, log, sizeof(log));
		job = job_new(&p->lock, JOB_INSTALL, NULL, log);
		if (!job) {
			rc = -errno;
			error_addf(err, "cannot start a job: %s", strerror(-rc));
			return rc;
		}
		pthread_mutex_lock(&p->lock);
		registry_add_job(p, job, JOB_RUNNING, daemon_caller(), ns, name, ms.version);
		pthread_mutex_unlock(&p->lock);
	} else if (rc) {
		job_step(job, STEP_STARTING);
		job_fail(job, "install-error", "Installation error", NULL, "%s", error_msg(err));
	}
	if (!rc) {
		syslog(LOG_INFO, "%s/%s: installing %s from the market", ns, name, ms.version);
		struct install_source source = { .git_url = ms.url,
						 .git_ref = ms.ref,
						 .git_subdir = ms.subdir,
						 .origin = ms.origin };
		rc = new_work_dir(p, work, sizeof(work));
		if (rc) {
			job_step(job, STEP_STARTING);
			job_fail(job, "install-error", "Installation error", NULL,
				 "cannot create a work dir in %s: %s", p->work_dir, strerror(-rc));
		} else
			rc = pipeline_install(job, &p->env, &source, work, 0, chain);
	}
	job_close_log(job);
	daemon_repo_refresh(p); /* before the job's end shows */
	error_release(err);	/* the job's own reason says it all */
	pthread_mutex_lock(&p->lock);
	error_addf(err, "%s", job->st.reason);
	pthread_mutex_unlock(&p->lock);
	registry_end_job(p, job, rc);
	if (rc)
		syslog(LOG_WARNING, "%s/%s: market install failed: %s", ns, name, error_msg(err));
	else
		syslog(LOG_INFO, "%s/%s (market version %s) installed", ns, name, ms.version);
	return rc;
}

int install_dependency(void *ctx, const char *ns, const char *name, struct name_list *chain,
		       struct error *err)
{
	return run_market_job(ctx, NULL, ns, name, chain, err);
}

int daemon_install_from_market(struct daemon *p, const char *ns, const char *name)
{
	if (!plugin_token_valid(ns, strlen(ns), 0) || !plugin_token_valid(name, strlen(name), 1))
		return -EINVAL;
	char log[PATH_MAX];
	struct market_source ms;
	struct error why = ERROR_INIT;
	int rc = market_source(p, ns, name, NULL, &ms, &why);
	error_release(&why); /* mkdir says ENOENT; the reason is the market's */
	if (rc)
		return rc;
	plugin_log_path(p, ns, name, log, sizeof(log));
	struct job *job = job_new(&p->lock, JOB_INSTALL, NULL, log);
	if (!job)
		return -errno;
	pthread_mutex_lock(&p->lock);
	if (find_job_for_plugin(p, ns, name) || find_installed(p, ns, name)) {
		pthread_mutex_unlock(&p->lock);
		job_free(job);
		return -EEXIST;
	}
	registry_add_job(p, job, JOB_QUEUED, daemon_caller(), ns, name, ms.version);
	pthread_mutex_unlock(&p->lock);
	return 0;
}
