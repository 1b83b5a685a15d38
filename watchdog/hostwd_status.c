/* hostwd: its state for people (STATUS=) and for pmon-hook status. */
#include <stdio.h>
#include <string.h>

#include "hostwd.h"
#include "notify.h"
#include "util.h"

static const char *quorum_text(const hostwd *h, uint64_t now)
{
	hwd_policy_cfg pc = hostwd_policy_cfg(&h->cfg);

	if (!hwd_policy_report_fresh(&h->policy, &pc, now))
		return "unknown";
	return h->policy.last.quorum_ok ? "ok" : "lost";
}

static bool configuring(const hostwd *h, uint64_t now)
{
	hwd_policy_cfg pc = hostwd_policy_cfg(&h->cfg);

	return hwd_policy_configuring(&h->policy, &pc, now);
}

/* ", configure_timeout 590s left" or "" (wait forever), for STATUS=. */
static const char *configure_left(const hostwd *h, uint64_t now, char *buf, size_t size)
{
	uint64_t limit = (uint64_t)h->cfg.configure_timeout * MSEC_PER_SEC, gone = now - h->policy.start_ms;

	buf[0] = '\0';
	if (limit)
		snprintf(buf, size, ", configure_timeout %llus left",
			 (unsigned long long)((limit > gone ? limit - gone : 0) / 1000));
	return buf;
}

static void state_text(const hostwd *h, char *buf, size_t size)
{
	const hwd_policy *p = &h->policy;
	uint64_t now = util_now_ms();
	char left[64];

	if (p->failed)
		snprintf(buf, size, "failed: quorum failure: %s (%s)", hwd_action_name(h->cfg.on_quorum_failure), REASON(h));
	else if (p->suppressed)
		snprintf(buf, size, "locked: quorum failure suppressed (%s)", REASON(h));
	else if (configuring(h, now))
		snprintf(buf, size, "configuring: waiting for configuration (report says configured=0%s)",
			 configure_left(h, now, left, sizeof(left)));
	else if (p->bad_periods > 0)
		snprintf(buf, size, "degraded: %u/%d bad periods (%s)", p->bad_periods, h->cfg.failure_threshold, REASON(h));
	else if (now - p->start_ms < (uint64_t)h->cfg.start_grace * MSEC_PER_SEC)
		snprintf(buf, size, "starting: quorum %s, grace %llus left", quorum_text(h, now),
			 (unsigned long long)(((uint64_t)h->cfg.start_grace * MSEC_PER_SEC - (now - p->start_ms)) / 1000));
	else
		snprintf(buf, size, "quorum %s", quorum_text(h, now));
}

void hostwd_update_status(hostwd *h)
{
	char buf[sizeof(h->last_status)];
	size_t len;

	state_text(h, buf, sizeof(buf));
	len = strlen(buf);
	if (hostwd_log_only(h))
		snprintf(buf + len, sizeof(buf) - len, " [LOG ONLY: %u consecutive actions, max_consecutive %d]",
			 h->policy.consecutive, h->cfg.max_consecutive);
	else if (h->action_blocked[0])
		snprintf(buf + len, sizeof(buf) - len, " [ACTION UNAVAILABLE: %s]", h->action_blocked);
	if (strcmp(buf, h->last_status) == 0)
		return;
	memcpy(h->last_status, buf, sizeof(buf));
	notify_status("%s", buf);
}

int hostwd_format_status(const hostwd *h, char *buf, size_t size)
{
	const hwd_policy *p = &h->policy;
	uint64_t now = util_now_ms();
	long age = p->have_report ? (long)((now - p->last_report_ms) / 1000) : -1;
	bool waiting = configuring(h, now);
	const char *state = p->failed ? "failed" : p->suppressed ? "suppressed" : waiting ? "configuring" :
			    p->bad_periods ? "degraded" : "ok";

	return snprintf(buf, size,
			"v1 state=%s locked=%d configured=%d quorum=%s bad_periods=%u failure_threshold=%d "
			"suppressed=%d action=%s last_report_age_s=%ld reason=%s reason_process=%s "
			"reports=%lu malformed=%lu rejected=%lu dropped_fit=%lu kicks=%lu kick_failures=%lu "
			"actions=%lu kicking=%d device=%s action_ready=%d consecutive_actions=%u max_consecutive=%d "
			"log_only=%d timeout_s=%d waiting_for_configuration=%d configure_timeout_s=%d",
			state, hostwd_lock_present(h), p->have_report && p->last.configured, quorum_text(h, now),
			p->bad_periods, h->cfg.failure_threshold, p->suppressed,
			hwd_action_name(h->cfg.on_quorum_failure), age, health_reason_code(p->reason),
			p->reason == HEALTH_REASON_PROCESS_LOST ? p->reason_process : "-",
			h->n.reports, h->n.malformed, h->n.rejected, h->n.dropped_fit, h->n.kicks,
			h->n.kick_failures, h->n.actions, hwd_policy_kick(p),
			h->device ? hwd_device_kind_name(hwd_device_get_kind(h->device)) : "none",
			!h->action_blocked[0] && !hostwd_log_only(h), p->consecutive, h->cfg.max_consecutive, hostwd_log_only(h),
			h->timeout_s, waiting, h->cfg.configure_timeout);
}

/* A snapshot of what hostwd already knows; a failed write is logged once
 * until one succeeds. */
void hostwd_publish_metrics(hostwd *h)
{
	const hwd_policy *p = &h->policy;
	uint64_t now = util_now_ms();
	hwd_device_kind kind = h->device ? hwd_device_get_kind(h->device) : HWD_DEV_NONE;
	hwd_metrics_in in = {
		.armed = kind != HWD_DEV_NONE && hwd_policy_kick(p), .device_kind = hwd_device_kind_name(kind),
		.timeout_s = h->timeout_s, .locked = hostwd_lock_present(h), .configured = p->have_report && p->last.configured,
		.waiting = configuring(h, now), .suppressed = p->suppressed, .failed = p->failed,
		.log_only = hostwd_log_only(h), .kicking = hwd_policy_kick(p), .quorum = quorum_text(h, now),
		.bad_periods = p->bad_periods, .threshold = (unsigned)h->cfg.failure_threshold,
		.consecutive = p->consecutive, .max_consecutive = (unsigned)h->cfg.max_consecutive,
		.actions = (const unsigned long (*)[HWD_WHY_COUNT])h->n.actions_by, .kicks = h->n.kicks,
		.kick_failures = h->n.kick_failures, .reports = h->n.reports, .malformed = h->n.malformed,
		.rejected = h->n.rejected, .dropped_fit = h->n.dropped_fit, .status_requests = h->n.status_requests,
		.last_report_age_s = p->have_report ? (double)(now - p->last_report_ms) / 1000.0 : -1,
		.kick = &h->kick_stats,
	};

	if (!h->cfg.metrics_textfile[0])
		return;
	metrics_buf_reset(&h->metrics);
	hwd_metrics_format(&in, &h->metrics);
	service_publish_metrics(h->cfg.metrics_textfile, &h->metrics, &h->metrics_error);
}
