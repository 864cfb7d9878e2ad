/* libFuzzer target: the market index (JSON through libyaml) and its info rendering. */
#include "plugin/market.h"
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct market *m = NULL;
	struct error err = ERROR_INIT;
	if (market_parse((const char *)data, size, "fuzz", &m, &err) == 0) {
		for (size_t i = 0; i < m->n_items; i++) {
			struct strbuf info = STRBUF_INIT;
			market_info_render(&m->items[i], NULL, "25.17", &info);
			strbuf_release(&info);
		}
		market_free(m);
	}
	error_release(&err);
	return 0;
}
