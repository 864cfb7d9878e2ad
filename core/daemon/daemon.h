/* daemon: the daemon's state and the API fs/ calls. It owns the job list, the cache of
 * installed plugins (read from the dpkg database, refreshed when it changes), the
 * incoming/ tracker, a worker thread that runs install jobs, a remover thread that runs
 * removals, and a loop thread that notices complete copies and dpkg database changes. Every call
 * answers from memory except daemon_remove(), which returns when the removal is over (as rmdir
 * must). */
#ifndef WAZOFS_DAEMON_H
#define WAZOFS_DAEMON_H
#include "base/error.h"
#include "base/name_list.h"
#include "base/strbuf.h"
#include "config/config.h"
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct daemon;

/* Content of a view file: an open fd (read with pread) or a buffer; one of them. */
struct view {
	int fd;
	char *buf;
	size_t len;
	struct timespec mtime; /* a buffer view: when its content last changed */
	/* every change of this content is told through daemon_cache_hooks (a log that a
	 * job appends to is not): the kernel may keep the text until then */
	int cacheable;
};
/* An empty view (no fd, no buffer); view_release frees one and empties it again. */
static inline void view_init(struct view *v)
{
	*v = (struct view){ .fd = -1 };
}
void view_release(struct view *v);

/* Sets up the state dir (incoming, jobs, packages, logs), restores failed jobs, queues
 * copies that were not processed, reads the dpkg database. Starts no thread. */
int daemon_new(struct daemon **out, const struct wazofs_config *cfg, struct error *err);
/* Starts the worker, remover and loop threads (termination signals blocked in them). */
int daemon_start(struct daemon *p);
/* Cancels the running job, stops and joins the threads. Safe if never started. */
void daemon_stop(struct daemon *p);
void daemon_free(struct daemon *p);

/* How fs/ hears what changed, so the kernel's cache of it can be dropped. The core
 * knows no mount path: fs/ alone does. Each hook is called with core locks held, so it
 * only notes what changed:
 * - plugin: ns/name changed (name "" for the namespace alone): what shows it;
 * - job: the job of incoming/entry changed (its ENTRY.status and .log, MOUNT/status,
 *   history; a plugin's job also calls plugin);
 * - copy_gone: the daemon removed the copy incoming/entry;
 * - market: the market was reloaded; repo: the set of kept packages changed.
 * flush (may be NULL) is called by the worker, holding no lock, when a job ends: it
 * returns once what was noted so far is dropped (so the end of a job is seen at once). */
struct daemon_cache_hooks {
	void (*plugin)(void *ctx, const char *ns, const char *name);
	void (*job)(void *ctx, const char *entry);
	void (*copy_gone)(void *ctx, const char *entry);
	void (*market)(void *ctx);
	void (*repo)(void *ctx);
	void (*flush)(void *ctx);
	void *ctx;
};
void daemon_set_cache_hooks(struct daemon *p, const struct daemon_cache_hooks *h);

/* The tree. Lists are filled with copies (caller frees with name_list_free). */
int daemon_list_namespaces(struct daemon *p, struct name_list *out);
/* -ENOENT when the namespace is unknown. */
int daemon_list_plugins(struct daemon *p, const char *ns, struct name_list *out);
int daemon_list_leaves(struct daemon *p, const char *ns, const char *name, struct name_list *out);
/* When plugin ns/name last changed (its job, or dpkg installing it): the mtime of its
 * directory. -ENOENT when there is no such plugin. */
int daemon_plugin_mtime(struct daemon *p, const char *ns, const char *name, struct timespec *out);
/* When the market file was last (re)loaded: the mtime of market/ dirs. */
struct timespec daemon_market_mtime(struct daemon *p);
int daemon_view_open(struct daemon *p, const char *ns, const char *name, const char *leaf,
		     struct view *v);
/* <ns>/<name>/versions/: the kept packages of that plugin (-ENOENT: no such plugin). */
int daemon_list_versions(struct daemon *p, const char *ns, const char *name, struct name_list *out);
int daemon_version_open(struct daemon *p, const char *ns, const char *name, const char *file,
			struct view *v);
/* <ns>/<name>/source/: the kept source of the installed version, read-only (rel is the
 * path below source/, "" for source/ itself). Nothing on the way is followed: a link
 * in the source is shown as one. -ENOENT when there is none. */
int daemon_source_stat(struct daemon *p, const char *ns, const char *name, const char *rel,
		       struct stat *st);
/* -ENOTDIR for what is not a directory. */
int daemon_source_list(struct daemon *p, const char *ns, const char *name, const char *rel,
		       struct name_list *out);
/* A regular file's view (its fd); -EISDIR for a directory, -EINVAL for a link. */
int daemon_source_open(struct daemon *p, const char *ns, const char *name, const char *rel,
		       struct view *v);
/* A link's target (NUL-terminated, at most len - 1 bytes); -EINVAL for what is not one. */
int daemon_source_readlink(struct daemon *p, const char *ns, const char *name, const char *rel,
			   char *buf, size_t len);
/* <ns>/<name>/verify: "changed /PATH" and "missing /PATH" for each installed file of the
 * plugin that differs from its package's checksums, computed now; it reads every file,
 * so fs/ calls it off its request threads. -ENOENT when the plugin is not installed. */
int daemon_verify(struct daemon *p, const char *ns, const char *name, struct view *v);
/* repo/: an APT repository of the kept packages. rel is the path below repo/ ("" for
 * repo/ itself). list: -ENOTDIR for a file; open: -EISDIR for a directory; -ENOENT. */
int daemon_repo_list(struct daemon *p, const char *rel, struct name_list *out);
int daemon_repo_open(struct daemon *p, const char *rel, struct view *v);
/* When the package set last changed: the mtime of repo/'s directories. */
struct timespec daemon_repo_mtime(struct daemon *p);
/* mkdir/rmdir of a namespace directory; -EINVAL for an invalid namespace name. */
int daemon_mkdir_namespace(struct daemon *p, const char *ns);
int daemon_rmdir_namespace(struct daemon *p, const char *ns);
/* mkdir of <ns>/<name>: install from the market (-ENOENT: nothing to install). */
int daemon_install_from_market(struct daemon *p, const char *ns, const char *name);
/* Uninstalls ns/name (cancelling its running job first); returns when done. 0, -ENOENT,
 * or -EIO (status says why). */
int daemon_remove(struct daemon *p, const char *ns, const char *name);
/* The same, in the background (an `rm -r` waits without holding a thread): done(ctx, rc)
 * is called once, from the remover thread, when the removal is over (rc as
 * daemon_remove's; -EINTR when the daemon stops before it began). Returns 0 once
 * queued; else, at once and without done: -ENOENT (no such plugin, no job of it), -EBUSY
 * (its removal is under way) or -ENOMEM. uid is who asked (the history). */
typedef void daemon_done_fn(void *ctx, int rc);
int daemon_remove_async(struct daemon *p, const char *ns, const char *name, uid_t uid,
			daemon_done_fn *done, void *ctx);

/* market/: namespaces (ns NULL) or names of a namespace; -ENOENT without a market or
 * for an unknown namespace. */
int daemon_market_list(struct daemon *p, const char *ns, struct name_list *out);
/* The `info` file of a market entry. */
int daemon_market_info(struct daemon *p, const char *ns, const char *name, struct view *v);

/* incoming/: the backing directory and the events fs/ reports on it. */
const char *daemon_incoming_dir(struct daemon *p);
/* When the tree last changed (a job, or the dpkg database): the mtime of the top and
 * namespace dirs. */
struct timespec daemon_tree_mtime(struct daemon *p);
/* MOUNT/status: the daemon and every job (queued ones included), YAML. */
int daemon_overview_open(struct daemon *p, struct view *v);
/* MOUNT/history: STATE/history, one line per finished install or removal. */
int daemon_history_open(struct daemon *p, struct view *v);
/* MOUNT/events: the number of the last event, and the events after *seq (waits up to
 * timeout_ms for one; 0 when none came, -ESHUTDOWN at unmount). */
unsigned long long daemon_events_now(struct daemon *p);
int daemon_events_read(struct daemon *p, unsigned long long *seq, unsigned timeout_ms,
		       struct strbuf *out);
/* The uid of the caller of the current request, for the history (per thread). */
void daemon_set_caller(uid_t uid);
/* The settings the daemon runs with (resolved group and build user included). */
const struct wazofs_config *daemon_config(struct daemon *p);
void daemon_incoming_touch(struct daemon *p, const char *entry, pid_t pid);
void daemon_incoming_open(struct daemon *p, const char *entry, pid_t pid);
void daemon_incoming_close(struct daemon *p, const char *entry);
/* The user removed incoming/ENTRY: forget its job. */
void daemon_incoming_gone(struct daemon *p, const char *entry);
/* ENTRY.status and ENTRY.log of the jobs that came from incoming/. */
int daemon_incoming_virtual(struct daemon *p, struct name_list *out);
int daemon_incoming_view_open(struct daemon *p, const char *fname, struct view *v);
/* Removing ENTRY.status discards the failed job and its copy; -EBUSY while it runs. */
int daemon_incoming_virtual_unlink(struct daemon *p, const char *fname);
#endif
