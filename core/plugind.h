/* plugind: the daemon's state and the API fs/ calls. It owns the job list, the cache of
 * installed plugins (read from the dpkg database, refreshed when it changes), the
 * incoming/ tracker, a worker thread that runs install jobs, and a monitor thread that
 * notices complete copies and dpkg database changes. Every call answers from memory
 * except plugind_remove(), which returns when the removal is over (as rmdir must). */
#ifndef WAZOFS_PLUGIND_H
#define WAZOFS_PLUGIND_H
#include "config.h"
#include "name_list.h"
#include "strbuf.h"
#include <sys/types.h>
#include <time.h>

struct plugind;

/* Content of a view file: an open fd (read with pread) or a buffer; one of them. */
struct view {
	int fd;
	char *buf;
	size_t len;
	struct timespec mtime; /* a buffer view: when its content last changed */
};
/* An empty view (no fd, no buffer); view_release frees one and empties it again. */
void view_init(struct view *v);
void view_release(struct view *v);

/* Sets up the state dir (incoming, jobs, packages, logs), restores failed jobs, queues
 * copies that were not processed, reads the dpkg database. Starts no thread. */
int plugind_new(struct plugind **out, const struct wazofs_config *cfg, struct strbuf *err);
/* Starts the worker and monitor threads (termination signals blocked in them). */
int plugind_start(struct plugind *p);
/* Cancels the running job, stops and joins the threads. Safe if never started. */
void plugind_stop(struct plugind *p);
void plugind_free(struct plugind *p);

/* How fs/ hears which paths of the mount changed, so the kernel's cache of them can be
 * dropped. changed gets each path ("/ns/name/status") whose name, attributes or content
 * changed; it is called with core locks held, so it only notes the path. flush (may be
 * NULL) is called by the worker, holding no lock, when a job ends: it returns once the
 * paths noted so far are dropped (so the end of a job is seen at once). */
struct plugind_cache_hooks {
	void (*changed)(void *ctx, const char *path);
	void (*flush)(void *ctx);
	void *ctx;
};
void plugind_set_cache_hooks(struct plugind *p, const struct plugind_cache_hooks *h);

/* The tree. Lists are filled with copies (caller frees with name_list_free). */
int plugind_list_namespaces(struct plugind *p, struct name_list *out);
/* -ENOENT when the namespace is unknown. */
int plugind_list_plugins(struct plugind *p, const char *ns, struct name_list *out);
int plugind_list_leaves(struct plugind *p, const char *ns, const char *name, struct name_list *out);
/* When plugin ns/name last changed (its job, or dpkg installing it): the mtime of its
 * directory. -ENOENT when there is no such plugin. */
int plugind_plugin_mtime(struct plugind *p, const char *ns, const char *name, struct timespec *out);
/* When the market file was last (re)loaded: the mtime of market/ dirs. */
struct timespec plugind_market_mtime(struct plugind *p);
int plugind_view_open(struct plugind *p, const char *ns, const char *name, const char *leaf,
		      struct view *v);
/* <ns>/<name>/versions/: the kept packages of that plugin (-ENOENT: no such plugin). */
int plugind_list_versions(struct plugind *p, const char *ns, const char *name,
			  struct name_list *out);
int plugind_version_open(struct plugind *p, const char *ns, const char *name, const char *file,
			 struct view *v);
/* repo/: an APT repository of the kept packages. rel is the path below repo/ ("" for
 * repo/ itself). list: -ENOTDIR for a file; open: -EISDIR for a directory; -ENOENT. */
int plugind_repo_list(struct plugind *p, const char *rel, struct name_list *out);
int plugind_repo_open(struct plugind *p, const char *rel, struct view *v);
/* When the package set last changed: the mtime of repo/'s directories. */
struct timespec plugind_repo_mtime(struct plugind *p);
/* mkdir/rmdir of a namespace directory; -EINVAL for an invalid namespace name. */
int plugind_mkdir_namespace(struct plugind *p, const char *ns);
int plugind_rmdir_namespace(struct plugind *p, const char *ns);
/* mkdir of <ns>/<name>: install from the market (-ENOENT: nothing to install). */
int plugind_install_from_market(struct plugind *p, const char *ns, const char *name);
/* Uninstalls ns/name (cancelling its running job first); returns when done. 0, -ENOENT,
 * or -EIO (status says why). */
int plugind_remove(struct plugind *p, const char *ns, const char *name);

/* market/: namespaces (ns NULL) or names of a namespace; -ENOENT without a market or
 * for an unknown namespace. */
int plugind_market_list(struct plugind *p, const char *ns, struct name_list *out);
/* The `info` file of a market entry. */
int plugind_market_info(struct plugind *p, const char *ns, const char *name, struct view *v);

/* incoming/: the backing directory and the events fs/ reports on it. */
const char *plugind_incoming_dir(struct plugind *p);
/* When the tree last changed (a job, or the dpkg database): the mtime of the top and
 * namespace dirs. */
struct timespec plugind_tree_mtime(struct plugind *p);
/* MOUNT/status: the daemon and every job (queued ones included), YAML. */
int plugind_overview_open(struct plugind *p, struct view *v);
/* MOUNT/history: STATE/history, one line per finished install or removal. */
int plugind_history_open(struct plugind *p, struct view *v);
/* MOUNT/events: the number of the last event, and the events after *seq (waits up to
 * timeout_ms for one; 0 when none came, -ESHUTDOWN at unmount). */
unsigned long long plugind_events_now(struct plugind *p);
int plugind_events_read(struct plugind *p, unsigned long long *seq, unsigned timeout_ms,
			struct strbuf *out);
/* The uid of the caller of the current request, for the history (per thread). */
void plugind_set_caller(uid_t uid);
/* The settings the daemon runs with (resolved group and build user included). */
const struct wazofs_config *plugind_config(struct plugind *p);
void plugind_incoming_touch(struct plugind *p, const char *entry, pid_t pid);
void plugind_incoming_open(struct plugind *p, const char *entry, pid_t pid);
void plugind_incoming_close(struct plugind *p, const char *entry);
/* The user removed incoming/ENTRY: forget its job. */
void plugind_incoming_gone(struct plugind *p, const char *entry);
/* ENTRY.status and ENTRY.log of the jobs that came from incoming/. */
int plugind_incoming_virtual(struct plugind *p, struct name_list *out);
int plugind_incoming_view_open(struct plugind *p, const char *fname, struct view *v);
/* Removing ENTRY.status discards the failed job and its copy; -EBUSY while it runs. */
int plugind_incoming_virtual_unlink(struct plugind *p, const char *fname);
#endif
