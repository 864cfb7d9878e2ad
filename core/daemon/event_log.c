/* event_log: numbered lines in a ring, a condition variable for readers (event_log.h). */
#include "event_log.h"
#include "base/monotonic.h"
#include "yaml/yaml11.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct event_log {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char **lines; /* ring: line n is at lines[(n - 1) % keep] */
	unsigned keep;
	unsigned long long seq; /* number of the last line */
	int closed;
};

struct event_log *event_log_new(unsigned keep)
{
	struct event_log *l = calloc(1, sizeof(*l));
	if (!l || !(l->lines = calloc(keep, sizeof(*l->lines)))) {
		free(l);
		return NULL;
	}
	l->keep = keep;
	pthread_mutex_init(&l->lock, NULL);
	monotonic_cond_init(&l->cond);
	return l;
}

void event_log_free(struct event_log *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->keep; i++)
		free(l->lines[i]);
	free(l->lines);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void event_log_add(struct event_log *l, const char *line)
{
	char *copy = strdup(line);
	pthread_mutex_lock(&l->lock);
	l->seq++;
	char **slot = &l->lines[(l->seq - 1) % l->keep];
	free(*slot);
	*slot = copy; /* NULL when out of memory: that line is skipped */
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

unsigned long long event_log_seq(struct event_log *l)
{
	pthread_mutex_lock(&l->lock);
	unsigned long long s = l->seq;
	pthread_mutex_unlock(&l->lock);
	return s;
}

int event_log_read(struct event_log *l, unsigned long long *seq, unsigned timeout_ms,
		   struct strbuf *out)
{
	struct timespec until;
	monotonic_deadline(&until, timeout_ms);
	pthread_mutex_lock(&l->lock);
	while (!l->closed && l->seq <= *seq &&
	       pthread_cond_timedwait(&l->cond, &l->lock, &until) != ETIMEDOUT)
		;
	if (l->closed) {
		pthread_mutex_unlock(&l->lock);
		return -ESHUTDOWN;
	}
	if (*seq + l->keep < l->seq)
		*seq = l->seq - l->keep; /* the older ones are gone */
	int n = 0;
	for (; *seq < l->seq; (*seq)++) {
		const char *line = l->lines[*seq % l->keep];
		if (line) {
			strbuf_addf(out, "%s\n", line);
			n++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

void event_log_close(struct event_log *l)
{
	pthread_mutex_lock(&l->lock);
	l->closed = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

void json_add_string(struct strbuf *out, const char *s)
{
	strbuf_add(out, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		if (*c == '"' || *c == '\\') {
			strbuf_addf(out, "\\%c", *c++);
		} else if (*c < 0x20 || *c == 0x7f) {
			strbuf_addf(out, "\\u%04x", *c++);
		} else {
			unsigned cp;
			size_t n = y11_utf8_decode(c, &cp);
			if (n) {
				strbuf_add(out, c, n);
				c += n;
			} else {
				strbuf_addf(out, "\\ufffd");
				c++;
			}
		}
	}
	strbuf_add(out, "\"", 1);
}
