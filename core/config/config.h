/* config: the daemon's settings, from defaults, the YAML config file, then the command
 * line (which wins). Keys are the same in the file and in -o options. */
#ifndef WAZOFS_CONFIG_H
#define WAZOFS_CONFIG_H
#include "base/error.h"
#include "base/strbuf.h"
#include "base/version.h"
#include <limits.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_FILE	   "/etc/wazofs/config.yml"
#define CONFIG_DEFAULT_BUILD_USER  "wazofs"
#define CONFIG_FALLBACK_BUILD_USER "nobody"

struct wazofs_config {
	char root[PATH_MAX];  /* install root handed to dpkg; "/" by default */
	char state[PATH_MAX]; /* what must survive: incoming, jobs, packages, logs */
	/* the running Wazo version when given (-o, the file, else $WAZO_VERSION); "" = the
	 * daemon reads <root>/usr/share/wazo/WAZO-VERSION, and watches it */
	char wazo_version[64];
	char wazo_version_from[16];  /* "option", "environment", "" (the file) */
	int rebuild_on_wazo_upgrade; /* a change of the Wazo version rebuilds every plugin */
	unsigned long long source_max_bytes; /* the most a kept source may hold; 0: none */
	char market[PATH_MAX];		     /* market index (JSON); "" = none */
	/* the health checks run after each install (checks.d beside the config file);
	 * "" = none */
	char checks_dir[PATH_MAX];
	unsigned job_timeout;		   /* seconds one rules step (or dpkg/apt run) may take */
	unsigned download_timeout;	   /* seconds a git clone may take */
	unsigned log_max_bytes;		   /* the most a job's log keeps */
	unsigned long long work_max_bytes; /* the most a job's work dir may hold */
	unsigned dpkg_lock_timeout;	   /* seconds a job waits for another program's dpkg lock */
	unsigned quiet_ms;		   /* quiet period that completes a copy by a live writer */
	unsigned settle_ms; /* wait after the writer exited, for a follow-up writer */
	unsigned long long archive_max_bytes;
	unsigned long archive_max_entries;
	unsigned keep_versions; /* earlier packages kept per plugin, beside the installed one */
	char sign_key[256];	/* gpg key that signs repo/'s InRelease; "" = unsigned */
	int log_level;		/* syslog priority kept (LOG_INFO; debug: LOG_DEBUG) */
	char group[64];		/* admin group: may change the tree; "" = root only */
	char build_user[64];	/* runs rules build and package; "root" = no drop */
	char build_home[256];	/* its home directory (from the passwd entry) */
	char build_write[1024]; /* more directories builds may write, ':'-separated */
	int build_user_set;	/* build_user was given (else the default, with a fallback) */
	int build_network;	/* 0: rules build and package run without network */
	/* resolved by config_finish */
	int has_admin_group;
	gid_t admin_gid;
	char repo_group[64]; /* may read the packages of repo/pool (a web server's); "" = none */
	int has_repo_group;
	gid_t repo_gid;
	int build_as_root;
	uid_t build_uid;
	gid_t build_gid;
	char build_note[256]; /* how builds run, for syslog at start; "" = as asked */
};

void config_defaults(struct wazofs_config *c);
/* Sets one key; returns 0, -ENOPROTOOPT for a key that does not exist or -EINVAL for a
 * bad value, with a one-line message in err. */
int config_set(struct wazofs_config *c, const char *key, const char *value, struct error *err);
/* Whether key is a setting (one table lists them all, for the file and for -o). */
int config_is_setting(const char *key);
/* Applies a YAML mapping file. Missing file: -ENOENT (no message). An unknown key is
 * not an error in a file (as in Wazo daemons): one line per key goes to warnings. */
int config_load_file(struct wazofs_config *c, const char *path, struct strbuf *warnings,
		     struct error *err);
/* The main file, then every *.yml of the conf.d directory beside it in name order
 * (each later one wins). A missing main file is -ENOENT only when required. checks_dir,
 * when no file set it, becomes the checks.d directory beside the main file. */
int config_load_all(struct wazofs_config *c, const char *path, int required,
		    struct strbuf *warnings, struct error *err);
/* Makes paths absolute, creates the state dir, checks root and state, resolves group
 * and build_user (a missing default build user falls back to nobody, with build_note
 * saying so); -errno + err. */
int config_finish(struct wazofs_config *c, struct error *err);
#endif
