/* job: job records (see job.h). */
#include "job.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The record itself, log closed. */
static struct job *job_alloc(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
			     const char *log_path)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->lock = lock;
	j->kind = kind;
	j->log_fd = -1;
	j->cancel = (struct cancel)CANCEL_INIT;
	snprintf(j->entry, sizeof(j->entry), "%s", entry ? entry : "");
	snprintf(j->log_path, sizeof(j->log_path), "%s", log_path);
	job_status_init(&j->st);
	clock_gettime(CLOCK_REALTIME, &j->changed);
	return j;
}

void job_changed(struct job *j)
{
	clock_gettime(CLOCK_REALTIME, &j->changed);
	if (j->on_change)
		j->on_change(j->on_change_ctx, j);
}

static struct job *job_open(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
			    const char *log_path, int trunc);

struct job *job_new(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
		    const char *log_path)
{
	return job_open(lock, kind, entry, log_path, O_TRUNC);
}

struct job *job_resume(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
		       const char *log_path)
{
	return job_open(lock, kind, entry, log_path, 0);
}

static struct job *job_open(pthread_mutex_t *lock, enum job_kind kind, const char *entry,
			    const char *log_path, int trunc)
{
	struct job *j = job_alloc(lock, kind, entry, log_path);
	if (!j)
		return NULL;
	if (kind == JOB_REMOVE) {
		j->st.state = JOB_STATE_UNINSTALLING;
		j->st.step = STEP_REMOVING;
	}
	/* a job that runs can be cancelled in the middle of a wait on a child (a restored
	 * failed job never runs: it has no eventfd) */
	if (cancel_init(&j->cancel) < 0) {
		int e = errno;
		job_free(j);
		errno = e;
		return NULL;
	}
	j->log_fd = open(log_path, O_WRONLY | O_CREAT | trunc | O_APPEND | O_CLOEXEC, 0644);
	if (j->log_fd < 0) {
		int e = errno;
		job_free(j);
		errno = e;
		return NULL;
	}
	return j;
}

struct job *job_restore(pthread_mutex_t *lock, const char *entry, const char *log_path,
			struct job_status *st)
{
	struct job *j = job_alloc(lock, JOB_INSTALL, entry, log_path);
	if (j) {
		job_status_destroy(&j->st);
		j->st = *st;
	}
	return j;
}

static _Atomic size_t log_max = 10u << 20;

void job_set_log_max(size_t bytes)
{
	log_max = bytes;
}

/* A log past log_max keeps its head and its tail, half each, with a line between them
 * saying how much was cut. Run between steps (no child writes it then); the log's own fd
 * appends, so what follows lands after the tail. */
static void trim_log(struct job *j)
{
	struct stat st;
	size_t max = log_max, half = max / 2;
	if (j->log_fd < 0 || fstat(j->log_fd, &st) < 0 || (size_t)st.st_size <= max)
		return;
	int fd = open(j->log_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	char *tail = malloc(half ? half : 1);
	if (fd >= 0 && tail && pread(fd, tail, half, st.st_size - (off_t)half) == (ssize_t)half) {
		char line[160];
		int n = snprintf(line, sizeof(line),
				 "\n[... %lld bytes of this log cut (log_max_bytes %zu) ...]\n",
				 (long long)(st.st_size - (off_t)(2 * half)), max);
		if (pwrite(fd, line, (size_t)n, (off_t)half) == n &&
		    pwrite(fd, tail, half, (off_t)half + n) == (ssize_t)half)
			ftruncate(fd, (off_t)half + n + (off_t)half);
	}
	free(tail);
	if (fd >= 0)
		close(fd);
}

void job_close_log(struct job *j)
{
	trim_log(j);
	if (j->log_fd >= 0)
		close(j->log_fd);
	j->log_fd = -1;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	job_close_log(j);
	cancel_destroy(&j->cancel);
	job_status_destroy(&j->st);
	free(j->plugin_yml);
	free(j);
}

void job_logf(struct job *j, const char *fmt, ...)
{
	if (j->log_fd < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vdprintf(j->log_fd, fmt, ap);
	va_end(ap);
}

void job_step(struct job *j, enum job_step step)
{
	pthread_mutex_lock(j->lock);
	j->st.step = step;
	job_changed(j);
	pthread_mutex_unlock(j->lock);
	char when[32];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	trim_log(j); /* what the step before wrote */
	job_logf(j, "== %s (%s.%03ld) ==\n", job_step_name(step), when, ts.tv_nsec / 1000000);
}

/* Under *j->lock. */
static void set_name(struct job *j, const char *ns, const char *name, const char *version)
{
	snprintf(j->st.ns, sizeof(j->st.ns), "%s", ns);
	snprintf(j->st.name, sizeof(j->st.name), "%s", name);
	snprintf(j->st.version, sizeof(j->st.version), "%s", version);
	plugin_package_name(name, ns, j->st.package, sizeof(j->st.package));
}

void job_name(struct job *j, const char *ns, const char *name, const char *version)
{
	pthread_mutex_lock(j->lock);
	set_name(j, ns, name, version);
	job_changed(j);
	pthread_mutex_unlock(j->lock);
}

void job_identify(struct job *j, const struct plugin_meta *m, const char *yml, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, yml, len);
		copy[len] = 0;
	}
	pthread_mutex_lock(j->lock);
	set_name(j, m->namespace, m->name, m->version);
	free(j->plugin_yml);
	j->plugin_yml = copy;
	j->plugin_yml_len = copy ? len : 0;
	job_changed(j);
	pthread_mutex_unlock(j->lock);
}

void job_fail(struct job *j, const char *error_id, const char *message, const struct error *report,
	      const char *fmt, ...)
{
	char reason[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(j->lock);
	job_status_fail(&j->st, error_id, message, report, "%s", reason);
	if (j->undo_pending) {
		/* the failure shows once it is undone: until then the job is still at work */
		j->st.state = JOB_STATE_INSTALLING;
		snprintf(j->st.waiting, sizeof(j->st.waiting),
			 "for the undo of this failed install");
		j->failed_pending = 1;
	}
	job_changed(j);
	pthread_mutex_unlock(j->lock);
	job_logf(j, "error: %s\n", reason);
	for (size_t i = 0; report && i < report->n; i++)
		job_logf(j, "  %s: %s\n", report->e[i].field, report->e[i].message);
}

void job_dependency_added(struct job *j, const char *key)
{
	pthread_mutex_lock(j->lock);
	char *list = j->st.dependencies_added;
	size_t n = strlen(list), size = sizeof(j->st.dependencies_added);
	if (n + strlen(key) + 3 < size)
		snprintf(list + n, size - n, "%s%s", n ? ", " : "", key);
	job_changed(j);
	pthread_mutex_unlock(j->lock);
}

void job_set_origin(struct job *j, const char *origin)
{
	pthread_mutex_lock(j->lock);
	snprintf(j->st.origin, sizeof(j->st.origin), "%s", origin);
	job_changed(j);
	pthread_mutex_unlock(j->lock);
}

void job_set_source_sha256(struct job *j, const char *hex)
{
	pthread_mutex_lock(j->lock);
	snprintf(j->st.source_sha256, sizeof(j->st.source_sha256), "%s", hex);
	job_changed(j);
	pthread_mutex_unlock(j->lock);
}

void job_undo_pending(struct job *j, int pending)
{
	pthread_mutex_lock(j->lock);
	j->undo_pending = pending;
	if (!pending && j->failed_pending) { /* a failure with nothing to undo shows now */
		j->failed_pending = 0;
		j->st.state = JOB_STATE_ERROR;
		j->st.waiting[0] = 0;
		job_changed(j);
	}
	pthread_mutex_unlock(j->lock);
}

void job_rolled_back(struct job *j, const char *version, const char *error)
{
	pthread_mutex_lock(j->lock);
	snprintf(j->st.rolled_back_to, sizeof(j->st.rolled_back_to), "%s", version);
	if (snprintf(j->st.rollback_error, sizeof(j->st.rollback_error), "%s", error) >=
	    (int)sizeof(j->st.rollback_error))
		utf8_cut_end(j->st.rollback_error);
	j->undo_pending = j->failed_pending = 0;
	j->st.state = JOB_STATE_ERROR;
	j->st.waiting[0] = 0;
	job_changed(j);
	pthread_mutex_unlock(j->lock);
	if (*version)
		job_logf(j, "rolled back to %s\n", version);
}

void job_set_state(struct job *j, enum job_state state)
{
	pthread_mutex_lock(j->lock);
	j->st.state = state;
	job_changed(j);
	pthread_mutex_unlock(j->lock);
}
