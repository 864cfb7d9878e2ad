/* config: settings (see config.h). */
#include "config.h"
#include "base/fsutil.h"
#define CONFIG_FILE_MAX (1024 * 1024)
#include "yaml/yaml_doc.h"
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
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
	c->dpkg_lock_timeout = 600;
	c->quiet_ms = 5000;
	c->settle_ms = 500;
	c->keep_versions = 3;
	c->archive_max_bytes = 1ULL << 30;
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

int config_set(struct wazofs_config *c, const char *key, const char *value, struct strbuf *err)
{
	unsigned long long n;
	struct {
		const char *key;
		char *dst;
		size_t len;
	} strs[] = {
		{ "root", c->root, sizeof(c->root) },
		{ "state", c->state, sizeof(c->state) },
		{ "wazo_version", c->wazo_version, sizeof(c->wazo_version) },
		{ "market", c->market, sizeof(c->market) },
		{ "group", c->group, sizeof(c->group) },
		{ "build_user", c->build_user, sizeof(c->build_user) },
		{ "sign_key", c->sign_key, sizeof(c->sign_key) },
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(key, strs[i].key))
			continue;
		if (strlen(value) >= strs[i].len || (i < 2 && !*value)) {
			strbuf_addf(err, "%s: value '%s' is empty or too long", key, value);
			return -EINVAL;
		}
		if (strs[i].dst == c->sign_key &&
		    (value[0] == '-' ||
		     value[strspn(
			 value,
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@._+-")])) {
			strbuf_addf(
			    err,
			    "sign_key: '%s' is not a gpg key id, fingerprint or e-mail address",
			    value);
			return -EINVAL;
		}
		snprintf(strs[i].dst, strs[i].len, "%s", value);
		if (strs[i].dst == c->build_user)
			c->build_user_set = 1;
		return 0;
	}
	int flag;
	if (strcmp(key, "build_network") == 0 || strcmp(key, "debug") == 0) {
		if (parse_bool(value, &flag)) {
			strbuf_addf(err, "%s: '%s' is not yes or no", key, value);
			return -EINVAL;
		}
		if (strcmp(key, "build_network") == 0)
			c->build_network = flag;
		else
			c->log_level = flag ? LOG_DEBUG : LOG_INFO;
		return 0;
	}
	if (strcmp(key, "log_level") == 0) {
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
				c->log_level = levels[i].level;
				return 0;
			}
		strbuf_addf(err, "log_level: '%s' is not critical, error, warning, info or debug",
			    value);
		return -EINVAL;
	}
	struct {
		const char *key;
		unsigned long long max;
	} nums[] = { { "job_timeout", 86400 * 7 },
		     { "quiet_ms", 3600000 },
		     { "settle_ms", 600000 },
		     { "archive_max_bytes", 1ULL << 50 },
		     { "archive_max_entries", 100000000 },
		     { "dpkg_lock_timeout", 86400 },
		     { "keep_versions", 1000 } };
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(key, nums[i].key))
			continue;
		if (parse_ull(value, nums[i].max, &n) || (i == 0 && n == 0)) {
			strbuf_addf(err, "%s: '%s' is not a whole number from %d to %llu", key,
				    value, i == 0, nums[i].max);
			return -EINVAL;
		}
		switch (i) {
		case 0: c->job_timeout = (unsigned)n; break;
		case 1: c->quiet_ms = (unsigned)n; break;
		case 2: c->settle_ms = (unsigned)n; break;
		case 3: c->archive_max_bytes = n; break;
		case 4: c->archive_max_entries = (unsigned long)n; break;
		case 5: c->dpkg_lock_timeout = (unsigned)n; break;
		default: c->keep_versions = (unsigned)n; break;
		}
		return 0;
	}
	strbuf_addf(err, "unknown option '%s'", key);
	return -ENOPROTOOPT;
}

int config_load_file(struct wazofs_config *c, const char *path, struct strbuf *warnings,
		     struct strbuf *err)
{
	struct strbuf text = STRBUF_INIT, yerr = STRBUF_INIT;
	yaml_document_t doc;
	int rc = strbuf_read_file(&text, path, CONFIG_FILE_MAX);
	if (rc) {
		strbuf_release(&text);
		return rc;
	}
	rc = ydoc_load(text.buf, text.len, &doc, NULL, &yerr);
	strbuf_release(&text);
	if (rc) {
		strbuf_addf(err, "%s: %s", path, yerr.buf ? yerr.buf : strerror(-rc));
		strbuf_release(&yerr);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && root->type != YAML_MAPPING_NODE) {
		strbuf_addf(err, "%s: expected a mapping of option: value", path);
		rc = -EINVAL;
	}
	for (yaml_node_pair_t *pr = root && !rc ? root->data.mapping.pairs.start : NULL;
	     pr && pr < root->data.mapping.pairs.top && !rc; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			strbuf_addf(err, "%s:%zu: expected option: value", path,
				    k ? k->start_mark.line + 1 : 0);
			rc = -EINVAL;
			break;
		}
		struct strbuf e = STRBUF_INIT;
		rc = config_set(c, (const char *)k->data.scalar.value,
				(const char *)v->data.scalar.value, &e);
		if (rc == -ENOPROTOOPT) {
			strbuf_addf(warnings, "%s:%zu: %s (ignored)\n", path,
				    k->start_mark.line + 1, e.buf);
			rc = 0;
		} else if (rc)
			strbuf_addf(err, "%s:%zu: %s", path, k->start_mark.line + 1, e.buf);
		strbuf_release(&e);
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
		    struct strbuf *warnings, struct strbuf *err)
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
		char file[PATH_MAX + NAME_MAX + 2];
		snprintf(file, sizeof(file), "%s/%s", dir, list[i]->d_name);
		if (!rc && (rc = config_load_file(c, file, warnings, err)) == -ENOENT)
			rc = 0; /* removed meanwhile */
		free(list[i]);
	}
	if (n > 0)
		free(list);
	return rc;
}

static int absolutize(char *path, size_t len, const char *what, struct strbuf *err)
{
	char *real = realpath(path, NULL);
	if (!real) {
		int e = errno;
		strbuf_addf(err, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	snprintf(path, len, "%s", real);
	free(real);
	return 0;
}

/* The admin group and the build user, by name. */
static int resolve_users(struct wazofs_config *c, struct strbuf *err)
{
	char buf[16384];
	if (c->group[0]) {
		struct group gr, *g = NULL;
		if (getgrnam_r(c->group, &gr, buf, sizeof(buf), &g) || !g) {
			strbuf_addf(err, "group '%s' does not exist", c->group);
			return -ENOENT;
		}
		c->has_admin_group = 1;
		c->admin_gid = g->gr_gid;
	}
	c->build_note[0] = 0;
	struct passwd pw, *u = NULL;
	const char *name = c->build_user;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &u) || !u) {
		if (c->build_user_set) {
			strbuf_addf(err, "build_user '%s' does not exist", name);
			return -ENOENT;
		}
		name = CONFIG_FALLBACK_BUILD_USER;
		if (getpwnam_r(name, &pw, buf, sizeof(buf), &u) || !u) {
			strbuf_addf(err,
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
	c->build_as_root = u->pw_uid == 0;
	if (c->build_as_root)
		snprintf(c->build_note, sizeof(c->build_note),
			 "build_user is '%s': rules build and package run as root", name);
	return 0;
}

int config_finish(struct wazofs_config *c, struct strbuf *err)
{
	int rc = absolutize(c->root, sizeof(c->root), "root", err);
	if (rc)
		return rc;
	struct stat st;
	if (stat(c->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "root '%s' is not a directory", c->root);
		return -ENOTDIR;
	}
	if ((rc = mkdir_p(c->state, 0700))) {
		strbuf_addf(err, "state '%s': %s", c->state, strerror(-rc));
		return rc;
	}
	if ((rc = absolutize(c->state, sizeof(c->state), "state", err)))
		return rc;
	if (access(c->state, W_OK | X_OK) < 0) {
		rc = -errno;
		strbuf_addf(err, "state '%s' is not writable: %s", c->state, strerror(errno));
		return rc;
	}
	if (strlen(c->root) > PATH_MAX / 4 || strlen(c->state) > PATH_MAX / 4) {
		strbuf_addf(err, "root and state must be shorter than %d characters", PATH_MAX / 4);
		return -ENAMETOOLONG;
	}
	if (c->market[0] && (rc = absolutize(c->market, sizeof(c->market), "market", err)))
		return rc;
	if ((rc = resolve_users(c, err)))
		return rc;
	if (!c->wazo_version[0]) {
		/* the running Wazo's own record, as wazo-plugind reads it */
		FILE *f = fopen("/usr/share/wazo/WAZO-VERSION", "r");
		if (f) {
			if (fgets(c->wazo_version, sizeof(c->wazo_version), f))
				c->wazo_version[strcspn(c->wazo_version, " \t\r\n")] = 0;
			fclose(f);
		}
	}
	return 0;
}
