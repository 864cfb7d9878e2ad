/* job_status: status records and their YAML form (see job_status.h). */
#include "job_status.h"
#include "yaml/yaml11.h"
#include "yaml/yaml_doc.h"
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one table of names, in the enums' order. */
static const char *const state_names[] = { "installing", "installed", "uninstalling", "error",
					   "queued" };
static const char *const step_names[] = {
	"starting", "downloading", "extracting", "validating", "installing dependencies",
	"building", "packaging",   "updating",	 "installing", "checking",
	"cleaning", "completed",   "removing",
};

const char *job_state_name(enum job_state state)
{
	return (size_t)state < sizeof(state_names) / sizeof(*state_names) ? state_names[state] : "";
}

const char *job_step_name(enum job_step step)
{
	return (size_t)step < sizeof(step_names) / sizeof(*step_names) ? step_names[step] : "";
}

static int name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

int job_state_parse(const char *name, enum job_state *out)
{
	int i = name_index(state_names, sizeof(state_names) / sizeof(*state_names), name);
	if (i >= 0)
		*out = (enum job_state)i;
	return i < 0 ? i : 0;
}

int job_step_parse(const char *name, enum job_step *out)
{
	int i = name_index(step_names, sizeof(step_names) / sizeof(*step_names), name);
	if (i >= 0)
		*out = (enum job_step)i;
	return i < 0 ? i : 0;
}

void job_status_init(struct job_status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = JOB_STATE_INSTALLING;
	st->step = STEP_STARTING;
	st->compatible = -1;
}

void job_status_destroy(struct job_status *st)
{
	free(st->details);
	st->details = NULL;
}

void job_status_fail(struct job_status *st, const char *error_id, const char *message,
		     const struct error *details_report, const char *reason_fmt, ...)
{
	st->state = JOB_STATE_ERROR;
	snprintf(st->error_id, sizeof(st->error_id), "%s", error_id);
	snprintf(st->message, sizeof(st->message), "%s", message);
	va_list ap;
	va_start(ap, reason_fmt);
	if (vsnprintf(st->reason, sizeof(st->reason), reason_fmt, ap) >= (int)sizeof(st->reason))
		utf8_cut_end(st->reason);
	va_end(ap);
	free(st->details);
	st->details = NULL;
	if (details_report && details_report->n) {
		struct strbuf sb = STRBUF_INIT;
		error_render_fields(details_report, &sb);
		st->details = strbuf_detach(&sb, NULL);
	}
}

void job_status_render(const struct job_status *st, struct strbuf *out)
{
	y11_add_kv(out, 0, "state", job_state_name(st->state));
	if (st->ns[0])
		y11_add_kv(out, 0, "namespace", st->ns);
	if (st->name[0])
		y11_add_kv(out, 0, "name", st->name);
	if (st->version[0])
		y11_add_kv(out, 0, "version", st->version);
	y11_add_kv(out, 0, "step", job_step_name(st->step));
	if (st->waiting[0])
		y11_add_kv(out, 0, "waiting", st->waiting);
	if (st->package[0])
		y11_add_kv(out, 0, "package", st->package);
	if (st->origin[0])
		y11_add_kv(out, 0, "origin", st->origin);
	if (st->source_sha256[0])
		y11_add_kv(out, 0, "source_sha256", st->source_sha256);
	if (st->compatible >= 0)
		strbuf_addf(out, "compatible: %s\n", st->compatible ? "true" : "false");
	if (st->compatible == 0 && st->incompatible_reason[0])
		y11_add_kv(out, 0, "incompatible_reason", st->incompatible_reason);
	if (st->state != JOB_STATE_ERROR)
		return;
	y11_add_kv(out, 0, "error_id", st->error_id);
	y11_add_kv(out, 0, "message", st->message);
	if (st->reason[0])
		y11_add_kv(out, 0, "reason", st->reason);
	if (st->rolled_back_to[0])
		y11_add_kv(out, 0, "rolled_back_to", st->rolled_back_to);
	if (st->rollback_error[0])
		y11_add_kv(out, 0, "rollback_error", st->rollback_error);
	if (st->dependencies_added[0])
		y11_add_kv(out, 0, "dependencies_added", st->dependencies_added);
	strbuf_addf(out, "details:\n");
	if (st->details)
		strbuf_add(out, st->details, strlen(st->details));
	else
		y11_add_kv(out, 2, "step", job_step_name(st->step));
}

static void copy_field(char *dst, size_t len, const char *src)
{
	if (snprintf(dst, len, "%s", src) >= (int)len)
		utf8_cut_end(dst);
}

/* The details mapping read back (a validation error's fields, or the step alone), rendered
 * as job_status_render writes it: from the parser's nodes, never from a search of the
 * text (a quoted reason may hold a "details:" line). NULL for the step alone. */
static char *details_from(yaml_document_t *doc, yaml_node_t *v)
{
	if (v->type != YAML_MAPPING_NODE)
		return NULL;
	struct error e = ERROR_INIT;
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *f = yaml_document_get_node(doc, pr->value);
		if (!k || !f || k->type != YAML_SCALAR_NODE || f->type != YAML_MAPPING_NODE)
			continue;
		const char *cid = ydoc_get_scalar(doc, f, "constraint_id");
		const char *c = ydoc_get_scalar(doc, f, "constraint");
		const char *m = ydoc_get_scalar(doc, f, "message");
		const char *line = ydoc_get_scalar(doc, f, "line");
		error_field(&e, (const char *)k->data.scalar.value, cid ? cid : "", c ? c : "",
			    "%s", m ? m : "");
		if (e.n && line)
			e.e[e.n - 1].line = (unsigned)strtoul(line, NULL, 10);
	}
	char *out = NULL;
	if (e.n) {
		struct strbuf sb = STRBUF_INIT;
		error_render_fields(&e, &sb);
		out = strbuf_detach(&sb, NULL);
	}
	error_release(&e);
	return out;
}

/* The one-line fields of a status file, as job_status_render writes them. */
#define STATUS_FIELD(key, member)                                                                  \
	{                                                                                          \
		key, offsetof(struct job_status, member), sizeof(((struct job_status *)0)->member) \
	}
static const struct {
	const char *key;
	size_t offset, size;
} status_fields[] = {
	STATUS_FIELD("waiting", waiting),
	STATUS_FIELD("namespace", ns),
	STATUS_FIELD("name", name),
	STATUS_FIELD("version", version),
	STATUS_FIELD("package", package),
	STATUS_FIELD("error_id", error_id),
	STATUS_FIELD("message", message),
	STATUS_FIELD("reason", reason),
	STATUS_FIELD("rolled_back_to", rolled_back_to),
	STATUS_FIELD("rollback_error", rollback_error),
	STATUS_FIELD("dependencies_added", dependencies_added),
	STATUS_FIELD("origin", origin),
	STATUS_FIELD("source_sha256", source_sha256),
};

int job_status_parse(const char *text, size_t len, struct job_status *st)
{
	yaml_document_t doc;
	struct error err = ERROR_INIT;
	job_status_init(st);
	int rc = ydoc_load(text, len, &doc, NULL, &err);
	error_release(&err);
	if (rc)
		return rc;
	rc = -EINVAL;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		rc = 0;
		for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
		     pr < root->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
			yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
			if (!k || !v || k->type != YAML_SCALAR_NODE)
				continue;
			const char *key = (const char *)k->data.scalar.value;
			if (strcmp(key, "details") == 0) {
				free(st->details);
				st->details = details_from(&doc, v);
				continue;
			}
			if (v->type != YAML_SCALAR_NODE)
				continue;
			const char *val = (const char *)v->data.scalar.value;
			if ((strcmp(key, "state") == 0 && job_state_parse(val, &st->state)) ||
			    (strcmp(key, "step") == 0 && job_step_parse(val, &st->step)))
				rc = -EINVAL; /* not a state or step a status has */
			for (size_t i = 0; i < sizeof(status_fields) / sizeof(status_fields[0]);
			     i++)
				if (strcmp(key, status_fields[i].key) == 0)
					copy_field((char *)st + status_fields[i].offset,
						   status_fields[i].size, val);
		}
	}
	yaml_document_delete(&doc);
	return rc;
}
