/* libFuzzer target: any bytes in every status field render as valid YAML that reads
 * back with the same state and error id; and parsing any text never crashes. */
#include "job_status.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_status st, back;
	char text[1200];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;
	job_status_parse((const char *)data, size, &back); /* must not crash */
	job_status_destroy(&back);
	job_status_init(&st);
	snprintf(st.ns, sizeof(st.ns), "%s", text);
	snprintf(st.name, sizeof(st.name), "%s", text);
	snprintf(st.version, sizeof(st.version), "%s", text);
	snprintf(st.package, sizeof(st.package), "%s", text);
	snprintf(st.waiting, sizeof(st.waiting), "%s", text);
	job_status_fail(&st, "install-error", "Installation error", NULL, "%s", text);
	struct strbuf sb = STRBUF_INIT;
	job_status_render(&st, &sb);
	if (job_status_parse(sb.buf, sb.len, &back) || strcmp(back.state, "error") ||
	    strcmp(back.error_id, "install-error"))
		abort();
	job_status_destroy(&back);
	job_status_destroy(&st);
	strbuf_release(&sb);
	return 0;
}
