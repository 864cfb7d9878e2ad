/* daemon_events: what the daemon says about its jobs as they change: a JSON line per
 * change for MOUNT/events (named as wazo-plugind's bus events), and a line per finished
 * install, upgrade, reinstall, rollback or removal in STATE/history (MOUNT/history). */
#include "base/fsutil.h"
#include "event_log.h"
#include "plugin/install_request.h"
#include "plugin/version_cmp.h"
#include "registry.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static __thread uid_t caller_uid;

void daemon_set_caller(uid_t uid)
{
	caller_uid = uid;
}

uid_t daemon_caller(void)
{
	return caller_uid;
}

static void iso_time(const struct timespec *ts, char *out, size_t len)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000);
}

static void add_field(struct strbuf *sb, const char *key, const char *value)
{
	strbuf_addf(sb, ", \"%s\": ", key);
	if (value && *value)
		json_add_string(sb, value);
	else
		strbuf_addf(sb, "null");
}

/* One history line (newline included), secrets redacted. */
static void history_line(struct strbuf *out, uid_t uid, const char *action, const char *ns,
			 const char *name, const char *old_version, const char *new_version,
			 const char *result)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char when[40];
	iso_time(&now, when, sizeof(when));
	struct strbuf line = STRBUF_INIT;
	strbuf_addf(&line, "%s uid=%u %s %s/%s %s -> %s %s", when, (unsigned)uid, action, ns, name,
		    old_version && *old_version ? old_version : "-",
		    new_version && *new_version ? new_version : "-", result);
	for (char *c = line.buf; c && *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' '; /* one line per event, whatever a reason holds */
	url_redact(line.buf ? line.buf : "", line.len, out);
	strbuf_addf(out, "\n");
	strbuf_release(&line);
}

/* Appends text to state/history (no lock held: this is file I/O). */
static void history_append(struct daemon *p, const char *text, size_t len)
{
	char path[PATH_MAX];
	int fd = path_fmt(path, sizeof(path), "%s/history", p->cfg.state)
		     ? -1
		     : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, len) < 0)
		syslog(LOG_WARNING, "cannot append to %s: %m", path);
	if (fd >= 0)
		close(fd);
}

void daemon_history_add(struct daemon *p, uid_t uid, const char *action, const char *ns,
			const char *name, const char *old_version, const char *new_version,
			const char *result)
{
	struct strbuf line = STRBUF_INIT;
	history_line(&line, uid, action, ns, name, old_version, new_version, result);
	if (line.buf && !line.oom)
		history_append(p, line.buf, line.len);
	strbuf_release(&line);
}

void daemon_history_flush(struct daemon *p)
{
	pthread_mutex_lock(&p->lock);
	struct name_list lines = p->history_pending;
	memset(&p->history_pending, 0, sizeof(p->history_pending));
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < lines.n; i++)
		history_append(p, lines.v[i], strlen(lines.v[i]));
	name_list_free(&lines);
}

/* An install job that has ended: its history line, once (queued: p->lock is held). */
static void record_install(struct daemon *p, struct job *j)
{
	const char *action = "install";
	if (j->old_version[0]) {
		int c = 0;
		if (version_cmp(j->st.version, j->old_version, &c))
			c = strcmp(j->st.version, j->old_version);
		action = c > 0 ? "upgrade" : c < 0 ? "rollback" : "reinstall";
	}
	if (j->st.state == JOB_STATE_INSTALLED && j->old_version[0] && !j->reached_install)
		return; /* the same version was already installed: nothing happened */
	char result[sizeof(j->st.reason) + sizeof(j->st.rollback_error) + 200];
	if (j->st.state == JOB_STATE_INSTALLED)
		snprintf(result, sizeof(result), "ok");
	else
		snprintf(result, sizeof(result), "error: %s%s%s%s%s", j->st.reason,
			 j->st.rolled_back_to[0] ? "; rolled back to " : "", j->st.rolled_back_to,
			 j->st.rollback_error[0] ? "; the undo failed: " : "",
			 j->st.rollback_error);
	/* under p->lock: written by daemon_history_flush once the lock is let go */
	struct strbuf line = STRBUF_INIT;
	history_line(&line, j->asked_uid, action, j->st.ns, j->st.name, j->old_version,
		     j->st.version, result);
	if (line.buf && !line.oom && name_list_add(&p->history_pending, line.buf))
		syslog(LOG_WARNING, "a history line is lost (out of memory)");
	strbuf_release(&line);
}

void daemon_job_changed(void *ctx, struct job *j)
{
	struct daemon *p = ctx;
	p->tree_changed = j->changed;
	daemon_job_paths_changed(p, j);
	if (j->kind == JOB_INSTALL && j->st.name[0] && !j->old_known) {
		const struct installed_plugin *ip = find_installed(p, j->st.ns, j->st.name);
		if (ip && dpkg_is_installed(ip))
			snprintf(j->old_version, sizeof(j->old_version), "%s", ip->version);
		j->old_known = 1;
	}
	if (j->st.step == STEP_INSTALLING)
		j->reached_install = 1;
	char when[40];
	iso_time(&j->changed, when, sizeof(when));
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "{\"time\": \"%s\"", when);
	add_field(&sb, "event",
		  j->kind == JOB_REMOVE ? "plugin_uninstall_progress" : "plugin_install_progress");
	add_field(&sb, "namespace", j->st.ns);
	add_field(&sb, "name", j->st.name);
	add_field(&sb, "version", j->st.version);
	add_field(&sb, "state", job_state_name(j->st.state));
	add_field(&sb, "step", job_step_name(j->st.step));
	add_field(&sb, "entry", j->entry);
	add_field(&sb, "error", j->st.error_id);
	strbuf_addf(&sb, "}");
	if (sb.buf && !sb.oom)
		event_log_add(p->events, sb.buf);
	strbuf_release(&sb);
	int ended = j->st.state == JOB_STATE_INSTALLED || j->st.state == JOB_STATE_ERROR;
	if (j->kind == JOB_INSTALL && ended && j->st.name[0] && !j->recorded && !j->undo_pending) {
		j->recorded = 1;
		record_install(p, j);
	}
}

/* Under p->lock: one line of events (stamped now). */
static void add_event(struct daemon *p, struct strbuf *fields)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char when[40];
	iso_time(&now, when, sizeof(when));
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "{\"time\": \"%s\"%s}", when, fields->buf ? fields->buf : "");
	if (sb.buf && !sb.oom && !fields->oom)
		event_log_add(p->events, sb.buf);
	strbuf_release(&sb);
}

void daemon_wazo_event(struct daemon *p, const char *old_version, const char *version)
{
	struct strbuf f = STRBUF_INIT;
	add_field(&f, "event", "wazo_version_changed");
	add_field(&f, "old_version", old_version);
	add_field(&f, "version", version);
	add_event(p, &f);
	strbuf_release(&f);
}

void daemon_compat_event(struct daemon *p, const struct installed_plugin *ip,
			 const struct installed_extra *x)
{
	struct strbuf f = STRBUF_INIT;
	add_field(&f, "event", "plugin_compatibility_changed");
	add_field(&f, "namespace", ip->ns);
	add_field(&f, "name", ip->name);
	add_field(&f, "version", ip->version);
	strbuf_addf(&f, ", \"compatible\": %s", x->compatible ? "true" : "false");
	add_field(&f, "incompatible_reason", x->compatible ? NULL : x->reason);
	add_field(&f, "wazo_version", p->wazo_version);
	add_event(p, &f);
	strbuf_release(&f);
}

int daemon_events_read(struct daemon *p, unsigned long long *seq, unsigned timeout_ms,
		       struct strbuf *out)
{
	return event_log_read(p->events, seq, timeout_ms, out);
}

unsigned long long daemon_events_now(struct daemon *p)
{
	return event_log_seq(p->events);
}
