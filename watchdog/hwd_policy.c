#include "hwd_policy.h"

#include <stdio.h>
#include <string.h>

void hwd_policy_init(hwd_policy *p, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->start_ms = now_ms;
}

static bool report_good(const hwd_report *r)
{
	return r->configured && r->quorum_ok;
}

bool hwd_policy_report_fresh(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return p->have_report && now_ms - p->last_report_ms <= cfg->period_ms + cfg->period_ms / 2;
}

hwd_event hwd_policy_report(hwd_policy *p, const hwd_report *r, uint64_t now_ms)
{
	bool was_bad = p->bad_periods > 0 || p->failed || p->suppressed;

	p->have_report = true;
	p->last_report_ms = now_ms;
	p->last = *r;
	if (!report_good(r))
		return HWD_EV_NONE;
	/* Nothing is latched: a good report ends any episode. */
	p->bad_periods = 0;
	p->suppressed = false;
	p->failed = false;
	p->reason[0] = '\0';
	return was_bad ? HWD_EV_RESTORED : HWD_EV_NONE;
}

static void set_reason(hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	if (!hwd_policy_report_fresh(p, cfg, now_ms))
		snprintf(p->reason, sizeof(p->reason), "no report");
	else if (!p->last.configured)
		snprintf(p->reason, sizeof(p->reason), "unconfigured");
	else if (p->last.process[0])
		snprintf(p->reason, sizeof(p->reason), "process %s lost", p->last.process);
	else
		snprintf(p->reason, sizeof(p->reason), "quorum lost");
}

hwd_event hwd_policy_period_end(hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms,
				bool locked)
{
	bool bad = !hwd_policy_report_fresh(p, cfg, now_ms) || !report_good(&p->last);

	if (!locked)
		p->suppressed = false; /* lock removal ends a suppression episode */
	if (!bad)
		return HWD_EV_NONE;
	set_reason(p, cfg, now_ms);
	/* Only periods that began after the grace ended count, so the first
	 * action comes at grace + threshold x period, never earlier. */
	if (now_ms - p->start_ms < cfg->grace_ms + cfg->period_ms)
		return HWD_EV_GRACE;
	if (locked) {
		/* The count is frozen, not reset: unlocking resumes from it. */
		if (p->suppressed)
			return HWD_EV_LOCKED;
		p->suppressed = true;
		return HWD_EV_SUPPRESSED;
	}
	if (p->failed)
		return HWD_EV_NONE; /* acted already this episode */
	if (p->bad_periods < cfg->threshold)
		p->bad_periods++;
	if (p->bad_periods >= cfg->threshold) {
		p->failed = true;
		return HWD_EV_ACT;
	}
	return HWD_EV_BAD_PERIOD;
}

bool hwd_policy_healthy(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return hwd_policy_report_fresh(p, cfg, now_ms) && report_good(&p->last) && p->bad_periods == 0 && !p->failed;
}

hwd_event hwd_policy_lock_raced(hwd_policy *p)
{
	p->failed = false;
	if (p->bad_periods > 0)
		p->bad_periods--;
	if (p->suppressed)
		return HWD_EV_LOCKED;
	p->suppressed = true;
	return HWD_EV_SUPPRESSED;
}

const char *hwd_event_name(hwd_event ev)
{
	static const char *const names[] = {
		[HWD_EV_NONE] = "none",
		[HWD_EV_GRACE] = "grace",
		[HWD_EV_BAD_PERIOD] = "bad_period",
		[HWD_EV_LOCKED] = "locked",
		[HWD_EV_SUPPRESSED] = "suppressed",
		[HWD_EV_ACT] = "act",
		[HWD_EV_RESTORED] = "restored",
	};

	return (unsigned)ev < sizeof(names) / sizeof(names[0]) ? names[ev] : "?";
}
