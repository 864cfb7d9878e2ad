/* pipeline: install = starting, extracting, validating, installing dependencies,
 * building, packaging, updating, installing, cleaning, completed (wazo-plugind's
 * steps); removal = removing, completed. */
#include "pipeline.h"
#include "base/fakeroot.h"
#include "base/fsutil.h"
#include "base/subproc.h"
#include "base/tree_copy.h"
#include "base/tree_snapshot.h"
#include "install_guard.h"
#include "plugin/archive_helper.h"
#include "plugin/deb_reader.h"
#include "plugin/dpkg.h"
#include "plugin/install_request.h"
#include "plugin/package_drop.h"
#include "plugin/plugin_package.h"
#include "plugin/source_digest.h"
#include "source_keep.h"
#include "tree_import.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTALL_ERROR "install-error", "Installation error"

/* The running Wazo version now, in buf; NULL when none is known (bounds not checked). */
static const char *running_wazo(const struct pipeline_env *env, char *buf, size_t len)
{
	buf[0] = 0;
	env->host->wazo_version(env->ctx, buf, len);
	return buf[0] ? buf : NULL;
}

/* Where a build step may write (with Landlock): its work dir (pkgdir and its temp dir
 * are in it), the build user's home, and build_write's directories. */
struct build_writes {
	const char *v[16];
	char tmp[PATH_MAX + 8]; /* the step's TMPDIR: WORKDIR/tmp */
	char extra[sizeof(((struct wazofs_config *)0)->build_write)];
};

/* The longest name the pipeline makes in a work dir ("/package.deb"), with room. */
enum { WORKDIR_NAMES_MAX = 32 };

static void build_writes_init(struct build_writes *bw, const struct pipeline_env *env,
			      const char *workdir)
{
	size_t n = 0;
	memset(bw, 0, sizeof(*bw));
	/* pipeline_install made sure the work dir leaves room for its own names */
	path_fmt(bw->tmp, sizeof(bw->tmp), "%s/tmp", workdir);
	bw->v[n++] = workdir;
	if (env->cfg->build_home[0])
		bw->v[n++] = env->cfg->build_home;
	snprintf(bw->extra, sizeof(bw->extra), "%s", env->cfg->build_write);
	char *save = NULL;
	for (char *d = strtok_r(bw->extra, ":", &save);
	     d && n + 1 < sizeof(bw->v) / sizeof(bw->v[0]); d = strtok_r(NULL, ":", &save))
		bw->v[n++] = d;
	bw->v[n] = NULL;
}

/* What confines a build step here, for its log line. */
static const char *confinement_text(void)
{
	int c = subproc_confinement();
	return (c & SUBPROC_OWN_PIDS) && (c & SUBPROC_LANDLOCK)
		   ? "no_new_privs, own PID namespace, Landlock (writes: work dir, home, "
		     "build_write)"
	       : (c & SUBPROC_OWN_PIDS) ? "no_new_privs, own PID namespace, no Landlock"
	       : (c & SUBPROC_LANDLOCK) ? "no_new_privs, no PID namespace, Landlock (writes: work "
					  "dir, home, build_write)"
					: "no_new_privs, no PID namespace, no Landlock";
}

/* The child that runs a rules step as the build user (argv and environment are the
 * caller's); bw: where it may write (NULL: no such bound). */
static struct subproc rules_subproc(struct job *job, const struct pipeline_env *env,
				    const char *root, const struct build_writes *bw)
{
	const struct wazofs_config *cfg = env->cfg;
	return (struct subproc){
		.write_beneath = bw ? bw->v : NULL,
		.cwd = root,
		.log_fd = job->log_fd,
		.timeout_sec = cfg->job_timeout,
		.cancel = &job->cancel,
		.as_user = !cfg->build_as_root,
		.uid = cfg->build_uid,
		.gid = cfg->build_gid,
		.no_network = !cfg->build_network,
		/* no network: no UNIX socket of the host under /tmp or /run either */
		.hide_host = !cfg->build_network,
	};
}

/* The command line of a rules step in the job's log, with who runs it and how
 * confined. */
static void log_rules_command(struct job *job, const struct wazofs_config *cfg, const char *action,
			      int fakeroot)
{
	if (cfg->build_as_root)
		job_logf(job, "$ %s%s %s\n", fakeroot ? "fakeroot -- " : "", "wazo/rules", action);
	else
		job_logf(job, "$ %s%s %s (as uid %u%s; confinement: %s)\n",
			 fakeroot ? "fakeroot -- " : "", "wazo/rules", action,
			 (unsigned)cfg->build_uid,
			 cfg->build_network
			     ? ""
			     : ", no network, nor the host's /tmp, /var/tmp, /run, /dev/shm",
			 confinement_text());
}

/* `rules ACTION` in the plugin root as the build user; with pkgdir, `rules package`
 * under the fakeroot session fr (or, when faked could not be started, under the fakeroot
 * script). 0, or the job fails. */
static int run_rules(struct job *job, const struct pipeline_env *env, const char *root,
		     const char *workdir, const char *action, const char *pkgdir,
		     const struct fakeroot *fr, time_t source_date)
{
	const struct wazofs_config *cfg = env->cfg;
	char rules[PATH_MAX], pkgenv[PATH_MAX + 16], tmpenv[PATH_MAX + 16], sde[48];
	struct build_writes bw;
	build_writes_init(&bw, env, workdir);
	if (path_fmt(rules, sizeof(rules), "%s/wazo/rules", root)) {
		job_fail(job, INSTALL_ERROR, NULL, "%s/wazo/rules: path too long", root);
		return -ENAMETOOLONG;
	}
	snprintf(pkgenv, sizeof(pkgenv), "pkgdir=%s", pkgdir ? pkgdir : "");
	snprintf(tmpenv, sizeof(tmpenv), "TMPDIR=%s", bw.tmp);
	/* reproducible-builds.org's: the time a build may write into what it makes */
	snprintf(sde, sizeof(sde), "SOURCE_DATE_EPOCH=%lld", (long long)source_date);
	/* PATH, TMPDIR, SOURCE_DATE_EPOCH, pkgdir, then the fakeroot session's four, NULL */
	const char *env_vars[10] = { subproc_default_path(), tmpenv, sde, pkgdir ? pkgenv : NULL,
				     NULL };
	const char *plain[] = { rules, action, NULL };
	const char *script[] = { "fakeroot", "--", rules, action, NULL };
	struct subproc sp = rules_subproc(job, env, root, &bw);
	sp.argv = pkgdir ? script : plain;
	sp.env = env_vars;
	if (mkdir(bw.tmp, 0700) == 0 && !cfg->build_as_root &&
	    lchown(bw.tmp, cfg->build_uid, cfg->build_gid) < 0)
		job_logf(job, "cannot hand %s to the build user: %s\n", bw.tmp, strerror(errno));
	log_rules_command(job, cfg, action, pkgdir != NULL);
	if (pkgdir && fr && fr->faked.pid > 0) { /* faked started by the caller */
		sp.argv = plain;
		memcpy(&env_vars[4], fr->env, sizeof(fr->env));
	}
	int rc = subproc_run(&sp);
	unsigned long long used = 0;
	if (rc == 0 && tree_disk_usage(workdir, &used) == 0 && used > cfg->work_max_bytes) {
		job_fail(job, INSTALL_ERROR, NULL,
			 "after `rules %s` the work dir holds %llu bytes, more than work_max_bytes "
			 "(%llu)",
			 action, used, cfg->work_max_bytes);
		return -EFBIG;
	}
	if (rc == 0)
		return 0;
	if (sp.cancelled)
		job_fail(job, INSTALL_ERROR, NULL, "cancelled during `rules %s`", action);
	else if (sp.timed_out)
		job_fail(job, INSTALL_ERROR, NULL,
			 "`rules %s` did not finish within %u seconds and was killed", action,
			 env->cfg->job_timeout);
	else if (rc < 0)
		job_fail(job, INSTALL_ERROR, NULL, "cannot run `%s`: %s", sp.argv[0],
			 strerror(-rc));
	else
		job_fail(job, INSTALL_ERROR, NULL, "`rules %s` exited with status %d (see log)",
			 action, rc);
	return -EIO;
}

static void on_lock_wait(void *ctx, int waiting)
{
	struct job *job = ctx;
	pthread_mutex_lock(job->lock);
	snprintf(job->st.waiting, sizeof(job->st.waiting), "%s",
		 waiting ? "for the dpkg lock, held by another program (apt, "
			   "unattended-upgrades, wazo-plugind)"
			 : "");
	job_changed(job);
	pthread_mutex_unlock(job->lock);
}

/* How the job's dpkg and apt runs are bounded: the job timeout, its cancel flag, a
 * bounded wait for another program's dpkg lock (shown in status). */
static struct dpkg_ctl job_dpkg_ctl(struct job *job, const struct pipeline_env *env)
{
	return (struct dpkg_ctl){ .log_fd = job->log_fd,
				  .cancel = &job->cancel,
				  .timeout_sec = env->cfg->job_timeout,
				  .lock_wait_sec = env->cfg->dpkg_lock_timeout,
				  .on_lock_wait = on_lock_wait,
				  .ctx = job };
}

/* Fails the job after a dpkg or apt run that returned rc (not 0). */
static void fail_dpkg(struct job *job, const struct pipeline_env *env, const struct dpkg_ctl *c,
		      const char *error_id, const char *message, const char *tool, int rc)
{
	if (c->lock_timed_out)
		job_fail(job, error_id, message, NULL,
			 "%s: dpkg's lock stayed held by another program for %u seconds", tool,
			 env->cfg->dpkg_lock_timeout);
	else if (c->cancelled)
		job_fail(job, error_id, message, NULL, "cancelled during %s", tool);
	else if (c->timed_out)
		job_fail(job, error_id, message, NULL,
			 "%s did not finish within %u seconds and was killed", tool,
			 env->cfg->job_timeout);
	else if (rc < 0)
		job_fail(job, error_id, message, NULL, "cannot run %s: %s", tool, strerror(-rc));
	else
		job_fail(job, error_id, message, NULL, "%s failed (exit %d, see log)", tool, rc);
}

static int cancelled(struct job *job)
{
	if (!cancel_requested(&job->cancel))
		return 0;
	job_fail(job, INSTALL_ERROR, NULL, "cancelled");
	return 1;
}

/* The snapshot's entry at path (below wazo/), or NULL. */
static const struct tree_snapshot_entry *snapshot_find(const struct tree_snapshot *s,
						       const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].path, path) == 0)
			return &s->v[i];
	return NULL;
}

/* wazo/rules, as the snapshot has it: an executable file (or a link, run as it is). */
static int check_rules(const struct tree_snapshot *wazo, struct error *r)
{
	const struct tree_snapshot_entry *e = snapshot_find(wazo, "rules");
	if (!e)
		error_field(r, "wazo/rules", "required", "an executable file",
			    "wazo/rules is missing");
	else if (!S_ISREG(e->mode) && !S_ISLNK(e->mode))
		error_field(r, "wazo/rules", "type", "an executable file",
			    "wazo/rules is not a regular file");
	else if (S_ISREG(e->mode) && !(e->mode & 0111))
		error_field(r, "wazo/rules", "type", "an executable file",
			    "wazo/rules is not executable");
	return r->n ? -EINVAL : 0;
}

/* plugin.yml and rules, from the snapshot of wazo/ (root reads nothing of the tree by
 * path). */
static int step_validate(struct job *job, const struct pipeline_env *env,
			 const struct tree_snapshot *wazo, struct plugin_meta *m)
{
	struct error r = ERROR_INIT;
	char running[64];
	const char *wv = running_wazo(env, running, sizeof(running));
	const struct tree_snapshot_entry *yml = snapshot_find(wazo, "plugin.yml");
	int rc;
	if (!yml || !S_ISREG(yml->mode)) {
		error_field(&r, "_yaml", "required", NULL, "cannot read wazo/plugin.yml: %s",
			    yml ? "not a regular file" : strerror(ENOENT));
		rc = -EINVAL;
	} else if (yml->len > PLUGIN_YML_MAX) {
		error_field(&r, "_yaml", "size", NULL, "plugin.yml is larger than %d bytes",
			    PLUGIN_YML_MAX);
		rc = -EINVAL;
	} else {
		rc = plugin_meta_parse(yml->data, yml->len, wv, m, &r);
	}
	if (rc == 0) {
		struct error rr = ERROR_INIT;
		if (plugin_meta_check_limits(m, &rr) == 0)
			job_identify(job, m, yml->data, yml->len);
		if (rr.n || check_rules(wazo, &rr)) {
			error_take_fields(&r, &rr);
			rc = -EINVAL;
			plugin_meta_destroy(m);
		}
		error_release(&rr);
	}
	if (rc) {
		job_fail(job, "validation-error", "Validation error", &r,
			 "wazo/plugin.yml or wazo/rules is not valid: %s: %s",
			 r.n ? r.e[0].field : "_yaml", r.n ? r.e[0].message : error_msg(&r));
		error_release(&r);
		return rc;
	}
	error_release(&r);
	if (!wv)
		job_logf(job, "no running Wazo version known: min/max_wazo_version not checked\n");
	return 0;
}

/* 1 when version of ns/name is installed and no reinstall was asked: the job is done
 * (state installed). installed: the version installed now, "" for none (what a failure
 * from the installing step on goes back to), a buffer of 128. */
static int nothing_to_do(struct job *job, const struct pipeline_env *env, const char *ns,
			 const char *name, const char *version, int reinstall, char *installed)
{
	if (env->host->installed_version(env->ctx, ns, name, installed, 128))
		installed[0] = 0;
	if (installed[0] && strcmp(installed, version) == 0 && !reinstall) {
		job_logf(job, "%s/%s %s is already installed: nothing to do\n", ns, name, version);
		job_set_state(job, JOB_STATE_INSTALLED);
		return 1;
	}
	if (installed[0])
		job_logf(job, "%s/%s %s is installed: %s to %s\n", ns, name, installed,
			 strcmp(installed, version) ? "changing" : "reinstalling", version);
	return 0;
}

/* Installs each missing dependency of m (from the market). */
static int each_dependency(struct job *job, const struct pipeline_env *env,
			   const struct plugin_meta *m, struct name_list *chain)
{
	for (size_t i = 0; i < m->n_depends; i++) {
		char ver[128], key[256];
		const struct plugin_dep *d = &m->depends[i];
		if (env->host->installed_version(env->ctx, d->namespace, d->name, ver,
						 sizeof(ver)) == 0) {
			job_logf(job, "dependency %s/%s is installed (%s): left as it is\n",
				 d->namespace, d->name, ver);
			continue;
		}
		snprintf(key, sizeof(key), "%s/%s", d->namespace, d->name);
		if (name_list_has(chain, key)) {
			struct strbuf cycle = STRBUF_INIT;
			size_t from = 0;
			while (from < chain->n && strcmp(chain->v[from], key))
				from++;
			for (size_t j = from; j < chain->n; j++)
				strbuf_addf(&cycle, "%s -> ", chain->v[j]);
			strbuf_addf(&cycle, "%s", key);
			job_fail(job, INSTALL_ERROR, NULL, "dependency cycle: %s",
				 cycle.buf ? cycle.buf : key);
			strbuf_release(&cycle);
			return -ELOOP;
		}
		job_logf(job, "dependency %s is not installed: installing it first\n", key);
		struct error err = ERROR_INIT;
		int rc =
		    env->host->install_dependency(env->ctx, d->namespace, d->name, chain, &err);
		if (rc)
			job_fail(job, INSTALL_ERROR, NULL, "dependency %s: %s", key,
				 error_msg(&err));
		error_release(&err);
		if (rc)
			return rc;
		job_logf(job, "dependency %s installed\n", key);
		job_dependency_added(job, key);
	}
	return 0;
}

/* Installs m's missing depends; m is on chain meanwhile (to report cycles). */
static int step_dependencies(struct job *job, const struct pipeline_env *env,
			     const struct plugin_meta *m, struct name_list *chain)
{
	char self[256];
	snprintf(self, sizeof(self), "%s/%s", m->namespace, m->name);
	name_list_add(chain, self);
	int rc = each_dependency(job, env, m, chain);
	name_list_remove(chain, self);
	return rc;
}

/* Where the package of ns/name at version is kept (state/packages/FILE) and where this
 * job puts it until dpkg has installed it (state/packages/.pending/FILE, made free):
 * 0 or -errno. */
static int package_paths(const struct pipeline_env *env, const char *ns, const char *name,
			 const char *version, char *kept, char *pending, size_t len)
{
	char dir[PATH_MAX], pdir[PATH_MAX];
	kept[0] = pending[0] = 0; /* "" until known: nothing to remove or keep */
	int rc = path_fmt(dir, sizeof(dir), "%s/packages", env->cfg->state);
	if (!rc)
		rc = path_fmt(pdir, sizeof(pdir), "%s/" PLUGIN_PENDING_DIR, dir);
	if (!rc)
		rc = plugin_package_paths(dir, ns, name, version, kept, pending, len);
	if (!rc)
		rc = mkdir_p(dir, 0755);
	if (!rc && mkdir(pdir, 0700) < 0 && errno != EEXIST)
		rc = -errno;
	if (!rc && unlink(pending) < 0 && errno != ENOENT) /* a crashed job's */
		rc = -errno;
	return rc;
}

/* The last two steps of an install that succeeded: cleaning (the work dir goes, when
 * there is one) and completed. */
static void step_finish(struct job *job, const char *workdir)
{
	job_step(job, STEP_CLEANING);
	if (workdir)
		rm_rf(workdir);
	job_step(job, STEP_COMPLETED);
}

/* After the install of the pending package: rc 0 keeps it (it replaces the kept file of
 * that version, its mtime marks it as the last installed) and prunes all but the
 * keep_versions others most recently installed; a failure drops it and leaves the kept
 * packages as they were, so a package that did not install is never shown in versions/
 * nor served in repo/. */
static void settle_package(struct job *job, const struct pipeline_env *env, const char *ns,
			   const char *name, const char *kept, const char *pending, int rc)
{
	if (rc || !pending[0]) {
		if (pending[0] && unlink(pending) < 0 && errno != ENOENT)
			job_logf(job, "cannot remove %s: %s\n", pending, strerror(errno));
		return;
	}
	if (rename(pending, kept) < 0) {
		job_logf(job, "the package is not kept: cannot move %s to %s: %s\n", pending, kept,
			 strerror(errno));
		unlink(pending);
		return;
	}
	char dir[PATH_MAX], pkg[300];
	plugin_package_name(name, ns, pkg, sizeof(pkg));
	if (utimensat(AT_FDCWD, kept, NULL, 0) < 0)
		job_logf(job, "cannot touch %s: %s\n", kept, strerror(errno));
	if (path_fmt(dir, sizeof(dir), "%s/packages", env->cfg->state) == 0)
		plugin_prune_packages(dir, pkg, strrchr(kept, '/') + 1, env->cfg->keep_versions);
}

/* The package written by the build user: read as a dropped package is (through the
 * helper, as root), it must be the package of m. */
static int check_built(struct job *job, const struct pipeline_env *env, const char *deb,
		       const struct plugin_meta *m)
{
	struct deb_info d = { 0 };
	struct error err = ERROR_INIT;
	struct plugin_meta got = { 0 };
	char running[64];
	const char *wv = running_wazo(env, running, sizeof(running));
	int rc = helper_deb_read(deb, DEB_READ_DATA, &d, &err);
	if (!rc)
		rc = package_drop_validate(&d, wv, &got, &err);
	if (!rc && (strcmp(got.namespace, m->namespace) || strcmp(got.name, m->name) ||
		    strcmp(got.version, m->version))) {
		error_addf(&err, "it holds %s/%s %s", got.namespace, got.name, got.version);
		rc = -EINVAL;
	}
	if (rc)
		job_fail(job, INSTALL_ERROR, NULL, "the package written is not the plugin's: %s",
			 err.n	       ? err.e[0].message
			 : err.msg.buf ? err.msg.buf
				       : strerror(-rc));
	plugin_meta_destroy(&got);
	deb_info_release(&d);
	error_release(&err);
	return rc;
}

/* `rules package` under fakeroot, then the package written by the build user under
 * the same fakeroot session (as dpkg-deb under fakeroot writes wazo-plugind's) into
 * deb, its pending path, which root opened (kept is where it goes once installed);
 * root reads pkgdir never. */
static int step_package(struct job *job, const struct pipeline_env *env, const char *root,
			const char *workdir, const struct plugin_meta *m,
			const struct tree_snapshot *wazo, const struct package_provenance *prov,
			char *deb, char *kept, size_t len)
{
	const struct wazofs_config *cfg = env->cfg;
	char pkgdir[PATH_MAX];
	path_fmt(pkgdir, sizeof(pkgdir), "%s/pkg", workdir); /* room checked at the start */
	/* `rules package` must start from an empty pkgdir: one that exists is refused */
	int rc = mkdir(pkgdir, 0755) < 0 ? -errno : 0;
	if (!rc && !cfg->build_as_root && lchown(pkgdir, cfg->build_uid, cfg->build_gid) < 0)
		rc = -errno;
	if (rc) {
		job_fail(job, INSTALL_ERROR, NULL, "cannot create %s: %s", pkgdir, strerror(-rc));
		return rc;
	}
	struct fakeroot fr = { 0 };
	/* faked runs as rules package will: its user and network (it writes no file) */
	struct subproc like = rules_subproc(job, env, root, NULL);
	const char *path_only[] = { subproc_default_path(), NULL };
	like.env = path_only;
	if (fakeroot_start(&fr, &like) != 0)
		fr.faked.pid = 0; /* the fakeroot script runs rules package instead */
	rc = run_rules(job, env, root, workdir, "package", pkgdir, &fr, prov->source_date);
	int fd = -1;
	if (!rc) {
		rc = package_paths(env, m->namespace, m->name, m->version, kept, deb, len);
		if (!rc) {
			fd = open(deb, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			rc = fd < 0 ? -errno : 0;
		}
		if (rc) {
			job_fail(job, INSTALL_ERROR, NULL, "cannot write the package in %s: %s",
				 cfg->state, strerror(-rc));
			deb[0] = 0;
		}
	}
	if (!rc) {
		const char *env_vars[7] = { subproc_default_path(), NULL };
		if (fr.faked.pid > 0)
			memcpy(&env_vars[1], fr.env, sizeof(fr.env));
		struct helper_user who = { !cfg->build_as_root, cfg->build_uid, cfg->build_gid,
					   env_vars };
		struct error err = ERROR_INIT;
		rc = plugin_package_write(m, wazo, prov, pkgdir, fd, &who, &err);
		if (rc)
			job_fail(job, INSTALL_ERROR, NULL, "packaging failed: %s",
				 err.msg.buf ? err.msg.buf : strerror(-rc));
		error_release(&err);
	}
	fakeroot_stop(&fr);
	if (fd >= 0)
		close(fd);
	if (!rc)
		rc = check_built(job, env, deb, m);
	if (!rc)
		job_logf(job, "wrote %s\n", deb);
	return rc;
}

static int step_update(struct job *job, const struct pipeline_env *env, const struct plugin_meta *m)
{
	if (!m->n_debian_depends)
		return 0;
	struct dpkg_ctl c = job_dpkg_ctl(job, env);
	pthread_mutex_lock(env->pkg_lock);
	int rc = apt_update(env->cfg->root, &c);
	pthread_mutex_unlock(env->pkg_lock);
	if (rc)
		fail_dpkg(job, env, &c, INSTALL_ERROR, "apt-get update", rc);
	return rc ? -EIO : 0;
}

/* dpkg installs target, a .deb; apt does (use_apt) when debian_depends must be
 * resolved, target then a .deb or package[=version] from the APT sources. reinstall:
 * apt installs it again when that version is installed already (dpkg -i always does).
 * A failure is undone (install_guard): back to old ("" for none: purged). */
static int step_install(struct job *job, const struct pipeline_env *env, const char *ns,
			const char *name, const char *version, const char *target, int use_apt,
			const char *old, int reinstall)
{
	const char *tool = use_apt ? "apt-get install" : "dpkg --install";
	struct dpkg_ctl c = job_dpkg_ctl(job, env);
	/* what a restart finishes if the daemon dies from here on (before dpkg runs) */
	int rc = guard_begin(env->cfg, ns, name, old, version, job->entry);
	if (rc) {
		job_fail(job, INSTALL_ERROR, NULL, "cannot write the undo journal: %s",
			 strerror(-rc));
		return rc;
	}
	job_undo_pending(job, 1);
	pthread_mutex_lock(env->pkg_lock);
	rc = use_apt ? apt_install(env->cfg->root, target, reinstall, &c)
		     : dpkg_install(env->cfg->root, target, &c);
	pthread_mutex_unlock(env->pkg_lock);
	env->host->dpkg_changed(env->ctx);
	if (rc)
		fail_dpkg(job, env, &c, INSTALL_ERROR, tool, rc);
	if (rc && !c.lock_timed_out)
		guard_undo(job, env, ns, name, old);
	else if (rc)
		job_undo_pending(job, 0); /* dpkg never ran: nothing to undo */
	return rc ? -EIO : 0;
}

/* The checking step after an install of ns/name at version: a failed check is undone
 * (back to old). */
static int step_check(struct job *job, const struct pipeline_env *env, const char *ns,
		      const char *name, const char *version, const char *old)
{
	int rc = guard_check(job, env, ns, name, version);
	if (rc)
		guard_undo(job, env, ns, name, old);
	else
		job_undo_pending(job, 0);
	return rc;
}

/* Hands workdir to the build user, with a git config that lets git clone a local
 * repository it does not own: -EIO (the job failed) or 0. */
static int prepare_clone_home(struct job *job, const struct wazofs_config *cfg, const char *workdir)
{
	/* a third party's repository is fetched as the build user, like the build: root
	 * never runs git on it, and a local path root alone may read stays unread */
	if (cfg->build_as_root)
		return 0;
	if (lchown(workdir, cfg->build_uid, cfg->build_gid) < 0) {
		job_fail(job, INSTALL_ERROR, NULL, "cannot hand %s to the build user: %s", workdir,
			 strerror(errno));
		return -EIO;
	}
	/* as the build user, a local repository is someone else's: git refuses it
	 * ("dubious ownership") unless the global config ($HOME is the work dir) says
	 * otherwise; what that guards against (the repository's config running code)
	 * could only run as the build user, which runs the plugin's build anyway */
	char gitconfig[PATH_MAX];
	const char safe[] = "[safe]\n\tdirectory = *\n";
	if (path_fmt(gitconfig, sizeof(gitconfig), "%s/.gitconfig", workdir) == 0 &&
	    write_file_atomic(gitconfig, safe, strlen(safe), 0644) == 0)
		lchown(gitconfig, cfg->build_uid, cfg->build_gid);
	return 0;
}

/* What git wrote (into out_fd, a memfd), redacted, into the job's log; closes out_fd. */
static void log_redacted(struct job *job, int out_fd)
{
	if (out_fd < 0)
		return;
	struct strbuf raw = STRBUF_INIT, clean = STRBUF_INIT;
	if (lseek(out_fd, 0, SEEK_SET) == 0 && strbuf_read_fd(&raw, out_fd, 1 << 20) == 0)
		url_redact(raw.buf ? raw.buf : "", raw.len, &clean);
	if (clean.len)
		job_logf(job, "%s", clean.buf);
	strbuf_release(&raw);
	strbuf_release(&clean);
	close(out_fd);
}

/* How the clone of shown (the redacted URL) ended, in the job's status. */
static void clone_failed(struct job *job, const struct subproc *sp, int rc, const char *shown,
			 const struct install_source *src, unsigned timeout)
{
	const char *ref = src->git_ref && *src->git_ref ? src->git_ref : "";
	if (sp->cancelled)
		job_fail(job, INSTALL_ERROR, NULL, "cancelled during git clone of %s", shown);
	else if (sp->timed_out)
		job_fail(job, INSTALL_ERROR, NULL,
			 "git clone of %s did not finish within %u seconds (download_timeout) and "
			 "was killed",
			 shown, timeout);
	else if (rc < 0)
		job_fail(job, INSTALL_ERROR, NULL, "cannot run git: %s", strerror(-rc));
	else
		job_fail(job, INSTALL_ERROR, NULL, "git clone of %s%s%s failed (exit %d, see log)",
			 shown, *ref ? " at " : "", ref, rc);
}

/* A git command as the build user (who owns the clone), bounded by download_timeout
 * and the job's cancel, its output to log_fd. */
static struct subproc git_subproc(struct job *job, const struct wazofs_config *cfg,
				  const char *const *argv, const char *const *env_vars, int log_fd)
{
	return (struct subproc){ .argv = argv,
				 .env = env_vars,
				 .log_fd = log_fd,
				 .timeout_sec = cfg->download_timeout,
				 .cancel = &job->cancel,
				 .as_user = !cfg->build_as_root,
				 .uid = cfg->build_uid,
				 .gid = cfg->build_gid };
}

/* git clone --depth 1 [--branch REF] URL into tree. */
static int step_download(struct job *job, const struct pipeline_env *env,
			 const struct install_source *src, const char *tree, const char *workdir)
{
	char home[PATH_MAX + 8];
	snprintf(home, sizeof(home), "HOME=%s", workdir);
	const char *env_vars[] = { subproc_default_path(), home, "GIT_TERMINAL_PROMPT=0", NULL };
	int has_ref = src->git_ref && *src->git_ref;
	const char *argv[] = { "git",
			       "clone",
			       "--depth",
			       "1",
			       has_ref ? "--branch" : "--",
			       has_ref ? src->git_ref : src->git_url,
			       has_ref ? "--" : tree,
			       has_ref ? src->git_url : NULL,
			       has_ref ? tree : NULL,
			       NULL };
	const struct wazofs_config *cfg = env->cfg;
	if (prepare_clone_home(job, cfg, workdir))
		return -EIO;
	/* the URL may hold a token: what reaches the log and the status is redacted,
	 * git's own output included (it goes through a memfd first) */
	struct strbuf url = STRBUF_INIT;
	url_redact(src->git_url, strlen(src->git_url), &url);
	const char *shown = url.buf ? url.buf : "";
	job_logf(job, "$ git clone --depth 1 %s%s %s\n", has_ref ? "--branch " : "",
		 has_ref ? src->git_ref : "", shown);
	int out_fd = memfd_create("git-output", MFD_CLOEXEC);
	struct build_writes bw; /* git writes its clone and its HOME, both in workdir */
	build_writes_init(&bw, env, workdir);
	struct subproc sp = git_subproc(job, cfg, argv, env_vars, out_fd);
	sp.write_beneath = bw.v;
	int rc = subproc_run(&sp);
	log_redacted(job, out_fd);
	if (rc || sp.cancelled || sp.timed_out)
		clone_failed(job, &sp, rc, shown, src, cfg->download_timeout);
	strbuf_release(&url);
	return rc ? -EIO : 0;
}

/* The commit a clone checked out and its time (git log -1 as the build user, who owns
 * the clone) into out and *when; "" and 0 when it cannot be told (the log says why). */
static void git_head(struct job *job, const struct pipeline_env *env, const char *tree,
		     const char *workdir, char *out, size_t len, time_t *when)
{
	const struct wazofs_config *cfg = env->cfg;
	char home[PATH_MAX + 8];
	snprintf(home, sizeof(home), "HOME=%s", workdir);
	const char *env_vars[] = { subproc_default_path(), home, NULL };
	const char *argv[] = { "git", "-C", tree, "log", "-1", "--format=%H %ct", NULL };
	struct strbuf head = STRBUF_INIT;
	struct subproc sp = git_subproc(job, cfg, argv, env_vars, job->log_fd);
	sp.capture = &head;
	int rc = subproc_run(&sp);
	size_t n = head.buf ? strspn(head.buf, "0123456789abcdef") : 0;
	out[0] = 0;
	*when = 0;
	if (rc == 0 && n >= 40 && n < len && head.buf[n] == ' ') {
		snprintf(out, len, "%.*s", (int)n, head.buf);
		*when = (time_t)strtoll(head.buf + n + 1, NULL, 10);
	} else
		job_logf(job, "the commit of the clone is not known (git log: %d)\n", rc);
	strbuf_release(&head);
}

/* The plugin root of a git checkout: its subdirectory when one is given. */
static int git_root(const struct install_source *src, const char *tree, char *root, size_t len,
		    struct error *r)
{
	const char *sub = src->git_subdir;
	if (!sub || !*sub)
		return tree_find_plugin_root(tree, root, len, r);
	if (sub[0] == '/' || strstr(sub, "..")) {
		error_field(r, "subdirectory", "regex", NULL,
			    "subdirectory '%s' must be a relative path inside the repository", sub);
		return -EINVAL;
	}
	/* resolved beneath the clone, no link on the way: a subdirectory that is a link
	 * (leading out or not) is refused */
	int tfd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd = tfd < 0 ? -errno : open_beneath(tfd, sub, O_RDONLY | O_DIRECTORY, 0);
	if (tfd >= 0)
		close(tfd);
	if (fd < 0) {
		error_field(r, "subdirectory", "type", "a directory of the repository",
			    "subdirectory '%s' is not a directory of the repository: %s", sub,
			    fd == -ELOOP ? "a symbolic link is on its way" : strerror(-fd));
		return -EINVAL;
	}
	close(fd);
	if (path_fmt(root, len, "%s/%s", tree, sub)) {
		error_field(r, "subdirectory", "maxLength", "a path that fits",
			    "subdirectory '%s': the path is too long", sub);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* After apt installed ns/name at version: its package, from apt's cache under root, is
 * kept in state/packages like one wazofs built (for versions/, rollback and repo/). */
static void keep_apt_package(struct job *job, const struct pipeline_env *env, const char *ns,
			     const char *name, const char *version)
{
	char pkg[300], cached[PATH_MAX], deb[PATH_MAX], quoted[300];
	plugin_package_name(name, ns, pkg, sizeof(pkg));
	size_t q = 0; /* apt's cache file names write the epoch's ':' as %3a */
	for (const char *c = version; *c && q + 4 < sizeof(quoted); c++)
		q +=
		    (size_t)snprintf(quoted + q, sizeof(quoted) - q, *c == ':' ? "%%3a" : "%c", *c);
	quoted[q] = 0;
	struct error err = ERROR_INIT;
	char pending[PATH_MAX] = "";
	deb[0] = 0;
	int rc = path_fmt(cached, sizeof(cached), "%s/var/cache/apt/archives/%s_%s_all.deb",
			  strcmp(env->cfg->root, "/") ? env->cfg->root : "", pkg, quoted);
	if (!rc)
		rc = package_paths(env, ns, name, version, deb, pending, sizeof(deb));
	if (!rc)
		rc = file_copy(cached, pending, &err);
	if (rc)
		job_logf(job, "the package is not kept (%s)\n",
			 err.msg.buf ? err.msg.buf : strerror(-rc));
	/* a copy that failed leaves the package kept of that version as it was */
	settle_package(job, env, ns, name, deb, pending, rc);
	error_release(&err);
}

/* apt-cache show of spec (the package pkg, of version ver when given): the version
 * found into found, checked to be a plugin package; 0, or the job failed (-ENOENT: no
 * such package, -EINVAL: not a plugin, -errno). */
static int apt_find(struct job *job, const struct pipeline_env *env, const char *pkg,
		    const char *spec, const char *ver, char *found, size_t found_len)
{
	struct strbuf show = STRBUF_INIT;
	struct dpkg_ctl c = job_dpkg_ctl(job, env);
	c.capture = &show;
	pthread_mutex_lock(env->pkg_lock);
	int rc = apt_show(env->cfg->root, spec, &c);
	pthread_mutex_unlock(env->pkg_lock);
	char section[128] = "";
	found[0] = 0;
	if (rc == 0) {
		deb_control_field(show.buf ? show.buf : "", "Section", section, sizeof(section));
		deb_control_field(show.buf ? show.buf : "", "Version", found, found_len);
	}
	strbuf_release(&show);
	if (rc == 0 && !found[0])
		rc = 100; /* apt-cache show of a version it lacks says so, then exits 0 */
	struct error r = ERROR_INIT;
	if (rc)
		error_field(&r, "_package", "required", NULL,
			    "the host's APT sources have no package %s%s%s", pkg,
			    ver && *ver ? " of version " : "", ver && *ver ? ver : "");
	else if (strcmp(section, PLUGIN_SECTION))
		error_field(&r, "Section", "regex", PLUGIN_SECTION,
			    "%s is in section '%s', not a wazo-plugind plugin package", pkg,
			    section);
	int failed = r.n > 0;
	if (failed)
		job_fail(job, INSTALL_ERROR, &r, "%s", r.e[0].message);
	error_release(&r);
	return !failed ? 0 : rc < 0 ? rc : rc ? -ENOENT : -EINVAL;
}

/* method: apt: apt-get install wazo-plugind-<name>-<ns>[=version] from the host's APT
 * sources (under root), which resolve its Depends (plugins included). The steps keep
 * the contract's order: the names were checked with the request (validating), then
 * apt-get update (updating); the package must be in the sources, at that version, in
 * section wazo-plugind-plugin, before apt-get install runs (installing). */
static int install_from_apt(struct job *job, const struct pipeline_env *env,
			    const struct install_source *src, int reinstall)
{
	char pkg[300], spec[600], installed[128], found[128];
	const char *ns = src->apt_ns, *name = src->apt_name, *ver = src->apt_version;
	plugin_package_name(name, ns, pkg, sizeof(pkg));
	snprintf(spec, sizeof(spec), "%s%s%s", pkg, ver && *ver ? "=" : "", ver ? ver : "");
	job_step(job, STEP_VALIDATING);
	job_name(job, ns, name, ver ? ver : "");
	job_step(job, STEP_UPDATING);
	struct dpkg_ctl c = job_dpkg_ctl(job, env);
	pthread_mutex_lock(env->pkg_lock);
	int rc = apt_update(env->cfg->root, &c);
	pthread_mutex_unlock(env->pkg_lock);
	if (rc) {
		fail_dpkg(job, env, &c, INSTALL_ERROR, "apt-get update", rc);
		return -EIO;
	}
	job_step(job, STEP_INSTALLING);
	rc = apt_find(job, env, pkg, spec, ver, found, sizeof(found));
	if (rc)
		return rc;
	job_name(job, ns, name, found);
	char old[128];
	if (!nothing_to_do(job, env, ns, name, found, reinstall, old)) {
		rc = step_install(job, env, ns, name, found, spec, 1, old, reinstall);
		if (!rc && !cancelled(job)) {
			job_step(job, STEP_CHECKING);
			rc = step_check(job, env, ns, name, found, old);
		} else if (!rc) {
			job_undo_pending(job, 0); /* cancelled before its checks: no undo */
			rc = -ECANCELED;
		}
		if (rc) {
			guard_end(env->cfg, ns, name);
			return rc;
		}
		if (env->host->installed_version(env->ctx, ns, name, installed,
						 sizeof(installed)) == 0) {
			job_name(job, ns, name, installed);
			keep_apt_package(job, env, ns, name, installed);
			struct source_keep sk;
			job_set_origin(job, "apt");
			source_keep_take(job, env->cfg, ns, name, installed, NULL, "apt", 0, &sk);
			source_keep_commit(job, env->cfg, &sk);
		}
		job_set_state(job, JOB_STATE_INSTALLED);
	}
	guard_end(env->cfg, ns, name); /* the job has ended */
	step_finish(job, NULL);	       /* apt works in its own cache */
	return 0;
}

/* What an install carries from one step to the next. */
struct install_run {
	struct job *job;
	const struct pipeline_env *env;
	const struct install_source *src;
	const char *workdir;
	int reinstall;
	struct name_list *chain;
	struct plugin_meta m;
	struct error err;	   /* what failed, and the fields refused */
	char tree[PATH_MAX];	   /* the extracted or cloned source */
	char root[PATH_MAX];	   /* the plugin root in it */
	char copy[PATH_MAX];	   /* a dropped package: the copy that is checked and installed */
	char deb[PATH_MAX];	   /* the package dpkg installs, pending ("" before there is one) */
	char kept[PATH_MAX];	   /* where it is kept once installed */
	struct tree_snapshot wazo; /* the plugin's wazo/, read before any rules step */
	char old_version[128];	   /* the version installed before the job, "" for none */
	char commit[64];	   /* a clone's HEAD, "" until known */
	time_t commit_time;	   /* its commit's time, 0 until known */
	struct source_digest digest;	/* the source's SHA-256, once validated */
	struct package_provenance prov; /* what the package says of its source */
	char origin[1024];		/* what the status's origin says */
	struct source_keep sk;		/* the source kept for a rebuild */
};

/* What the status's origin says for ir's source: the daemon's word, else "copy ENTRY"
 * or "git URL REF COMMIT" (credentials redacted). */
static void set_origin(struct install_run *ir, const char *kind)
{
	const struct install_source *src = ir->src;
	struct strbuf sb = STRBUF_INIT, clean = STRBUF_INIT;
	if (kind)
		strbuf_addf(&sb, "%s", kind);
	else if (src->origin)
		strbuf_addf(&sb, "%s", src->origin);
	else if (src->git_url)
		strbuf_addf(&sb, "git %s %s %s", src->git_url,
			    src->git_ref && *src->git_ref ? src->git_ref : "HEAD",
			    ir->commit[0] ? ir->commit : "unknown");
	else {
		const char *slash = strrchr(src->path, '/');
		strbuf_addf(&sb, "copy %s", slash ? slash + 1 : src->path);
	}
	url_redact(sb.buf ? sb.buf : "", sb.len, &clean);
	snprintf(ir->origin, sizeof(ir->origin), "%s", clean.buf ? clean.buf : "");
	for (char *c = ir->origin; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	job_set_origin(ir->job, ir->origin);
	strbuf_release(&sb);
	strbuf_release(&clean);
}

/* A step's result besides 0 (go on) and -errno (the job failed; its status says why):
 * nothing is left to do (that version is installed). */
enum { STEP_DONE = 1 };

/* One step of an install: the name its status shows (wazo-plugind's) and what it does;
 * when is set, the step is only for the sources it says. */
struct install_step {
	enum job_step step;
	int (*run)(struct install_run *ir);
	int (*when)(const struct install_run *ir);
};

static int from_git(const struct install_run *ir)
{
	return ir->src->git_url != NULL;
}

/* After validation: STEP_DONE when that version is installed already (and no
 * reinstall was asked). */
static int done_if_installed(struct install_run *ir)
{
	return nothing_to_do(ir->job, ir->env, ir->m.namespace, ir->m.name, ir->m.version,
			     ir->reinstall, ir->old_version)
		   ? STEP_DONE
		   : 0;
}

static int run_download(struct install_run *ir)
{
	int rc = step_download(ir->job, ir->env, ir->src, ir->tree, ir->workdir);
	if (!rc)
		git_head(ir->job, ir->env, ir->tree, ir->workdir, ir->commit, sizeof(ir->commit),
			 &ir->commit_time);
	return rc;
}

/* A copy or an archive becomes the tree (a clone already is one). */
static int run_extract(struct install_run *ir)
{
	if (ir->src->git_url)
		return 0;
	const struct wazofs_config *cfg = ir->env->cfg;
	/* an archive is read by the build user, with no network, as the build runs: the
	 * work dir is theirs from here (a directory is copied by the daemon) */
	struct import_limits lim = { cfg->archive_max_bytes,
				     cfg->archive_max_entries,
				     { !cfg->build_as_root, cfg->build_uid, cfg->build_gid,
				       NULL } };
	if (lim.who.as_user && lchown(ir->workdir, cfg->build_uid, cfg->build_gid) < 0) {
		int rc = -errno;
		job_fail(ir->job, INSTALL_ERROR, NULL, "cannot hand %s to the build user: %s",
			 ir->workdir, strerror(-rc));
		return rc;
	}
	int rc = tree_import(ir->src->path, ir->tree, &lim, &ir->err);
	if (rc && !ir->err.n) {
		job_fail(ir->job, INSTALL_ERROR, NULL, "%s",
			 ir->err.msg.buf ? ir->err.msg.buf : strerror(-rc));
	} else if (rc) {
		/* a refused archive stopped at the refused entry; like every validation
		 * error it is reported at the validating step */
		job_logf(ir->job, "extraction stopped: %s\n", ir->err.e[0].message);
		job_step(ir->job, STEP_VALIDATING);
		job_fail(ir->job, "validation-error", "Validation error", &ir->err, "%s",
			 ir->err.e[0].message);
	}
	return rc;
}

/* The most a plugin's wazo/ may hold: it is read into memory and packaged from there. */
enum { WAZO_MAX_BYTES = 64 << 20, WAZO_MAX_ENTRIES = 10000 };

/* wazo/ as it is now, before any rules step, read by root through descriptors (no link
 * followed, nothing outside the work dir): what the package ships at
 * /usr/lib/wazo-plugind/plugins/<ns>/<name>/wazo/, whatever the build does to its copy. */
static int snapshot_wazo(struct install_run *ir)
{
	char rel[PATH_MAX];
	size_t wl = strlen(ir->workdir);
	int rc = path_fmt(rel, sizeof(rel), "%s/wazo", ir->root + wl + (ir->root[wl] == '/'));
	int wd = rc ? -1 : open(ir->workdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!rc && wd < 0)
		rc = -errno;
	if (!rc)
		rc = tree_snapshot_take(wd, rel, WAZO_MAX_BYTES, WAZO_MAX_ENTRIES, &ir->wazo,
					&ir->err);
	if (wd >= 0)
		close(wd);
	if (rc == -EFBIG || rc == -E2BIG)
		error_field(&ir->err, "wazo", "range", NULL,
			    "wazo/ holds more than %d MiB or %d entries", WAZO_MAX_BYTES >> 20,
			    WAZO_MAX_ENTRIES);
	else if (rc && rc != -ENOMEM) /* a link leading out, a device, ... */
		error_field(&ir->err, "wazo", "type", "a directory of the plugin's tree",
			    "wazo/ cannot be taken: %s",
			    ir->err.msg.buf ? ir->err.msg.buf : strerror(-rc));
	if (rc == -ENOMEM)
		job_fail(ir->job, INSTALL_ERROR, NULL, "cannot read wazo/: out of memory");
	else if (rc)
		job_fail(ir->job, "validation-error", "Validation error", &ir->err, "%s",
			 ir->err.e[0].message);
	return rc;
}

/* What the package will say of its source: its origin, its SHA-256 (also in the
 * status) and its date: a rebuild's kept one, else its commit's, else the newest mtime
 * of its files. */
static void identify_source(struct install_run *ir)
{
	struct error err = ERROR_INIT;
	if (source_digest_tree(ir->root, &ir->digest, &err) == 0)
		job_set_source_sha256(ir->job, ir->digest.sha256);
	else
		job_logf(ir->job, "the source's SHA-256 is not known: %s\n", error_msg(&err));
	error_release(&err);
	ir->prov.origin = ir->origin;
	ir->prov.source_sha256 = ir->digest.sha256;
	ir->prov.source_date = ir->src->source_date > 0 ? ir->src->source_date
			       : ir->commit_time > 0	? ir->commit_time
							: ir->digest.newest;
	job_logf(ir->job, "source: %s, SHA-256 %s, date %lld (SOURCE_DATE_EPOCH)\n", ir->origin,
		 ir->digest.sha256[0] ? ir->digest.sha256 : "unknown",
		 (long long)ir->prov.source_date);
}

static int run_validate_tree(struct install_run *ir)
{
	int rc = ir->src->git_url
		     ? git_root(ir->src, ir->tree, ir->root, sizeof(ir->root), &ir->err)
		     : tree_find_plugin_root(ir->tree, ir->root, sizeof(ir->root), &ir->err);
	if (rc) {
		job_fail(ir->job, "validation-error", "Validation error", &ir->err, "%s",
			 ir->err.e[0].message);
		return rc;
	}
	rc = snapshot_wazo(ir);
	if (!rc)
		rc = step_validate(ir->job, ir->env, &ir->wazo, &ir->m);
	if (!rc) {
		set_origin(ir, NULL);
		rc = done_if_installed(ir);
	}
	if (!rc) { /* the tree as it is now: no rules step has run */
		identify_source(ir);
		source_keep_take(ir->job, ir->env->cfg, ir->m.namespace, ir->m.name, ir->m.version,
				 ir->root, ir->origin, ir->prov.source_date, &ir->sk);
	}
	return rc;
}

static int run_dependencies(struct install_run *ir)
{
	return step_dependencies(ir->job, ir->env, &ir->m, ir->chain);
}

static int run_build(struct install_run *ir)
{
	const struct wazofs_config *cfg = ir->env->cfg;
	if (!cfg->build_as_root) {
		/* nothing of an earlier build may touch this one: a build's processes end
		 * with its step (subproc), and whatever else runs as the build user is
		 * killed; as the fallback 'nobody', which other daemons share, it is only
		 * reported */
		int fallback = cfg->build_note[0] != 0;
		int left = subproc_user_left(cfg->build_uid, !fallback);
		if (left > 0)
			job_logf(
			    ir->job, "%d process(es) of the build user (uid %u) were running%s\n",
			    left, (unsigned)cfg->build_uid,
			    fallback ? " (it is the fallback build user: left alone)" : ": killed");
		int rc = chown_tree(ir->workdir, cfg->build_uid, cfg->build_gid);
		if (rc) {
			job_fail(ir->job, INSTALL_ERROR, NULL,
				 "cannot hand %s to the build user: %s", ir->workdir,
				 strerror(-rc));
			return rc;
		}
	}
	return run_rules(ir->job, ir->env, ir->root, ir->workdir, "build", NULL, NULL,
			 ir->prov.source_date);
}

static int run_package(struct install_run *ir)
{
	return step_package(ir->job, ir->env, ir->root, ir->workdir, &ir->m, &ir->wazo, &ir->prov,
			    ir->deb, ir->kept, sizeof(ir->deb));
}

static int run_update(struct install_run *ir)
{
	return step_update(ir->job, ir->env, &ir->m);
}

static int run_install(struct install_run *ir)
{
	source_keep_commit(ir->job, ir->env->cfg, &ir->sk);
	return step_install(ir->job, ir->env, ir->m.namespace, ir->m.name, ir->m.version, ir->deb,
			    ir->m.n_debian_depends > 0, ir->old_version, ir->reinstall);
}

static int run_check(struct install_run *ir)
{
	return step_check(ir->job, ir->env, ir->m.namespace, ir->m.name, ir->m.version,
			  ir->old_version);
}

/* A dropped package: what dpkg installs is the copy that was checked, out of the
 * copier's reach. */
static int run_copy_package(struct install_run *ir)
{
	path_fmt(ir->copy, sizeof(ir->copy), "%s/package.deb", ir->workdir); /* room checked */
	int rc = file_copy(ir->src->path, ir->copy, &ir->err);
	if (rc)
		job_fail(ir->job, INSTALL_ERROR, NULL, "cannot copy the package: %s",
			 ir->err.msg.buf ? ir->err.msg.buf : strerror(-rc));
	return rc;
}

static int run_validate_package(struct install_run *ir)
{
	struct deb_info d = { 0 };
	int rc = helper_deb_read(ir->copy, DEB_READ_DATA, &d, &ir->err);
	if (rc) {
		error_field(&ir->err, "_package", "type", NULL, "%s",
			    ir->err.msg.buf ? ir->err.msg.buf : strerror(-rc));
		job_fail(ir->job, "validation-error", "Validation error", &ir->err,
			 "not an installable package: %s", ir->err.e[0].message);
		deb_info_release(&d);
		return rc;
	}
	char running[64];
	const char *wv = running_wazo(ir->env, running, sizeof(running));
	rc = package_drop_validate(&d, wv, &ir->m, &ir->err);
	if (rc)
		job_fail(ir->job, "validation-error", "Validation error", &ir->err,
			 "not a valid wazo-plugind plugin package: %s: %s", ir->err.e[0].field,
			 ir->err.e[0].message);
	else
		job_identify(ir->job, &ir->m, d.plugin_yml.buf, d.plugin_yml.len);
	deb_info_release(&d);
	if (rc)
		return rc;
	set_origin(ir, "package");
	rc = done_if_installed(ir);
	if (!rc)
		source_keep_take(ir->job, ir->env->cfg, ir->m.namespace, ir->m.name, ir->m.version,
				 NULL, ir->origin, 0, &ir->sk);
	return rc;
}

/* Pending under its canonical name, as if wazofs had built it (a crash during dpkg is
 * repaired at start from there), then installed; kept once it did install. */
static int run_install_package(struct install_run *ir)
{
	int rc = package_paths(ir->env, ir->m.namespace, ir->m.name, ir->m.version, ir->kept,
			       ir->deb, sizeof(ir->deb));
	if (!rc && rename(ir->copy, ir->deb) < 0)
		rc = -errno;
	if (rc) {
		job_fail(ir->job, INSTALL_ERROR, NULL, "cannot move the package to %s: %s", ir->deb,
			 strerror(-rc));
		ir->deb[0] = 0;
		return rc;
	}
	return run_install(ir);
}

/* A copy, an archive or a git repository: wazo-plugind's steps. */
static const struct install_step from_source[] = {
	{ STEP_DOWNLOADING, run_download, from_git },
	{ STEP_EXTRACTING, run_extract, NULL },
	{ STEP_VALIDATING, run_validate_tree, NULL },
	{ STEP_DEPENDENCIES, run_dependencies, NULL },
	{ STEP_BUILDING, run_build, NULL },
	{ STEP_PACKAGING, run_package, NULL },
	{ STEP_UPDATING, run_update, NULL },
	{ STEP_INSTALLING, run_install, NULL },
	{ STEP_CHECKING, run_check, NULL },
	{ STEP_COMPLETED, NULL, NULL }, /* the end of the table */
};

/* A plugin package dropped into incoming/ (a rollback when it is older than the one
 * installed): checked, then installed as it is (no building, no packaging). */
static const struct install_step from_package[] = {
	{ STEP_EXTRACTING, run_copy_package, NULL },
	{ STEP_VALIDATING, run_validate_package, NULL },
	{ STEP_DEPENDENCIES, run_dependencies, NULL },
	{ STEP_UPDATING, run_update, NULL },
	{ STEP_INSTALLING, run_install_package, NULL },
	{ STEP_CHECKING, run_check, NULL },
	{ STEP_COMPLETED, NULL, NULL }, /* the end of the table */
};

/* Runs the steps in order, looking for a cancel before each: 0 (installed), STEP_DONE
 * or -errno. */
static int run_steps(struct install_run *ir, const struct install_step *steps)
{
	for (const struct install_step *s = steps; s->run; s++) {
		if (s->when && !s->when(ir))
			continue;
		if (cancelled(ir->job))
			return -ECANCELED;
		job_step(ir->job, s->step);
		int rc = s->run(ir);
		if (rc)
			return rc;
	}
	return 0;
}

/* What the steps leave once they are over (rc): the package and the source, kept or
 * dropped; the state; the undo journal. */
static void settle_run(struct install_run *ir, int rc)
{
	if (ir->deb[0]) /* kept as the last installed, or dropped if it did not install */
		settle_package(ir->job, ir->env, ir->m.namespace, ir->m.name, ir->kept, ir->deb,
			       rc < 0 ? rc : 0);
	source_keep_end(&ir->sk, rc, ir->old_version);
	if (rc == 0)
		job_set_state(ir->job, JOB_STATE_INSTALLED);
	job_undo_pending(ir->job, 0); /* a cancel between installing and checking: no undo */
	if (ir->m.name && ir->m.namespace)
		guard_end(ir->env->cfg, ir->m.namespace, ir->m.name); /* the job has ended */
}

int pipeline_install(struct job *job, const struct pipeline_env *env,
		     const struct install_source *src, const char *workdir, int reinstall,
		     struct name_list *chain)
{
	struct name_list own_chain = { 0 };
	job_step(job, STEP_STARTING);
	/* the work dir's own names (src, pkg, tmp, package.deb, .gitconfig) then fit */
	if (strlen(workdir) + WORKDIR_NAMES_MAX >= PATH_MAX) {
		job_fail(job, INSTALL_ERROR, NULL,
			 "the work dir's path is too long (%zu bytes, at most %d): choose a state "
			 "dir with a shorter path",
			 strlen(workdir), PATH_MAX - 1 - WORKDIR_NAMES_MAX);
		return -ENAMETOOLONG;
	}
	rm_rf(workdir);
	if (src->apt_name) /* apt works in its own cache */
		return install_from_apt(job, env, src, reinstall);
	int rc = mkdir_p(workdir, 0700);
	if (rc) {
		job_fail(job, INSTALL_ERROR, NULL, "cannot create %s: %s", workdir, strerror(-rc));
		return rc;
	}
	struct install_run *ir = calloc(1, sizeof(*ir));
	if (!ir) {
		job_fail(job, INSTALL_ERROR, NULL, "out of memory");
		rm_rf(workdir);
		return -ENOMEM;
	}
	*ir = (struct install_run){ .job = job,
				    .env = env,
				    .src = src,
				    .workdir = workdir,
				    .reinstall = reinstall,
				    .chain = chain ? chain : &own_chain,
				    .err = ERROR_INIT };
	path_fmt(ir->tree, sizeof(ir->tree), "%s/src", workdir); /* room checked above */
	int package = src->path && !src->git_url && deb_looks_like_package(src->path);
	rc = run_steps(ir, package ? from_package : from_source);
	settle_run(ir, rc);
	if (rc >= 0) {
		step_finish(job, workdir);
		rc = 0;
	} else {
		/* the failure keeps its step in status; the work dir goes, the user's copy
		 * stays */
		rm_rf(workdir);
	}
	plugin_meta_destroy(&ir->m);
	tree_snapshot_release(&ir->wazo);
	error_release(&ir->err);
	free(ir);
	name_list_free(&own_chain);
	return rc;
}

/* Removes packages (dependents first) as their makers expect: wazofs's own are purged
 * (their postrm runs `rules postrm` once across remove and purge); when another tool made
 * one of them (wazo-plugind: postrm runs the saved rules on `remove`, then deletes them)
 * all are removed with `dpkg --remove`, as that tool does, and only wazofs's are purged
 * after that. */
int pipeline_remove(struct job *job, const struct pipeline_env *env, const char *const *packages)
{
	job_step(job, STEP_REMOVING);
	size_t n = 0, foreign = 0;
	while (packages[n])
		n++;
	const char **ours = calloc(n + 1, sizeof(*ours));
	if (!ours) {
		job_fail(job, "uninstall-error", "Uninstallation error", NULL, "out of memory");
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int mine = plugin_package_is_ours(env->cfg->root, packages[i]);
		foreign += !mine;
		if (mine)
			ours[k++] = packages[i];
		job_logf(job, "removing %s%s\n", packages[i],
			 mine ? "" : " (not made by wazofs: dpkg --remove)");
	}
	struct dpkg_ctl c = job_dpkg_ctl(job, env);
	const char *tool = foreign ? "dpkg --remove" : "dpkg --purge";
	pthread_mutex_lock(env->pkg_lock);
	int rc = foreign ? dpkg_remove(env->cfg->root, packages, &c) : 0;
	if (!rc && ours[0]) {
		tool = "dpkg --purge";
		rc = dpkg_purge(env->cfg->root, ours, &c);
	}
	pthread_mutex_unlock(env->pkg_lock);
	free(ours);
	env->host->dpkg_changed(env->ctx);
	if (rc) {
		fail_dpkg(job, env, &c, "uninstall-error", "Uninstallation error", tool, rc);
		return -EIO;
	}
	job_step(job, STEP_COMPLETED);
	return 0;
}
