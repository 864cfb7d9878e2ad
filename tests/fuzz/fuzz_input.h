/* fuzz_input: for the libFuzzer targets whose code reads a file: a scratch directory
 * of their own under /tmp (made at the first input), and the input written into it. */
#ifndef WAZOFS_FUZZ_INPUT_H
#define WAZOFS_FUZZ_INPUT_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The scratch directory, /tmp/wazofs-fuzz-NAME.XXXXXX made once per process. */
static const char *fuzz_dir(const char *name)
{
	static char dir[128];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/wazofs-fuzz-%s.XXXXXX", name);
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

/* Writes the input to path; a failure stops the fuzzer (it would test nothing). */
static void fuzz_write_input(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
}
#endif
