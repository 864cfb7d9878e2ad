/* main: option parsing (fuse_opt, then the YAML config file, the command line winning),
 * checks before anything is mounted, and the startup order: fuse_new, signal handlers,
 * fuse_mount, daemonize, core threads, multi-threaded loop; unwinding in reverse. */
#include "base/name_list.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "ops.h"
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

/* Settings given with -o ("key=value", each a key of config's table), kept as text
 * until the config file has been read; any number of them. */
struct cli {
	char *config;
	struct name_list kv;
	int help, version;
};

enum { KEY_HELP, KEY_VERSION, KEY_CONFIG, KEY_DISCARD };
/* FUSE threads (libfuse's loop): no request holds one while it waits (a read of
 * MOUNT/events, an rm -r: their answers come later), so a few serve everyone */
enum { FUSE_THREADS_MAX = 16, FUSE_THREADS_IDLE = 4 };

/* The settings are not listed here: opt_proc asks config which keys it has. */
static const struct fuse_opt opt_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("config=", KEY_CONFIG),
	/* fstab keywords that mean nothing to a FUSE filesystem */
	FUSE_OPT_KEY("noauto", KEY_DISCARD),
	FUSE_OPT_KEY("auto", KEY_DISCARD),
	FUSE_OPT_KEY("nofail", KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", KEY_DISCARD),
	FUSE_OPT_KEY("defaults", KEY_DISCARD),
	FUSE_OPT_KEY("user", KEY_DISCARD),
	FUSE_OPT_KEY("users", KEY_DISCARD),
	FUSE_OPT_END,
};

/* "key=value" with a key of config's table: a setting. Anything else is libfuse's
 * (`-o debug` without a value included). */
static int is_setting(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char key[64];
	if (!eq || (size_t)(eq - arg) >= sizeof(key))
		return 0;
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = 0;
	return config_is_setting(key);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	(void)out;
	struct cli *c = data;
	switch (key) {
	case KEY_HELP: c->help = 1; return 0;
	case KEY_VERSION: c->version = 1; return 0;
	case KEY_DISCARD: return 0;
	case KEY_CONFIG:
		free(c->config);
		c->config = strdup(arg + strlen("config="));
		return c->config ? 0 : -1;
	case FUSE_OPT_KEY_OPT:
		if (!is_setting(arg))
			return 1;
		return name_list_add(&c->kv, arg) ? -1 : 0;
	default: return 1;
	}
}

static void usage(const char *prog)
{
	printf(
	    "usage: %s [-f] [-d] [-s] [-o OPT[,OPT...]] [SOURCE] MOUNTPOINT\n\n"
	    "Wazo plugins as a filesystem: copy a plugin into MOUNTPOINT/incoming/ to build,\n"
	    "package and install it; rm -r MOUNTPOINT/<namespace>/<name> to uninstall it.\n\n"
	    "SOURCE is ignored: it is what mount -t fuse.wazofs and fstab pass first.\n\n"
	    "    -f                      stay in the foreground (logs also go to stderr)\n"
	    "    -d                      debug: foreground, and every FUSE request on stderr\n"
	    "    -s                      single-threaded FUSE loop (jobs still run apart)\n"
	    "    -h, --help              this help, then libfuse's own options\n"
	    "    -V, --version           wazofs and libfuse versions\n\n"
	    "wazofs options:\n"
	    "    -o root=DIR             install root handed to dpkg (default /)\n"
	    "    -o state=DIR            daemon state (default /var/lib/wazofs)\n"
	    "    -o wazo_version=VERSION running Wazo version for min/max_wazo_version (else\n"
	    "                            $WAZO_VERSION, else ROOT/usr/share/wazo/WAZO-VERSION,\n"
	    "                            read again when it changes)\n"
	    "    -o rebuild_on_wazo_upgrade=yes  rebuild every plugin from its kept source\n"
	    "                            when the Wazo version changes (no)\n"
	    "    -o source_max_bytes=N   the most a kept source may hold (256 MiB)\n"
	    "    -o market=PATH          market index (JSON, wazo market format)\n"
	    "    -o config=FILE          YAML config (default " CONFIG_DEFAULT_FILE ")\n"
	    "    -o job_timeout=SECONDS  time one `rules` step, dpkg or apt run, or archive\n"
	    "                            read/write may take (1800)\n"
	    "    -o dpkg_lock_timeout=SECONDS  wait for another program's dpkg lock (600)\n"
	    "    -o quiet_ms=MS          quiet period completing a copy by a live writer (5000)\n"
	    "    -o settle_ms=MS         wait after the writer exits (500)\n"
	    "    -o archive_max_bytes=N, archive_max_entries=N   archive limits\n"
	    "    -o group=NAME           members may change the tree and read logs (root only)\n"
	    "    -o build_user=NAME      runs rules build and package (wazofs, else nobody)\n"
	    "    -o build_network=no     rules build and package without network (yes)\n"
	    "    -o keep_versions=N      earlier packages kept per plugin, for rollback (3)\n"
	    "    -o checks_dir=DIR       health checks every install runs (checks.d beside\n"
	    "                            the config file); a failed check is undone\n"
	    "    -o sign_key=KEY         gpg key signing repo/dists/wazofs/InRelease (none)\n"
	    "    -o log_level=LEVEL      critical, error, warning, info (default), debug\n"
	    "    -o debug=yes            the same as log_level=debug\n\n"
	    "Settings come from " CONFIG_DEFAULT_FILE ", then conf.d/*.yml beside it in\n"
	    "name order, then -o (which wins). Unknown keys warn in files, fail with -o.\n\n",
	    prog);
}

static int apply_settings(struct wazofs_config *cfg, struct cli *c)
{
	struct error err = ERROR_INIT;
	const char *path = c->config ? c->config : CONFIG_DEFAULT_FILE;
	struct strbuf warnings = STRBUF_INIT;
	int rc = config_load_all(cfg, path, c->config != NULL, &warnings, &err);
	if (rc == -ENOENT || (rc && !err.msg.len))
		fprintf(stderr, "wazofs: config %s: %s\n", path, strerror(-rc));
	else if (rc)
		fprintf(stderr, "wazofs: %s\n", err.msg.buf);
	for (char *l = warnings.buf, *next; !rc && l && *l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		fprintf(stderr, "wazofs: warning: %s\n", l);
	}
	strbuf_release(&warnings);
	for (size_t i = 0; !rc && i < c->kv.n; i++) {
		char *eq = strchr(c->kv.v[i], '=');
		*eq = 0;
		rc = config_set(cfg, c->kv.v[i], eq + 1, &err);
		if (rc)
			fprintf(stderr, "wazofs: -o %s\n", err.msg.buf);
		*eq = '=';
	}
	if (!rc) {
		rc = config_finish(cfg, &err);
		if (rc)
			fprintf(stderr, "wazofs: %s\n", error_msg(&err));
	}
	error_release(&err);
	return rc;
}

/* The state dir must not be reachable through the mount (a job would wait on itself). */
static int check_mountpoint(const char *mnt, const struct wazofs_config *cfg)
{
	struct stat st;
	int found = stat(mnt, &st) == 0;
	if (!found || !S_ISDIR(st.st_mode)) {
		/* errno only when stat failed: it says nothing of a file that is there */
		fprintf(stderr, "wazofs: mountpoint %s: %s\n", mnt,
			found ? "not a directory" : strerror(errno));
		return -1;
	}
	char *real = realpath(mnt, NULL);
	if (!real)
		return -1;
	size_t n = strlen(real);
	int inside = strncmp(cfg->state, real, n) == 0 && (cfg->state[n] == '/' || !cfg->state[n]);
	if (inside)
		fprintf(stderr, "wazofs: state %s is inside the mountpoint %s\n", cfg->state, real);
	free(real);
	return inside ? -1 : 0;
}

/* mount.fuse3 (mount -t fuse.wazofs, fstab) runs `wazofs SOURCE MOUNTPOINT -o ...`: with
 * two words that are not options, the first is the source, which means nothing to
 * wazofs and is dropped. Returns the new argc. */
static int drop_source_word(int argc, char *argv[])
{
	int words[3], n = 0;
	for (int i = 1; i < argc && n < 3; i++) {
		if (strcmp(argv[i], "-o") == 0) {
			i++; /* its value */
			continue;
		}
		if (argv[i][0] != '-')
			words[n++] = i;
	}
	if (n != 2)
		return argc;
	memmove(&argv[words[0]], &argv[words[0] + 1],
		(size_t)(argc - words[0]) * sizeof(argv[0])); /* the NULL too */
	return argc - 1;
}

/* systemd's readiness protocol (Type=notify), without libsystemd: one datagram to
 * $NOTIFY_SOCKET. Sent only once the mount answers and the threads run. */
static void sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= 108)
		return;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	memcpy(addr.sun_path, path, strlen(path));
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = 0; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, len) < 0)
		syslog(LOG_WARNING, "cannot tell systemd '%s': %m", state);
	close(fd);
}

/* libfuse's loop: one thread (-s), or a few that each read a request and answer it. */
static int run_loop(struct fuse_session *se, int single)
{
	if (single)
		return fuse_session_loop(se);
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	if (!lc)
		return -1;
	fuse_loop_cfg_set_max_threads(lc, FUSE_THREADS_MAX);
	fuse_loop_cfg_set_idle_threads(lc, FUSE_THREADS_IDLE);
	int rc = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return rc;
}

/* The command line, then the settings: 0 to mount, 1 when done (help, version), -1 on
 * a bad one (said on stderr). */
static int read_options(struct fuse_args *args, struct cli *cli, struct fuse_cmdline_opts *opts,
			struct wazofs_config *cfg, const char *prog)
{
	if (fuse_opt_parse(args, cli, opt_spec, opt_proc) < 0)
		return -1;
	if (cli->help) {
		usage(prog);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		return 1;
	}
	if (cli->version) {
		printf("wazofs %s (libfuse %s)\n", WAZOFS_VERSION, fuse_pkgversion());
		return 1;
	}
	if (fuse_parse_cmdline(args, opts) != 0)
		return -1;
	if (!opts->mountpoint) {
		fprintf(stderr, "wazofs: no mountpoint given (see %s --help)\n", prog);
		return -1;
	}
	if (apply_settings(cfg, cli) || check_mountpoint(opts->mountpoint, cfg))
		return -1;
	if (opts->debug)
		fuse_opt_add_arg(args, "-odebug");
	return 0;
}

/* What the process is set up with whatever started it. */
static void process_setup(void)
{
	/* one malloc arena for all threads: the FUSE and worker threads allocate little and
	 * seldom at once, and each extra arena kept ~80 KiB resident (P4, README) */
	mallopt(M_ARENA_MAX, 1);
	/* whatever umask started it: what the daemon and its children (rules, git, dpkg)
	 * make without an explicit mode is made as under a stock Debian service (systemd's
	 * UMask=0022), so a package's modes never depend on how wazofs was started */
	umask(022);
	/* as many descriptors as the system lets us (the unit raises the hard limit too) */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
}

/* Serves the mount until it ends: the daemon's threads started, readiness told. */
static int serve(struct fuse_session *se, struct daemon *core, const struct wazofs_config *cfg,
		 const struct fuse_cmdline_opts *opts)
{
	/* threads after the fork of fuse_daemonize, or they would stay in the parent */
	if (daemon_start(core) != 0) {
		syslog(LOG_ERR, "cannot start the worker threads");
		return 1;
	}
	syslog(LOG_INFO, "mounted on %s (root %s, state %s, wazo %s)", opts->mountpoint, cfg->root,
	       cfg->state, cfg->wazo_version[0] ? cfg->wazo_version : "from WAZO-VERSION");
	if (cfg->build_note[0])
		syslog(LOG_WARNING, "%s", cfg->build_note);
	if (!cfg->has_admin_group)
		syslog(LOG_INFO, "only root may change the tree (no group= option)");
	sd_notify_state("READY=1");
	int ret = run_loop(se, opts->singlethread) < 0 ? 1 : 0;
	sd_notify_state("STOPPING=1");
	daemon_stop(core);
	/* no thread may call into libfuse once the session is destroyed */
	wazofs_ops_stop_threads();
	syslog(LOG_INFO, "unmounted %s", opts->mountpoint);
	return ret;
}

int main(int argc, char *argv[])
{
	argc = drop_source_word(argc, argv);
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct cli cli = { 0 };
	struct wazofs_config cfg;
	struct daemon *core = NULL;
	struct fuse_session *se = NULL;
	struct error err = ERROR_INIT;
	int ret = 1;

	process_setup();
	config_defaults(&cfg);
	int parsed = read_options(&args, &cli, &opts, &cfg, argv[0]);
	if (parsed) {
		ret = parsed > 0 ? 0 : 1;
		goto out_opts;
	}
	/* no access times: a readdir would otherwise drop the directory's cached attributes */
	fuse_opt_add_arg(&args, "-onoatime");

	/* in the foreground logs also go to stderr, unless that is the journal already */
	int to_stderr = opts.foreground && !getenv("JOURNAL_STREAM");
	openlog("wazofs", LOG_PID | (to_stderr ? LOG_PERROR : 0), LOG_DAEMON);
	setlogmask(LOG_UPTO(cfg.log_level));
	if (daemon_new(&core, &cfg, &err)) {
		fprintf(stderr, "wazofs: %s\n",
			err.msg.buf ? err.msg.buf : "cannot set up the state dir");
		goto out_opts;
	}
	se = fuse_session_new(&args, &wazofs_ops, sizeof(wazofs_ops), core);
	if (!se)
		goto out_core; /* fuse_session_new printed the bad option */
	wazofs_ops_session(se);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fcntl(fuse_session_fd(se), F_SETFD, FD_CLOEXEC);
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	ret = serve(se, core, &cfg, &opts);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_core:
	daemon_free(core);
	closelog();
out_opts:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	free(cli.config);
	name_list_free(&cli.kv);
	error_release(&err);
	return ret;
}
