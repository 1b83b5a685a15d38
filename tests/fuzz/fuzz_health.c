/* libFuzzer: hostwd's health report parser, libpmonhook's status parser,
 * and pmon-hook's status --json built from what the parser accepted, which
 * must be valid JSON giving every string back as sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hwd_report.h"
#include "pmh_json.h"
#include "pmonhook.h"

static void check_string(json_t *d, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(d, key));

	if (!got || strcmp(got, want) != 0)
		abort();
}

static void check_status_json(const struct pmh_status *st, const char *data, size_t size)
{
	pmh_status_extra x;
	json_t *d;
	char *json;

	pmh_status_extra_parse(data, size, &x);
	/* The parser takes printable ASCII only: building can never fail. */
	if (pmh_status_json(st, &x, &json) < 0)
		abort();
	d = json_loads(json, 0, NULL);
	if (!json_is_object(d) || json_object_size(d) != 24)
		abort();
	check_string(d, "state", st->state);
	check_string(d, "quorum", st->quorum);
	check_string(d, "action", st->action);
	check_string(d, "reason", st->reason);
	check_string(d, "device", x.device);
	json_decref(d);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmh_status st;
	hwd_report r;
	int k;

	k = hwd_report_parse((const char *)data, size, &r);
	if (k == HWD_MSG_REPORT && r.process[sizeof(r.process) - 1] != '\0')
		abort();
	if (pmh_status_parse((const char *)data, size, &st) == 0)
		check_status_json(&st, (const char *)data, size);
	return 0;
}
