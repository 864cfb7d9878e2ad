/* install_request: wazo-plugind's install body, as a file incoming/NAME.yml:
 *   {method: git, options: {url, ref, subdirectory}}
 *   {method: market, options: {namespace, name, version}}
 *   {method: apt, options: {namespace, name, version}} (version optional: the newest)
 *   {method: rebuild, options: {namespace, name}} or {method: rebuild, options: {all: true}}
 *   (from the kept source: the installed version, or every plugin that has one)
 * and, for both, the optional reinstall: true. */
#ifndef WAZOFS_INSTALL_REQUEST_H
#define WAZOFS_INSTALL_REQUEST_H
#include "base/error.h"
#include "base/strbuf.h"
#include <stddef.h>

struct install_request {
	char method[16]; /* git | market | apt | rebuild */
	char url[1024], ref[256], subdirectory[512];
	char ns[64], name[128], version[128];
	int reinstall;
	int all; /* rebuild: every plugin that has a kept source */
};

/* 1 when name looks like an install request file (*.yml, *.yaml). */
int install_request_name(const char *name);
/* Parses text. Returns 0, or -EINVAL with a message in err. */
int install_request_parse(const char *text, size_t len, struct install_request *r,
			  struct error *err);
/* Appends text (len bytes) to out with the user information of every URL in it
 * ("scheme://user:token@host") replaced by "***": for logs, statuses and history. */
void url_redact(const char *text, size_t len, struct strbuf *out);
#endif
