/* status_round_trip: the check shared by tests/unit/test_hostile.c and
 * tests/fuzz/fuzz_status.c: a status whose every text field holds s renders as YAML that
 * reads back with its state and error id (libyaml refuses anything that is not valid
 * YAML). Prints the rendering when it does not. */
#ifndef WAZOFS_STATUS_ROUND_TRIP_H
#define WAZOFS_STATUS_ROUND_TRIP_H
#include "base/error.h"
#include "jobs/job_status.h"
#include "yaml/yaml11.h"
#include <stdio.h>
#include <string.h>

static int status_round_trip(const char *s)
{
	struct job_status st, back;
	job_status_init(&st);
	char *const parts[] = { st.ns, st.name, st.version, st.package, st.waiting };
	const size_t sizes[] = { sizeof(st.ns), sizeof(st.name), sizeof(st.version),
				 sizeof(st.package), sizeof(st.waiting) };
	for (size_t i = 0; i < 5; i++) /* cut as the daemon cuts what does not fit */
		if (snprintf(parts[i], sizes[i], "%s", s) >= (int)sizes[i])
			utf8_cut_end(parts[i]);
	struct error fields = ERROR_INIT; /* a validation error's details, holding s too */
	error_field(&fields, s, "regex", s, "%s", s);
	job_status_fail(&st, "install-error", "Installation error", &fields, "%s", s);
	error_release(&fields);
	struct strbuf sb = STRBUF_INIT, again = STRBUF_INIT;
	job_status_render(&st, &sb);
	int rc = job_status_parse(sb.buf, sb.len, &back);
	int ok =
	    rc == 0 && back.state == JOB_STATE_ERROR && strcmp(back.error_id, "install-error") == 0;
	/* what is read back renders the same (a saved status comes back as it was), for
	 * text that is UTF-8 (other bytes are shown as U+FFFD or escapes: not kept) */
	const unsigned char *u = (const unsigned char *)s;
	int utf8 = 1;
	for (unsigned cp; *u && utf8;) {
		size_t n = *u < 0x80 ? 1 : y11_utf8_decode(u, &cp);
		utf8 = n > 0 && (*u >= 0x20 || *u == '\n' || *u == '\t') && *u != 0x7f;
		u += n ? n : 1;
	}
	if (ok && utf8) {
		job_status_render(&back, &again);
		ok = again.len == sb.len && memcmp(again.buf, sb.buf, sb.len) == 0;
	}
	if (!ok)
		fprintf(stderr, "status that does not read back as it was:\n%s\nread back:\n%s\n",
			sb.buf, again.buf ? again.buf : "");
	job_status_destroy(&st);
	job_status_destroy(&back);
	strbuf_release(&sb);
	strbuf_release(&again);
	return ok;
}
#endif
