/* libFuzzer target: install request files (incoming/NAME.yml). */
#include "plugin/install_request.h"
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct install_request req;
	struct error err = ERROR_INIT;
	install_request_parse((const char *)data, size, &req, &err);
	error_release(&err);
	return 0;
}
