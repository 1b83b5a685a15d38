#include "mtc_fleet.h"

#include <string.h>

void mtc_link_init(mtc_link *l, uint64_t now_ms)
{
	memset(l, 0, sizeof(*l));
	l->state = MTC_LINK_WAITING;
	l->since_ms = now_ms;
}

mtc_link_event mtc_link_on_alive(mtc_link *l, uint64_t now_ms)
{
	mtc_link_state was = l->state;

	l->state = MTC_LINK_UP;
	if (now_ms > l->last_ms)
		l->last_ms = now_ms;
	return was == MTC_LINK_MISSING ? MTC_LINK_RETURNED : MTC_LINK_NO_EVENT;
}

mtc_link_event mtc_link_check(mtc_link *l, uint64_t now_ms, uint64_t missing_ms)
{
	uint64_t from = l->state == MTC_LINK_UP ? l->last_ms : l->since_ms;

	if (missing_ms == 0 || l->state == MTC_LINK_MISSING || now_ms < from || now_ms - from < missing_ms)
		return MTC_LINK_NO_EVENT;
	l->state = MTC_LINK_MISSING;
	l->missing_ms = from;
	l->stops++;
	return MTC_LINK_STOPPED;
}

const char *mtc_link_state_name(mtc_link_state s)
{
	switch (s) {
	case MTC_LINK_UP:
		return "up";
	case MTC_LINK_MISSING:
		return "missing";
	default:
		return "waiting";
	}
}
