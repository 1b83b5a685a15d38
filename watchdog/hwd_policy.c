#include "hwd_policy.h"

#include <stdio.h>
#include <string.h>

void hwd_policy_init(hwd_policy *p, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->start_ms = now_ms;
	p->kicking = true;
}

void hwd_policy_set_consecutive(hwd_policy *p, unsigned n)
{
	p->consecutive = n;
}

static bool report_good(const hwd_report *r)
{
	return r->configured && r->quorum_ok;
}

bool hwd_policy_report_fresh(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return p->have_report && now_ms - p->last_report_ms <= cfg->period_ms + cfg->period_ms / 2;
}

/* As with the grace: only periods that began after configure_timeout
 * count, so the first action comes at timeout + threshold x period. */
static bool configure_wait_open(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return cfg->configure_timeout_ms == 0 || now_ms - p->start_ms < cfg->configure_timeout_ms + cfg->period_ms;
}

bool hwd_policy_configure_timed_out(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return !configure_wait_open(p, cfg, now_ms);
}

bool hwd_policy_configuring(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return hwd_policy_report_fresh(p, cfg, now_ms) && !p->last.configured && configure_wait_open(p, cfg, now_ms);
}

/* Nothing is latched: a good report or a period of configuration ends
 * any episode. */
static void end_episode(hwd_policy *p)
{
	p->bad_periods = 0;
	p->suppressed = false;
	p->failed = false;
	p->proposed = false;
	p->reason = HEALTH_REASON_NONE;
	p->reason_process[0] = '\0';
}

hwd_event hwd_policy_report(hwd_policy *p, const hwd_policy_cfg *cfg, const hwd_report *r, uint64_t now_ms)
{
	bool was_bad = p->bad_periods > 0 || p->failed || p->suppressed;
	bool was_configuring = p->configuring;

	p->have_report = true;
	p->last_report_ms = now_ms;
	p->last = *r;
	if (!r->configured) {
		/* Past configure_timeout the period end counts it as bad. */
		if (p->configuring || !configure_wait_open(p, cfg, now_ms))
			return HWD_EV_NONE;
		p->configuring = true;
		return HWD_EV_CONFIGURING;
	}
	p->configuring = false;
	if (!report_good(r))
		return was_configuring ? HWD_EV_CONFIGURED : HWD_EV_NONE;
	end_episode(p);
	return was_bad ? HWD_EV_RESTORED : was_configuring ? HWD_EV_CONFIGURED : HWD_EV_NONE;
}

static void set_reason(hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	p->reason_process[0] = '\0';
	if (!hwd_policy_report_fresh(p, cfg, now_ms)) {
		p->reason = HEALTH_REASON_NO_REPORT;
	} else if (!p->last.configured) {
		p->reason = HEALTH_REASON_UNCONFIGURED;
	} else if (p->last.process[0]) {
		p->reason = HEALTH_REASON_PROCESS_LOST;
		memcpy(p->reason_process, p->last.process, sizeof(p->reason_process));
		p->reason_process[sizeof(p->reason_process) - 1] = '\0';
	} else {
		p->reason = HEALTH_REASON_QUORUM_LOST;
	}
}

/* The count is frozen, not reset: unlocking resumes from it. */
static hwd_event suppress(hwd_policy *p)
{
	if (p->suppressed)
		return HWD_EV_LOCKED;
	p->suppressed = true;
	return HWD_EV_SUPPRESSED;
}

hwd_event hwd_policy_period_end(hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms,
				bool locked)
{
	bool bad = !hwd_policy_report_fresh(p, cfg, now_ms) || !report_good(&p->last);

	p->proposed = false; /* a proposal not confirmed within its period lapses */
	if (!locked)
		p->suppressed = false; /* lock removal ends a suppression episode */
	if (hwd_policy_configuring(p, cfg, now_ms)) {
		/* Being configured is not a failure (StarlingX arms nothing
		 * before it): count nothing, keep kicking. */
		end_episode(p);
		return HWD_EV_NONE;
	}
	if (!bad) {
		if (p->consecutive == 0 || !hwd_policy_healthy(p, cfg, now_ms))
			return HWD_EV_NONE;
		p->consecutive = 0;
		return HWD_EV_HEALTHY;
	}
	set_reason(p, cfg, now_ms);
	/* Only periods that began after the grace ended count, so the first
	 * action comes at grace + threshold x period, never earlier. */
	if (now_ms - p->start_ms < cfg->grace_ms + cfg->period_ms)
		return HWD_EV_GRACE;
	if (locked)
		return suppress(p);
	if (p->failed)
		return HWD_EV_NONE; /* acted already this episode */
	if (p->bad_periods + 1 >= cfg->threshold) {
		p->proposed = true;
		return HWD_EV_PROPOSE;
	}
	p->bad_periods++;
	return HWD_EV_BAD_PERIOD;
}

hwd_event hwd_policy_confirm(hwd_policy *p, const hwd_policy_cfg *cfg, bool locked, hwd_kexec_state kexec)
{
	if (!p->proposed)
		return HWD_EV_NONE;
	p->proposed = false;
	if (locked)
		return suppress(p);
	p->bad_periods = cfg->threshold;
	p->failed = true;
	p->plan = hwd_action_choose(cfg->action, cfg->fallback, kexec, p->consecutive, cfg->max_consecutive);
	if (p->plan.action != HWD_ACTION_LOG) {
		/* Counted before the action: after a crashdump there is no later.
		 * Kicking stops either way: if the action works the kernel
		 * watchdog finishes what sysrq did not, if it cannot be taken
		 * the watchdog reset is the only way left to carry it out. */
		p->consecutive++;
		p->kicking = false;
	}
	return HWD_EV_ACT;
}

bool hwd_policy_kick(const hwd_policy *p)
{
	return p->kicking;
}

void hwd_policy_action_failed(hwd_policy *p)
{
	if (!p->kicking)
		p->action_failed = true;
}

/* The reset the card would give a failed action is right only for a node
 * still failing: not for a locked one, a healthy one, or one being
 * configured. */
bool hwd_policy_resume(hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms, bool locked)
{
	if (p->kicking || !p->action_failed)
		return false;
	if (!locked && !hwd_policy_healthy(p, cfg, now_ms) && !hwd_policy_configuring(p, cfg, now_ms))
		return false;
	p->kicking = true;
	p->action_failed = false;
	/* A new episode: still failing once unlocked, it is acted on again
	 * after threshold bad periods. */
	p->failed = false;
	p->bad_periods = 0;
	p->proposed = false;
	return true;
}

bool hwd_policy_log_only(const hwd_policy *p, const hwd_policy_cfg *cfg)
{
	return cfg->max_consecutive > 0 && p->consecutive >= cfg->max_consecutive;
}

bool hwd_policy_healthy(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms)
{
	return hwd_policy_report_fresh(p, cfg, now_ms) && report_good(&p->last) && p->bad_periods == 0 && !p->failed;
}

const char *hwd_policy_reason_text(const hwd_policy *p, char *buf, size_t size)
{
	health_reason_text(p->reason, p->reason_process, buf, size);
	return buf;
}

const char *hwd_event_name(hwd_event ev)
{
	static const char *const names[] = {
		[HWD_EV_NONE] = "none",
		[HWD_EV_GRACE] = "grace",
		[HWD_EV_BAD_PERIOD] = "bad_period",
		[HWD_EV_LOCKED] = "locked",
		[HWD_EV_SUPPRESSED] = "suppressed",
		[HWD_EV_PROPOSE] = "propose",
		[HWD_EV_ACT] = "act",
		[HWD_EV_RESTORED] = "restored",
		[HWD_EV_HEALTHY] = "healthy",
		[HWD_EV_CONFIGURING] = "configuring",
		[HWD_EV_CONFIGURED] = "configured",
	};

	return (unsigned)ev < sizeof(names) / sizeof(names[0]) ? names[ev] : "?";
}
