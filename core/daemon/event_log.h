/* event_log: the last state changes of jobs, one JSON object per line, numbered; readers
 * of MOUNT/events wait here for the next one (bounded waits, so an interrupted reader or
 * an unmount never stays blocked). */
#ifndef WAZOFS_EVENT_LOG_H
#define WAZOFS_EVENT_LOG_H
#include "base/strbuf.h"

struct event_log;

/* Keeps the last keep lines. NULL when out of memory. */
struct event_log *event_log_new(unsigned keep);
void event_log_free(struct event_log *l);
/* Appends one line (without its newline); wakes the readers. */
void event_log_add(struct event_log *l, const char *line);
/* The number of the last line added (0: none yet). */
unsigned long long event_log_seq(struct event_log *l);
/* Appends to out every line after *seq (each with its newline) and moves *seq past them;
 * when there is none, waits up to timeout_ms for one. Returns how many lines, 0 when the
 * wait ended without one, -ESHUTDOWN once closed. Lines too old to be kept are skipped. */
int event_log_read(struct event_log *l, unsigned long long *seq, unsigned timeout_ms,
		   struct strbuf *out);
/* Wakes every reader for good (unmount). */
void event_log_close(struct event_log *l);
/* Appends s as a JSON string (quotes, escapes; bytes that are not UTF-8, overlong forms and
 * surrogates become U+FFFD). */
void json_add_string(struct strbuf *out, const char *s);
#endif
