/* libFuzzer: hostwd's health report parser and libpmonhook's status parser. */
#include <stdint.h>
#include <stdlib.h>

#include "hwd_report.h"
#include "pmonhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmh_status st;
	hwd_report r;
	int k;

	k = hwd_report_parse((const char *)data, size, &r);
	if (k == HWD_MSG_REPORT && r.process[sizeof(r.process) - 1] != '\0')
		abort();
	pmh_status_parse((const char *)data, size, &st);
	return 0;
}
