/* libFuzzer target: wazo/plugin.yml parsing, validation and wazofs's own limits; the
 * status of a job that read it must always render as valid YAML. */
#include "jobs/job_status.h"
#include "plugin/plugin_meta.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plugin_meta m;
	struct error r = ERROR_INIT;
	int rc = plugin_meta_parse((const char *)data, size, "25.17", &m, &r);
	if (rc == 0) {
		error_release(&r);
		plugin_meta_check_limits(&m, &r);
	}
	struct job_status st, back;
	job_status_init(&st);
	if (rc == 0) {
		snprintf(st.name, sizeof(st.name), "%s", m.name);
		snprintf(st.version, sizeof(st.version), "%s", m.version);
	}
	job_status_fail(&st, "validation-error", "Validation error", r.n ? &r : NULL, "%s",
			r.n ? r.e[0].message : "none");
	struct strbuf sb = STRBUF_INIT;
	job_status_render(&st, &sb);
	if (job_status_parse(sb.buf, sb.len, &back))
		abort(); /* a status that is not valid YAML */
	job_status_destroy(&back);
	job_status_destroy(&st);
	strbuf_release(&sb);
	if (rc == 0)
		plugin_meta_destroy(&m);
	error_release(&r);
	return 0;
}
