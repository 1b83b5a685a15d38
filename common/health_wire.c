#include "health_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const codes[] = {
	[HEALTH_REASON_NONE] = "none",
	[HEALTH_REASON_NO_REPORT] = "no-report",
	[HEALTH_REASON_UNCONFIGURED] = "unconfigured",
	[HEALTH_REASON_QUORUM_LOST] = "quorum-lost",
	[HEALTH_REASON_PROCESS_LOST] = "process-lost",
};

const char *health_reason_code(health_reason reason)
{
	return (unsigned)reason < sizeof(codes) / sizeof(codes[0]) ? codes[reason] : "?";
}

int health_reason_parse(const char *code, health_reason *ret)
{
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (code && strcmp(code, codes[i]) == 0) {
			*ret = (health_reason)i;
			return 0;
		}
	return -EINVAL;
}

int health_reason_text(health_reason reason, const char *process, char *buf, size_t size)
{
	switch (reason) {
	case HEALTH_REASON_NONE:
		return snprintf(buf, size, "%s", "");
	case HEALTH_REASON_NO_REPORT:
		return snprintf(buf, size, "no report");
	case HEALTH_REASON_UNCONFIGURED:
		return snprintf(buf, size, "unconfigured");
	case HEALTH_REASON_QUORUM_LOST:
		return snprintf(buf, size, "quorum lost");
	case HEALTH_REASON_PROCESS_LOST:
		return snprintf(buf, size, "process %s lost", process && *process ? process : "?");
	}
	return snprintf(buf, size, "?");
}
