/* libFuzzer target: a dropped .deb, read (control and plugin metadata) and checked as a
 * plugin package would be; anything goes in, nothing may crash, leak or hang. */
#include "fuzz_input.h"
#include "plugin/deb_reader.h"
#include "plugin/package_drop.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/in.deb", fuzz_dir("deb"));
	fuzz_write_input(path, data, size);
	struct deb_info d;
	struct error err = ERROR_INIT;
	deb_looks_like_package(path);
	if (deb_read(path, DEB_READ_DATA, &d, &err) == 0) {
		struct plugin_meta m;
		struct error r = ERROR_INIT;
		if (package_drop_validate(&d, "25.17", &m, &r) == 0)
			plugin_meta_destroy(&m);
		error_release(&r);
	}
	deb_info_release(&d);
	error_release(&err);
	unlink(path);
	return 0;
}
