/* registry: the one owner of the daemon's records of copies and jobs. A copy of
 * incoming/ is known by its entry name: the tracker (is it still being written?), the
 * queue (waiting for the worker) and its job; a job enters the list here alone
 * (registry_add_job) and leaves it here alone (drop_job). Where a job's status and log
 * are kept on disk is decided here too. */
#include "registry.h"
#include "base/fsutil.h"
#include "incoming_tracker.h"
#include "jobs/tree_import.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

struct job *find_job_for_plugin(struct daemon *p, const char *ns, const char *name)
{
	for (struct job *j = p->jobs; j; j = j->next)
		if (strcmp(j->st.ns, ns) == 0 && strcmp(j->st.name, name) == 0)
			return j;
	return NULL;
}

struct job *find_job_for_entry(struct daemon *p, const char *entry)
{
	for (struct job *j = p->jobs; j; j = j->next)
		if (j->entry[0] && strcmp(j->entry, entry) == 0)
			return j;
	return NULL;
}

static void unlink_job(struct daemon *p, struct job *job)
{
	for (struct job **pp = &p->jobs; *pp; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			return;
		}
}

/* Under p->lock: the ended job that job replaces (same copy, or same plugin for a job
 * without one), or NULL. */
static struct job *replaced_job(struct daemon *p, const struct job *job)
{
	struct job *old = job->entry[0] ? find_job_for_entry(p, job->entry)
					: find_job_for_plugin(p, job->st.ns, job->st.name);
	return old && old->phase == JOB_ENDED ? old : NULL;
}

void registry_add_job(struct daemon *p, struct job *job, enum job_phase phase, uid_t asked_uid,
		      const char *ns, const char *name, const char *version)
{
	if (ns) {
		snprintf(job->st.ns, sizeof(job->st.ns), "%s", ns);
		snprintf(job->st.name, sizeof(job->st.name), "%s", name);
		snprintf(job->st.version, sizeof(job->st.version), "%s", version ? version : "");
	}
	for (struct job *old; (old = replaced_job(p, job));)
		drop_job(p, old, 1);
	job->on_change = daemon_job_changed;
	job->on_change_ctx = p;
	job->asked_uid = asked_uid;
	job->phase = phase;
	job->next = p->jobs;
	p->jobs = job;
	daemon_job_paths_changed(p, job);
	if (phase == JOB_QUEUED)
		pthread_cond_broadcast(&p->cond);
}

int status_file_path(struct daemon *p, const char *entry, char *out, size_t len)
{
	return path_fmt(out, len, "%s/%s.status", p->jobs_dir, entry);
}

void drop_job(struct daemon *p, struct job *job, int keep_log)
{
	unlink_job(p, job);
	daemon_job_paths_changed(p, job);
	/* its files go once the lock is let go (registry_flush_files): "s ENTRY" its saved
	 * status, "l ENTRY" its incoming log; a lost name only leaves a file behind */
	char item[NAME_MAX + 3];
	if (job->entry[0]) {
		snprintf(item, sizeof(item), "s %s", job->entry);
		name_list_add(&p->gone_files, item);
	}
	if (!keep_log && job->entry[0]) {
		snprintf(item, sizeof(item), "l %s", job->entry);
		name_list_add(&p->gone_files, item);
	}
	job_free(job);
}

/* The end of a job run by this thread: a success is forgotten (the dpkg database now
 * speaks for the plugin), a failure stays listed. Until here its JOB_RUNNING phase kept anyone
 * else from freeing job; after here the caller must not touch it. */
void registry_end_job(struct daemon *p, struct job *job, int rc)
{
	/* its history line is written, and the kernel drops its copy of the job's last
	 * text, before the job is seen to end (a view the kernel keeps, read once the copy
	 * is gone, is the final one) */
	daemon_history_flush(p);
	daemon_cache_flush(p);
	pthread_mutex_lock(&p->lock);
	if (rc == 0)
		drop_job(p, job, 1);
	else
		job->phase = JOB_ENDED;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	registry_flush_files(p);
	daemon_cache_flush(p); /* its end is seen at the next read */
}

void registry_flush_files(struct daemon *p)
{
	pthread_mutex_lock(&p->files_lock);
	pthread_mutex_lock(&p->lock);
	struct name_list gone = p->gone_files;
	memset(&p->gone_files, 0, sizeof(p->gone_files));
	/* an entry that has a job again keeps its files: they are the new job's now */
	for (size_t i = 0; i < gone.n; i++)
		if (find_job_for_entry(p, gone.v[i] + 2))
			gone.v[i][0] = 0;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < gone.n; i++) {
		char path[PATH_MAX];
		const char *entry = gone.v[i] + 2;
		int rc = gone.v[i][0] == 's'   ? status_file_path(p, entry, path, sizeof(path))
			 : gone.v[i][0] == 'l' ? incoming_log_path(p, entry, path, sizeof(path))
					       : -ENOENT;
		if (rc == 0)
			unlink(path);
	}
	pthread_mutex_unlock(&p->files_lock);
	name_list_free(&gone);
}

void persist_status(struct daemon *p, struct job *job)
{
	if (!job->entry[0])
		return;
	struct strbuf sb = STRBUF_INIT;
	char path[PATH_MAX];
	pthread_mutex_lock(&p->files_lock);
	pthread_mutex_lock(&p->lock);
	job_status_render(&job->st, &sb);
	pthread_mutex_unlock(&p->lock);
	if (status_file_path(p, job->entry, path, sizeof(path)) ||
	    (!sb.oom && write_file_atomic(path, sb.buf, sb.len, 0644)))
		syslog(LOG_WARNING, "cannot save the status of incoming/%s: %m", job->entry);
	pthread_mutex_unlock(&p->files_lock);
	strbuf_release(&sb);
}

int incoming_log_path(struct daemon *p, const char *entry, char *out, size_t len)
{
	return path_fmt(out, len, "%s/incoming/%s.log", p->logs_dir, entry);
}

int plugin_log_path(struct daemon *p, const char *ns, const char *name, char *out, size_t len)
{
	return path_fmt(out, len, "%s/plugins/%s.%s.log", p->logs_dir, ns, name);
}

static int entry_is_candidate(const char *entry)
{
	return entry[0] && entry[0] != '.';
}

/* An empty directory (`mkdir incoming/x` before the copy) is nothing to validate yet:
 * it starts no job; what is copied into it later does. */
static int empty_dir(struct daemon *p, const char *entry)
{
	char path[PATH_MAX];
	DIR *d = path_fmt(path, sizeof(path), "%s/%s", p->incoming, entry) ? NULL : opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int empty = 1;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Whether a copy whose writers have exited is whole, so its job may start without the
 * settle wait: a plugin tree (wazo/plugin.yml and an executable wazo/rules, at the top
 * or in one directory below), or a single file (an archive, a request, a package). */
static int entry_looks_complete(void *ctx, const char *entry)
{
	struct daemon *p = ctx;
	char path[PATH_MAX];
	struct stat st;
	if (path_fmt(path, sizeof(path), "%s/%s", p->incoming, entry) || lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return 1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	/* the plugin root as the job will find it, with its rules executable */
	char root[PATH_MAX], rules[PATH_MAX];
	struct error r = ERROR_INIT;
	int found = tree_find_plugin_root(path, root, sizeof(root), &r) == 0;
	error_release(&r);
	return found && path_fmt(rules, sizeof(rules), "%s/wazo/rules", root) == 0 &&
	       access(rules, X_OK) == 0;
}

/* Queues the copies the tracker says are whole. */
void registry_queue_complete(struct daemon *p)
{
	struct name_list done = { 0 }, runnable = { 0 };
	tracker_take_complete(p->tracker, &done, entry_looks_complete, p);
	/* which may start a job, read before the lock (no directory is read under it) */
	for (size_t i = 0; i < done.n; i++)
		if (entry_is_candidate(done.v[i]) && !empty_dir(p, done.v[i]))
			name_list_add(&runnable, done.v[i]);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < done.n; i++) {
		struct job *j = find_job_for_entry(p, done.v[i]);
		if (j && j->phase == JOB_RUNNING) /* changed during its job: run again after it */
			tracker_touch(p->tracker, done.v[i], 0);
		else if (name_list_has(&runnable, done.v[i]))
			name_list_add_unique(&p->queue, done.v[i]);
	}
	name_list_free(&runnable);
	if (done.n)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	name_list_free(&done);
}

unsigned long registry_copy_generation(struct daemon *p, const char *entry)
{
	return tracker_generation(p->tracker, entry);
}

void registry_copy_forget(struct daemon *p, const char *entry)
{
	tracker_forget(p->tracker, entry);
}

int registry_writers_fd(struct daemon *p)
{
	return tracker_fd(p->tracker);
}

int registry_next_ms(struct daemon *p)
{
	return tracker_next_ms(p->tracker);
}

void registry_wake(struct daemon *p)
{
	uint64_t one = 1;
	ssize_t r = write(p->wake_fd, &one, sizeof(one));
	(void)r; /* a full counter means it is awake already */
}

/* Failed jobs come back as they were; other copies are queued again. */
void registry_restore(struct daemon *p)
{
	DIR *d = opendir(p->incoming);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!entry_is_candidate(de->d_name))
			continue;
		char path[PATH_MAX], log[PATH_MAX];
		struct strbuf sb = STRBUF_INIT;
		if (status_file_path(p, de->d_name, path, sizeof(path)) ||
		    incoming_log_path(p, de->d_name, log, sizeof(log)))
			continue; /* no name of incoming/ is that long */
		struct job_status st;
		int saved = strbuf_read_file(&sb, path, 1 << 20) == 0;
		int parsed = saved && job_status_parse(sb.buf, sb.len, &st) == 0;
		if (saved && !parsed) {
			/* a failed job whose status cannot be read is still a failed job: never
			 * run it again by itself */
			job_status_init(&st);
			job_status_fail(&st, "install-error", "Installation error", NULL,
					"the saved status of this failed job could not be read; "
					"change the copy to run it again");
		}
		if (saved && st.state == JOB_STATE_ERROR) {
			struct job *j = job_restore(&p->lock, de->d_name, log, &st);
			if (j)
				registry_add_job(p, j, JOB_ENDED, 0, NULL, NULL, NULL);
			else
				job_status_destroy(&st);
		} else {
			if (saved)
				job_status_destroy(&st);
			name_list_add_unique(&p->queue, de->d_name);
		}
		strbuf_release(&sb);
	}
	closedir(d);
}

void daemon_incoming_touch(struct daemon *p, const char *entry, pid_t pid)
{
	if (tracker_touch(p->tracker, entry, pid))
		registry_wake(p); /* else the wait it is in ends early enough */
}

void daemon_incoming_open(struct daemon *p, const char *entry, pid_t pid)
{
	tracker_open(p->tracker, entry, pid);
}

void daemon_incoming_close(struct daemon *p, const char *entry)
{
	tracker_close(p->tracker, entry);
	registry_wake(p); /* the last close may complete it */
}

/* A job may be cancelled by the removal of its copy until dpkg or apt may run for it:
 * a step of its own (no dependency installs, no dpkg run left half done). */
static int cancellable_step(enum job_step step)
{
	return step <= STEP_VALIDATING || step == STEP_BUILDING || step == STEP_PACKAGING;
}

void daemon_incoming_gone(struct daemon *p, const char *entry)
{
	tracker_forget(p->tracker, entry);
	pthread_mutex_lock(&p->lock);
	name_list_remove(&p->queue, entry);
	struct job *j = find_job_for_entry(p, entry);
	if (j && j->phase != JOB_RUNNING)
		drop_job(p, j, 0);
	else if (j && cancellable_step(j->st.step))
		cancel_request(&j->cancel); /* a clone that stalls, a long build */
	pthread_mutex_unlock(&p->lock);
	registry_flush_files(p);
}
