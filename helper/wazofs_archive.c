/* wazofs-archive: the archive work of the wazofs daemon, in a process of its own
 * (core/plugin/archive_helper.h says why). The daemon runs it as
 *
 *     wazofs-archive deb-write OUT.deb|- ROOTDIR  request on stdin: control fields,
 *                                                 maintainer scripts and the entries
 *                                                 added to ROOTDIR's; -: into fd 5
 *     wazofs-archive deb-read PACKAGE [data]      answer: control, and with data the
 *                                                 plugin metadata of the data member
 *     wazofs-archive import ARCHIVE|- DEST MAX_BYTES MAX_ENTRIES   (-: the archive on stdin)
 *
 * and reads its answer on stdout: records (core/base/records.h), always a "result" (0
 * or the call's errno), an "error" with the message when it failed, and for an archive
 * refused by import its report. The exit status is 0, or 1 when the call failed. */
#include "base/fsutil.h"
#include "base/records.h"
#include "base/strbuf.h"
#include "jobs/archive_extract.h"
#include "plugin/archive_helper.h"
#include "plugin/deb_reader.h"
#include "plugin/deb_writer.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_MAX (16u << 20)

/* In a build with AddressSanitizer (make asan), the helper may run with fakeroot's
 * library in LD_PRELOAD (deb-write as the build user): ASan must not refuse to start
 * because its runtime is not the first library. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WAZOFS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(WAZOFS_ASAN)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "verify_asan_link_order=0";
}
#endif

static int deb_write_cmd(char **argv, struct error *err)
{
	struct strbuf req = STRBUF_INIT;
	int rc = strbuf_read_fd(&req, 0, REQUEST_MAX);
	if (rc) {
		error_addf(err, "reading the request: %s", strerror(-rc));
		strbuf_release(&req);
		return rc;
	}
	struct deb_request dr;
	rc = archive_helper_take_deb_request(&req, &dr);
	if (rc)
		error_addf(err, "reading the request: %s", strerror(-rc));
	else if (strcmp(argv[0], "-"))
		rc = deb_write(argv[0], argv[1], &dr.ctl, &dr.scripts, err);
	else
		rc = deb_write_fd(5, argv[1], &dr.more, &dr.ctl, &dr.scripts, err);
	archive_helper_deb_request_release(&dr);
	strbuf_release(&req);
	return rc;
}

static int deb_read_cmd(char **argv, int argc, struct strbuf *out, struct error *err)
{
	int flags = argc > 1 && !strcmp(argv[1], "data") ? DEB_READ_DATA : 0;
	struct deb_info d;
	int rc = deb_read(argv[0], flags, &d, err);
	if (!rc) {
		char n[16];
		snprintf(n, sizeof(n), "%d", d.n_plugin_yml);
		records_put(out, "control", d.control.buf ? d.control.buf : "", d.control.len);
		records_put_str(out, "n_plugin_yml", n);
		records_put_str(out, "yml_ns", d.yml_ns);
		records_put_str(out, "yml_name", d.yml_name);
		records_put(out, "plugin_yml", d.plugin_yml.buf ? d.plugin_yml.buf : "",
			    d.plugin_yml.len);
	}
	deb_info_release(&d);
	return rc;
}

static int import_cmd(char **argv, struct strbuf *out, struct error *err)
{
	struct import_limits lim = { .max_bytes = strtoull(argv[2], NULL, 10),
				     .max_entries = strtoul(argv[3], NULL, 10) };
	int rc = archive_extract(argv[0], argv[1], &lim, err);
	archive_helper_put_report(out, err);
	return rc;
}

int main(int argc, char **argv)
{
	struct strbuf out = STRBUF_INIT;
	struct error err = ERROR_INIT;
	int rc;
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "deb-write") && argc == 4)
		rc = deb_write_cmd(argv + 2, &err);
	else if (!strcmp(cmd, "deb-read") && (argc == 3 || argc == 4))
		rc = deb_read_cmd(argv + 2, argc - 2, &out, &err);
	else if (!strcmp(cmd, "import") && argc == 6)
		rc = import_cmd(argv + 2, &out, &err);
	else {
		fprintf(stderr,
			"usage: wazofs-archive deb-write OUT.deb|- ROOTDIR < request (-: fd 5)\n"
			"       wazofs-archive deb-read PACKAGE [data]\n"
			"       wazofs-archive import ARCHIVE|- DEST MAX_BYTES MAX_ENTRIES\n"
			"(run by the wazofs daemon; answers in records on stdout)\n");
		return 2;
	}
	char result[16];
	snprintf(result, sizeof(result), "%d", rc < 0 ? -rc : rc);
	records_put_str(&out, "result", result);
	if (rc)
		records_put_str(&out, "error",
				err.msg.len ? err.msg.buf : strerror(rc < 0 ? -rc : rc));
	int wrote = out.oom ? -ENOMEM : write_all(1, out.buf, out.len);
	strbuf_release(&out);
	error_release(&err);
	return rc || wrote ? 1 : 0;
}
