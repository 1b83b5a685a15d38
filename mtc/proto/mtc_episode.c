#include "mtc_episode.h"

#include <string.h>

void mtc_episode_init(mtc_episode *e, bool admin_locked)
{
	memset(e, 0, sizeof(*e));
	e->admin_locked = admin_locked;
	e->reported = MTC_REPORTED_UNKNOWN;
}

mtc_decision mtc_episode_on_report(mtc_episode *e, bool reported_locked, uint64_t now_ms,
				   uint64_t resend_interval_ms)
{
	mtc_decision d = { false, false };

	e->reported = reported_locked ? MTC_REPORTED_LOCKED : MTC_REPORTED_UNLOCKED;
	if (reported_locked == e->admin_locked) {
		e->active = false; /* the host agrees: episode over */
		return d;
	}
	if (!e->active) {
		e->active = true;
		e->episodes++;
		e->sends = 1;
		e->last_send_ms = now_ms;
		d.log = true;
		d.send = true;
		return d;
	}
	if (now_ms - e->last_send_ms >= resend_interval_ms) {
		e->sends++;
		e->last_send_ms = now_ms;
		d.send = true;
	}
	return d;
}

bool mtc_episode_set_admin(mtc_episode *e, bool locked, uint64_t now_ms)
{
	bool changed = e->admin_locked != locked;

	e->admin_locked = locked;
	e->active = false;
	e->sends = 0;
	e->last_send_ms = now_ms;
	return changed;
}
