/* libFuzzer target: any bytes in every status field render as valid YAML that reads
 * back with the same state and error id; and parsing any text never crashes. */
#include "../unit/status_round_trip.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_status back;
	char text[1200];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;
	job_status_parse((const char *)data, size, &back); /* must not crash */
	job_status_destroy(&back);
	if (!status_round_trip(text))
		abort();
	return 0;
}
