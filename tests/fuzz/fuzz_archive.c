/* libFuzzer target: archive import (any format libarchive reads) into a scratch dir,
 * with small limits; nothing may be written outside it. */
#include "base/fsutil.h"
#include "fuzz_input.h"
#include "jobs/archive_extract.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char src[160], dest[160];
	snprintf(src, sizeof(src), "%s/in.tar.gz", fuzz_dir("archive"));
	snprintf(dest, sizeof(dest), "%s/out", fuzz_dir("archive"));
	fuzz_write_input(src, data, size);
	struct import_limits lim = { .max_bytes = 1 << 20, .max_entries = 1000 };
	struct error err = ERROR_INIT;
	archive_extract(src, dest, &lim, &err);
	error_release(&err);
	rm_rf(dest);
	unlink(src);
	return 0;
}
