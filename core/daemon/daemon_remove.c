/* daemon_remove: uninstalling a plugin, and with it the installed plugins whose
 * package depends on it (dependents first, as apt would), in one dpkg --purge. */
#include "daemon_remove.h"
#include "base/fsutil.h"
#include "plugin/plugin_package.h"
#include "plugin/source_store.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Under p->lock: ip's package, then every installed plugin package that depends on one
 * already in pkgs (transitively), in the order found; who gets their "ns/name". */
static void collect_dependents(struct daemon *p, const struct installed_plugin *ip,
			       struct name_list *pkgs, struct name_list *who)
{
	name_list_add(pkgs, ip->package);
	for (size_t added = 1; added;) {
		added = 0;
		for (size_t i = 0; i < p->n_installed; i++) {
			const struct installed_plugin *d = &p->installed[i];
			if (name_list_has(pkgs, d->package))
				continue;
			for (size_t k = 0; k < pkgs->n; k++)
				if (dpkg_depends_on(d->depends, pkgs->v[k])) {
					char w[256];
					snprintf(w, sizeof(w), "%s/%s", d->ns, d->name);
					name_list_add(pkgs, d->package);
					name_list_add(who, w);
					added = 1;
					break;
				}
		}
	}
}

/* Under p->lock: the plugin's running job, or NULL. */
static struct job *running_job(struct daemon *p, const char *ns, const char *name)
{
	for (struct job *j = p->jobs; j; j = j->next)
		if (j->phase == JOB_RUNNING && strcmp(j->st.ns, ns) == 0 &&
		    strcmp(j->st.name, name) == 0)
			return j;
	return NULL;
}

/* Takes p->lock: the plugin's ended jobs are forgotten. A copy in incoming/ whose job
 * this removal cancelled (or that had failed) stays there with a status saying so; it
 * leaves the plugin's directory and never runs again by itself. Returns whether there
 * was any job; -EBUSY when one still runs. */
static int drop_plugin_jobs(struct daemon *p, const char *ns, const char *name)
{
	struct strbuf keep = STRBUF_INIT; /* the status of a cancelled copy, to save */
	char keep_entry[NAME_MAX + 1] = "";
	pthread_mutex_lock(&p->lock);
	/* the plugin's running job was cancelled when the removal was queued: it ends */
	struct job *running;
	while ((running = running_job(p, ns, name)) && running->kind != JOB_REMOVE)
		pthread_cond_wait(&p->cond, &p->lock);
	int busy = running ? -EBUSY : 0;
	int had_jobs = 0;
	for (struct job *j; !busy && (j = find_job_for_plugin(p, ns, name));) {
		had_jobs = 1;
		if (!j->entry[0]) {
			drop_job(p, j, 1);
			continue;
		}
		if (j->st.state != JOB_STATE_ERROR)
			job_status_fail(&j->st, "install-error", "Installation error", NULL,
					"cancelled");
		snprintf(j->st.reason, sizeof(j->st.reason),
			 "cancelled: %s/%s was removed while this job ran; the copy stays in "
			 "incoming/ (change it to install again, remove it to discard it)",
			 ns, name);
		j->st.ns[0] = j->st.name[0] = j->st.version[0] = j->st.package[0] = 0;
		strbuf_release(&keep);
		job_status_render(&j->st, &keep);
		snprintf(keep_entry, sizeof(keep_entry), "%s", j->entry);
	}
	pthread_mutex_unlock(&p->lock);
	registry_flush_files(p);
	if (keep_entry[0]) {
		char path[PATH_MAX];
		status_file_path(p, keep_entry, path, sizeof(path));
		if (keep.oom || write_file_atomic(path, keep.buf, keep.len, 0644))
			syslog(LOG_WARNING, "cannot save %s: %m", path);
	}
	strbuf_release(&keep);
	return busy ? busy : had_jobs;
}

/* A removal's job ran (rc): its history line, the kept packages of what went (out of
 * repo/ before the end shows), the job's end, syslog. job is not to be used after. */
static void end_removal(struct daemon *p, struct job *job, int rc, const struct name_list *pkgs,
			const struct name_list *who)
{
	pthread_mutex_lock(&p->lock);
	char ns[NAME_MAX + 1], name[NAME_MAX + 1], version[128];
	char result[sizeof(job->st.reason) + 16];
	snprintf(ns, sizeof(ns), "%s", job->st.ns);
	snprintf(name, sizeof(name), "%s", job->st.name);
	snprintf(version, sizeof(version), "%s", job->st.version);
	snprintf(result, sizeof(result), "%s%s", rc ? "error: " : "ok", rc ? job->st.reason : "");
	uid_t asked = job->asked_uid;
	pthread_mutex_unlock(&p->lock);
	daemon_history_add(p, asked, "remove", ns, name, version, NULL, result);
	if (rc == 0) {
		for (size_t i = 0; i < pkgs->n; i++) {
			plugin_prune_packages(p->packages_dir, pkgs->v[i], NULL, 0);
			source_remove_all(p->cfg.state, pkgs->v[i]); /* its kept sources */
		}
		daemon_repo_refresh(p);
	}
	struct strbuf said = STRBUF_INIT; /* for syslog, once the lock is let go */
	pthread_mutex_lock(&p->lock);
	job->phase = JOB_ENDED;
	if (rc == 0) {
		drop_job(p, job, 1); /* its log stays in state/logs/plugins */
		for (size_t i = 0; i < who->n; i++)
			strbuf_addf(&said, "%s%s", i ? ", " : " and with it ", who->v[i]);
	} else {
		strbuf_addf(&said, "%s", job->st.reason);
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	registry_flush_files(p);
	if (rc == 0)
		syslog(LOG_INFO, "%s/%s removed%s", ns, name, said.buf ? said.buf : "");
	else
		syslog(LOG_WARNING, "%s/%s: removal failed: %s", ns, name,
		       said.buf ? said.buf : "");
	strbuf_release(&said);
}

/* Runs the removal of ns/name asked by uid: 0, -ENOENT, -EBUSY or -EIO. */
static int run_removal(struct daemon *p, const char *ns, const char *name, uid_t uid)
{
	char log[PATH_MAX], pkg[300];
	int had_jobs = drop_plugin_jobs(p, ns, name);
	if (had_jobs < 0)
		return had_jobs;
	pthread_mutex_lock(&p->lock);
	const struct installed_plugin *ip = find_installed(p, ns, name);
	if (!ip) {
		pthread_mutex_unlock(&p->lock);
		return had_jobs ? 0 : -ENOENT;
	}
	/* what depends on it goes too, dependents first, as apt would */
	struct name_list pkgs = { 0 }, who = { 0 };
	collect_dependents(p, ip, &pkgs, &who);
	snprintf(pkg, sizeof(pkg), "%s", ip->package);
	plugin_log_path(p, ns, name, log, sizeof(log));
	struct job *job = job_new(&p->lock, JOB_REMOVE, NULL, log);
	if (!job) {
		int e = errno;
		pthread_mutex_unlock(&p->lock);
		name_list_free(&pkgs);
		name_list_free(&who);
		return -e;
	}
	memcpy(job->st.package, pkg, sizeof(job->st.package) - 1); /* package names are short */
	job->st.package[sizeof(job->st.package) - 1] = 0;
	registry_add_job(p, job, JOB_RUNNING, uid, ns, name, ip->version);
	pthread_mutex_unlock(&p->lock);

	for (size_t i = 0; i < who.n; i++)
		job_logf(job, "%s depends on %s/%s: removed with it\n", who.v[i], ns, name);
	const char **argv = calloc(pkgs.n + 1, sizeof(*argv));
	int rc = argv ? 0 : -ENOMEM;
	for (size_t i = 0; argv && i < pkgs.n; i++)
		argv[i] = pkgs.v[pkgs.n - 1 - i]; /* dependents first */
	if (!rc)
		rc = pipeline_remove(job, &p->env, argv);
	free(argv);
	if (rc == 0)
		job_step(job, STEP_COMPLETED);
	job_close_log(job);
	end_removal(p, job, rc, &pkgs, &who);
	name_list_free(&pkgs);
	name_list_free(&who);
	return rc ? -EIO : 0;
}

/* A removal asked through the mount (or by the repairs at start), waiting for the
 * remover. */
struct removal {
	struct removal *next;
	char ns[NAME_MAX + 1], name[NAME_MAX + 1];
	uid_t uid;
	daemon_done_fn *done; /* NULL: nobody waits */
	void *ctx;
};

/* Under p->lock: a removal of ns/name queued or running. */
static int removal_pending(struct daemon *p, const char *ns, const char *name)
{
	for (struct removal *r = p->removals; r; r = r->next)
		if (strcmp(r->ns, ns) == 0 && strcmp(r->name, name) == 0)
			return 1;
	struct job *j = running_job(p, ns, name);
	return j && j->kind == JOB_REMOVE;
}

/* Under p->lock: r goes last in the queue; the plugin's running job (an install) is
 * cancelled, so the removal need not wait for it to finish. */
static void queue_removal(struct daemon *p, struct removal *r)
{
	struct removal **tail = &p->removals;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	struct job *j = running_job(p, r->ns, r->name);
	if (j)
		cancel_request(&j->cancel); /* a clone that stalls, a long build */
	pthread_cond_broadcast(&p->cond);
}

int daemon_remove_async(struct daemon *p, const char *ns, const char *name, uid_t uid,
			daemon_done_fn *done, void *ctx)
{
	if (strlen(ns) > NAME_MAX || strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	struct removal *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct removal){ .uid = uid, .done = done, .ctx = ctx };
	snprintf(r->ns, sizeof(r->ns), "%s", ns);
	snprintf(r->name, sizeof(r->name), "%s", name);
	pthread_mutex_lock(&p->lock);
	int rc = !find_installed(p, ns, name) && !find_job_for_plugin(p, ns, name) ? -ENOENT
		 : removal_pending(p, ns, name)					   ? -EBUSY
		 : !p->started || p->stopping					   ? -ESHUTDOWN
										   : 0;
	if (!rc)
		queue_removal(p, r);
	pthread_mutex_unlock(&p->lock);
	if (rc)
		free(r);
	return rc;
}

/* Answers r (rc) and frees it. */
static void answer(struct removal *r, int rc)
{
	if (r->done)
		r->done(r->ctx, rc);
	free(r);
}

int removal_run_next(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct removal *r = p->removals;
	if (r)
		p->removals = r->next;
	pthread_mutex_unlock(&p->lock);
	if (!r)
		return 0;
	answer(r, run_removal(p, r->ns, r->name, r->uid));
	return 1;
}

void removal_cancel_all(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct removal *r = p->removals;
	p->removals = NULL;
	pthread_mutex_unlock(&p->lock);
	for (struct removal *next; r; r = next) {
		next = r->next;
		answer(r, -EINTR);
	}
}

/* daemon_remove's wait for its removal. */
struct removal_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, rc;
};

static void removal_done(void *ctx, int rc)
{
	struct removal_wait *w = ctx;
	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int daemon_remove(struct daemon *p, const char *ns, const char *name)
{
	struct removal_wait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	int rc = daemon_remove_async(p, ns, name, daemon_caller(), removal_done, &w);
	pthread_mutex_lock(&w.lock);
	while (!rc && !w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return rc ? rc : w.rc;
}
