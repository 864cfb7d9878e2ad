/* config: settings (see config.h). */
#include "config.h"
#include "base/fsutil.h"
#define CONFIG_FILE_MAX (1024 * 1024)
#include "plugin/wazo_version.h"
#include "yaml/yaml_doc.h"
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

void config_defaults(struct wazofs_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->root, sizeof(c->root), "/");
	snprintf(c->state, sizeof(c->state), "/var/lib/wazofs");
	c->job_timeout = 1800;
	c->download_timeout = 300;
	c->log_max_bytes = 10u << 20;
	c->dpkg_lock_timeout = 600;
	c->quiet_ms = 5000;
	c->settle_ms = 500;
	c->keep_versions = 3;
	c->source_max_bytes = 256ULL << 20;
	c->archive_max_bytes = 1ULL << 30;
	c->work_max_bytes = 4ULL << 30;
	c->archive_max_entries = 100000;
	snprintf(c->build_user, sizeof(c->build_user), "%s", CONFIG_DEFAULT_BUILD_USER);
	c->build_network = 1;
	c->log_level = LOG_INFO;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "True", "TRUE" },
				 *const no[] = { "no", "false", "off", "0", "False", "FALSE" };
	for (int i = 0; i < 6; i++)
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*out = strcmp(v, yes[i]) == 0;
			return 0;
		}
	return -EINVAL;
}

static int parse_ull(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

/* What a setting's value is, and how it is checked. */
enum setting_kind {
	SET_TEXT,      /* a string that fits its field */
	SET_PATH,      /* the same, not empty */
	SET_KEY_ID,    /* a gpg key id, fingerprint or e-mail address */
	SET_BOOL,      /* yes/no, true/false, on/off, 1/0 */
	SET_DEBUG,     /* a bool that sets log_level to debug or info */
	SET_LOG_LEVEL, /* critical, error, warning, info, debug */
	SET_NUMBER,    /* a whole number from min to max */
};

/* Every setting, the same in the config file and in -o. */
static const struct setting {
	const char *key;
	enum setting_kind kind;
	size_t offset, size; /* the field of struct wazofs_config */
	unsigned long long min, max;
} settings[] = {
#define FIELD(f) offsetof(struct wazofs_config, f), sizeof(((struct wazofs_config *)0)->f)
	{ "root", SET_PATH, FIELD(root), 0, 0 },
	{ "state", SET_PATH, FIELD(state), 0, 0 },
	{ "wazo_version", SET_TEXT, FIELD(wazo_version), 0, 0 },
	{ "market", SET_TEXT, FIELD(market), 0, 0 },
	{ "checks_dir", SET_TEXT, FIELD(checks_dir), 0, 0 },
	{ "build_write", SET_TEXT, FIELD(build_write), 0, 0 },
	{ "group", SET_TEXT, FIELD(group), 0, 0 },
	{ "repo_group", SET_TEXT, FIELD(repo_group), 0, 0 },
	{ "build_user", SET_TEXT, FIELD(build_user), 0, 0 },
	{ "sign_key", SET_KEY_ID, FIELD(sign_key), 0, 0 },
	{ "build_network", SET_BOOL, FIELD(build_network), 0, 0 },
	{ "rebuild_on_wazo_upgrade", SET_BOOL, FIELD(rebuild_on_wazo_upgrade), 0, 0 },
	{ "debug", SET_DEBUG, FIELD(log_level), 0, 0 },
	{ "log_level", SET_LOG_LEVEL, FIELD(log_level), 0, 0 },
	{ "job_timeout", SET_NUMBER, FIELD(job_timeout), 1, 86400 * 7 },
	{ "download_timeout", SET_NUMBER, FIELD(download_timeout), 1, 86400 * 7 },
	{ "log_max_bytes", SET_NUMBER, FIELD(log_max_bytes), 4096, 1u << 30 },
	{ "dpkg_lock_timeout", SET_NUMBER, FIELD(dpkg_lock_timeout), 0, 86400 },
	{ "quiet_ms", SET_NUMBER, FIELD(quiet_ms), 0, 3600000 },
	{ "settle_ms", SET_NUMBER, FIELD(settle_ms), 0, 600000 },
	{ "archive_max_bytes", SET_NUMBER, FIELD(archive_max_bytes), 0, 1ULL << 50 },
	{ "work_max_bytes", SET_NUMBER, FIELD(work_max_bytes), 1 << 20, 1ULL << 50 },
	{ "archive_max_entries", SET_NUMBER, FIELD(archive_max_entries), 0, 100000000 },
	{ "keep_versions", SET_NUMBER, FIELD(keep_versions), 0, 1000 },
	{ "source_max_bytes", SET_NUMBER, FIELD(source_max_bytes), 0, 1ULL << 50 },
#undef FIELD
};

static const struct setting *find_setting(const char *key)
{
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

int config_is_setting(const char *key)
{
	return find_setting(key) != NULL;
}

static int set_log_level(int *dst, const char *value, struct error *err)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = { { "critical", LOG_CRIT },
		       { "error", LOG_ERR },
		       { "warning", LOG_WARNING },
		       { "info", LOG_INFO },
		       { "debug", LOG_DEBUG } };
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(value, levels[i].name) == 0) {
			*dst = levels[i].level;
			return 0;
		}
	error_addf(err, "log_level: '%s' is not critical, error, warning, info or debug", value);
	return -EINVAL;
}

static int key_id_ok(const char *v)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@._+-";
	return v[0] != '-' && v[strspn(v, chars)] == 0;
}

/* Stores n in an unsigned field of size bytes. */
static void store_number(void *dst, size_t size, unsigned long long n)
{
	if (size == sizeof(unsigned long long))
		*(unsigned long long *)dst = n;
	else if (size == sizeof(unsigned long))
		*(unsigned long *)dst = (unsigned long)n;
	else
		*(unsigned *)dst = (unsigned)n;
}

int config_set(struct wazofs_config *c, const char *key, const char *value, struct error *err)
{
	const struct setting *s = find_setting(key);
	if (!s) {
		error_addf(err, "unknown option '%s'", key);
		return -ENOPROTOOPT;
	}
	void *dst = (char *)c + s->offset;
	unsigned long long n;
	int flag;
	switch (s->kind) {
	case SET_TEXT:
	case SET_PATH:
	case SET_KEY_ID:
		if (strlen(value) >= s->size || (s->kind == SET_PATH && !*value)) {
			error_addf(err, "%s: value '%s' is empty or too long", key, value);
			return -EINVAL;
		}
		if (s->kind == SET_KEY_ID && !key_id_ok(value)) {
			error_addf(err,
				   "%s: '%s' is not a gpg key id, fingerprint or e-mail address",
				   key, value);
			return -EINVAL;
		}
		snprintf(dst, s->size, "%s", value);
		if (dst == c->build_user)
			c->build_user_set = 1;
		return 0;
	case SET_BOOL:
	case SET_DEBUG:
		if (parse_bool(value, &flag)) {
			error_addf(err, "%s: '%s' is not yes or no", key, value);
			return -EINVAL;
		}
		if (s->kind == SET_DEBUG)
			flag = flag ? LOG_DEBUG : LOG_INFO;
		*(int *)dst = flag;
		return 0;
	case SET_LOG_LEVEL: return set_log_level(dst, value, err);
	case SET_NUMBER:
		if (parse_ull(value, s->max, &n) || n < s->min) {
			error_addf(err, "%s: '%s' is not a whole number from %llu to %llu", key,
				   value, s->min, s->max);
			return -EINVAL;
		}
		store_number(dst, s->size, n);
		return 0;
	}
	return -EINVAL;
}

int config_load_file(struct wazofs_config *c, const char *path, struct strbuf *warnings,
		     struct error *err)
{
	struct strbuf text = STRBUF_INIT;
	struct error yerr = ERROR_INIT;
	yaml_document_t doc;
	int rc = strbuf_read_file(&text, path, CONFIG_FILE_MAX);
	if (rc) {
		strbuf_release(&text);
		return rc;
	}
	rc = ydoc_load(text.buf, text.len, &doc, NULL, &yerr);
	strbuf_release(&text);
	if (rc) {
		error_addf(err, "%s: %s", path, yerr.msg.buf ? yerr.msg.buf : strerror(-rc));
		error_release(&yerr);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && root->type != YAML_MAPPING_NODE) {
		error_addf(err, "%s: expected a mapping of option: value", path);
		rc = -EINVAL;
	}
	for (yaml_node_pair_t *pr = root && !rc ? root->data.mapping.pairs.start : NULL;
	     pr && pr < root->data.mapping.pairs.top && !rc; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			error_addf(err, "%s:%zu: expected option: value", path,
				   k ? k->start_mark.line + 1 : 0);
			rc = -EINVAL;
			break;
		}
		struct error e = ERROR_INIT;
		rc = config_set(c, (const char *)k->data.scalar.value,
				(const char *)v->data.scalar.value, &e);
		if (rc == -ENOPROTOOPT) {
			strbuf_addf(warnings, "%s:%zu: %s (ignored)\n", path,
				    k->start_mark.line + 1, e.msg.buf);
			rc = 0;
		} else if (rc)
			error_addf(err, "%s:%zu: %s", path, k->start_mark.line + 1, e.msg.buf);
		error_release(&e);
	}
	yaml_document_delete(&doc);
	return rc;
}

static int is_yml(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".yml") == 0;
}

int config_load_all(struct wazofs_config *c, const char *path, int required,
		    struct strbuf *warnings, struct error *err)
{
	int rc = config_load_file(c, path, warnings, err);
	if (rc == -ENOENT && !required)
		rc = 0;
	if (rc)
		return rc;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	snprintf(slash ? slash + 1 : dir, sizeof(dir) - (size_t)(slash ? slash + 1 - dir : 0),
		 "conf.d");
	struct dirent **list;
	int n = scandir(dir, &list, is_yml, alphasort);
	for (int i = 0; i < n; i++) {
		char file[PATH_MAX];
		if (!rc && path_fmt(file, sizeof(file), "%s/%s", dir, list[i]->d_name)) {
			error_addf(err, "%s/%s: path too long", dir, list[i]->d_name);
			rc = -ENAMETOOLONG;
		}
		if (!rc && (rc = config_load_file(c, file, warnings, err)) == -ENOENT)
			rc = 0; /* removed meanwhile */
		free(list[i]);
	}
	if (n > 0)
		free(list);
	/* the health checks beside the config file, unless a setting says where */
	snprintf(slash ? slash + 1 : dir, sizeof(dir) - (size_t)(slash ? slash + 1 - dir : 0),
		 "checks.d");
	if (!rc && !c->checks_dir[0])
		snprintf(c->checks_dir, sizeof(c->checks_dir), "%s", dir);
	return rc;
}

static int absolutize(char *path, size_t len, const char *what, struct error *err)
{
	char *real = realpath(path, NULL);
	if (!real) {
		int e = errno;
		error_addf(err, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	snprintf(path, len, "%s", real);
	free(real);
	return 0;
}

/* The gid of group name (the setting key, for the error), when name is set: *has 1. */
static int resolve_group(const char *key, const char *name, int *has, gid_t *gid, struct error *err)
{
	char buf[16384];
	struct group gr, *g = NULL;
	if (!name[0])
		return 0;
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &g) || !g) {
		error_addf(err, "%s '%s' does not exist", key, name);
		return -ENOENT;
	}
	*has = 1;
	*gid = g->gr_gid;
	return 0;
}

/* The admin group, repo/'s group and the build user, by name. */
static int resolve_users(struct wazofs_config *c, struct error *err)
{
	char buf[16384];
	int rc = resolve_group("group", c->group, &c->has_admin_group, &c->admin_gid, err);
	if (!rc)
		rc = resolve_group("repo_group", c->repo_group, &c->has_repo_group, &c->repo_gid,
				   err);
	if (rc)
		return rc;
	c->build_note[0] = 0;
	struct passwd pw, *u = NULL;
	const char *name = c->build_user;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &u) || !u) {
		if (c->build_user_set) {
			error_addf(err, "build_user '%s' does not exist", name);
			return -ENOENT;
		}
		name = CONFIG_FALLBACK_BUILD_USER;
		if (getpwnam_r(name, &pw, buf, sizeof(buf), &u) || !u) {
			error_addf(err,
				   "neither the build user '%s' nor '%s' exists: create one, or "
				   "set build_user",
				   c->build_user, name);
			return -ENOENT;
		}
		snprintf(c->build_note, sizeof(c->build_note),
			 "the build user '%s' does not exist: rules build and package run as "
			 "'%s' (make install creates '%s')",
			 c->build_user, name, c->build_user);
	}
	c->build_uid = u->pw_uid;
	c->build_gid = u->pw_gid;
	snprintf(c->build_home, sizeof(c->build_home), "%s", u->pw_dir ? u->pw_dir : "");
	c->build_as_root = u->pw_uid == 0;
	if (c->build_as_root)
		snprintf(c->build_note, sizeof(c->build_note),
			 "build_user is '%s': rules build and package run as root", name);
	return 0;
}

int config_finish(struct wazofs_config *c, struct error *err)
{
	int rc = absolutize(c->root, sizeof(c->root), "root", err);
	if (rc)
		return rc;
	struct stat st;
	if (stat(c->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error_addf(err, "root '%s' is not a directory", c->root);
		return -ENOTDIR;
	}
	rc = mkdir_p(c->state, 0700);
	if (rc) {
		error_addf(err, "state '%s': %s", c->state, strerror(-rc));
		return rc;
	}
	rc = absolutize(c->state, sizeof(c->state), "state", err);
	if (rc)
		return rc;
	if (access(c->state, W_OK | X_OK) < 0) {
		rc = -errno;
		error_addf(err, "state '%s' is not writable: %s", c->state, strerror(errno));
		return rc;
	}
	if (strlen(c->root) > PATH_MAX / 4 || strlen(c->state) > PATH_MAX / 4) {
		error_addf(err, "root and state must be shorter than %d characters", PATH_MAX / 4);
		return -ENAMETOOLONG;
	}
	if (c->market[0]) {
		rc = absolutize(c->market, sizeof(c->market), "market", err);
		if (rc)
			return rc;
	}
	rc = resolve_users(c, err);
	if (rc)
		return rc;
	/* the running Wazo version: the option, else the environment (as wazo-plugind
	 * reads it), else the daemon reads the file under root and watches it */
	const char *env = getenv("WAZO_VERSION");
	if (c->wazo_version[0])
		snprintf(c->wazo_version_from, sizeof(c->wazo_version_from), "option");
	else if (env && *env) {
		if (strlen(env) >= sizeof(c->wazo_version)) {
			error_addf(err, "WAZO_VERSION='%.64s...' is too long for a Wazo version",
				   env);
			return -EINVAL;
		}
		snprintf(c->wazo_version, sizeof(c->wazo_version), "%s", env);
		snprintf(c->wazo_version_from, sizeof(c->wazo_version_from), "environment");
	}
	if (c->wazo_version[0] && !wazo_version_valid(c->wazo_version)) {
		error_addf(err, "%s '%s' is not a Wazo version",
			   strcmp(c->wazo_version_from, "option") ? "WAZO_VERSION" : "wazo_version",
			   c->wazo_version);
		return -EINVAL;
	}
	return 0;
}
