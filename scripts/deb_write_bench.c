/* deb_write_bench: writes the .deb of a directory with wazofs's deb writer, as
 * scripts/bench-deb.sh measures it against dpkg-deb. Usage: deb_write_bench DIR OUT.deb */
#include "plugin/deb_writer.h"
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR OUT.deb\n", argv[0]);
		return 2;
	}
	struct deb_control ctl = { "bench",    "1.0", "bench <bench@example.org>", "misc",
				   "optional", NULL,  "a benchmark package",	   0 };
	struct deb_scripts scripts = { 0 };
	struct error err = ERROR_INIT;
	int rc = deb_write(argv[2], argv[1], &ctl, &scripts, &err);
	if (rc)
		fprintf(stderr, "deb_write: %s\n", err.msg.buf ? err.msg.buf : "failed");
	error_release(&err);
	return rc ? 1 : 0;
}
