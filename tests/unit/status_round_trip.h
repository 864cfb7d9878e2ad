/* status_round_trip: the check shared by tests/unit/test_hostile.c and
 * tests/fuzz/fuzz_status.c: a status whose every text field holds s renders as YAML that
 * reads back with its state and error id (libyaml refuses anything that is not valid
 * YAML). Prints the rendering when it does not. */
#ifndef WAZOFS_STATUS_ROUND_TRIP_H
#define WAZOFS_STATUS_ROUND_TRIP_H
#include "jobs/job_status.h"
#include <stdio.h>
#include <string.h>

static int status_round_trip(const char *s)
{
	struct job_status st, back;
	job_status_init(&st);
	snprintf(st.ns, sizeof(st.ns), "%s", s);
	snprintf(st.name, sizeof(st.name), "%s", s);
	snprintf(st.version, sizeof(st.version), "%s", s);
	snprintf(st.package, sizeof(st.package), "%s", s);
	snprintf(st.waiting, sizeof(st.waiting), "%s", s);
	job_status_fail(&st, "install-error", "Installation error", NULL, "%s", s);
	struct strbuf sb = STRBUF_INIT;
	job_status_render(&st, &sb);
	int rc = job_status_parse(sb.buf, sb.len, &back);
	int ok = rc == 0 && strcmp(back.state, "error") == 0 &&
		 strcmp(back.error_id, "install-error") == 0;
	if (!ok)
		fprintf(stderr, "status that does not read back:\n%s\n", sb.buf);
	job_status_destroy(&st);
	job_status_destroy(&back);
	strbuf_release(&sb);
	return ok;
}
#endif
