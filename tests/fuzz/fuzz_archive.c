/* libFuzzer target: archive import (any format libarchive reads) into a scratch dir,
 * with small limits; nothing may be written outside it. */
#include "base/fsutil.h"
#include "jobs/tree_import.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char base[] = "/tmp/wazofs-fuzz-archive.XXXXXX";
	static int ready;
	if (!ready && !mkdtemp(base))
		abort();
	ready = 1;
	char src[sizeof(base) + 16], dest[sizeof(base) + 16];
	snprintf(src, sizeof(src), "%s/in.tar.gz", base);
	snprintf(dest, sizeof(dest), "%s/out", base);
	FILE *f = fopen(src, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	struct import_limits lim = { 1 << 20, 1000 };
	struct meta_report r;
	struct strbuf err = STRBUF_INIT;
	memset(&r, 0, sizeof(r));
	tree_import(src, dest, &lim, &r, &err);
	strbuf_release(&err);
	rm_rf(dest);
	unlink(src);
	return 0;
}
