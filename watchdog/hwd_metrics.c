#include "hwd_metrics.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum {
	M_ARMED, M_DEVICE, M_TIMEOUT, M_KICKING, M_LOCKED, M_CONFIGURED, M_WAITING, M_QUORUM, M_BAD, M_THRESHOLD,
	M_SUPPRESSED, M_FAILED, M_LOG_ONLY, M_ACTIONS, M_CONSECUTIVE, M_MAX_CONSECUTIVE, M_KICKS,
	M_KICK_FAILURES, M_GAP_WORST, M_GAP, M_REPORTS, M_MALFORMED, M_REJECTED, M_DROPPED_FIT, M_STATUS,
	M_REPORT_AGE, M_COUNT
};

#define G(id, n, u, l, h) [id] = { "hostwd_" n, METRIC_GAUGE, u, l, h }
#define C(id, n, l, h) [id] = { "hostwd_" n, METRIC_COUNTER, "", l, h }

const metric_def hwd_metric_defs[] = {
	G(M_ARMED, "armed", "", "", "1 while hostwd kicks a watchdog device (kernel or test fake), 0 with no device or after an action stopped kicking."),
	G(M_DEVICE, "device_info", "", "kind", "The watchdog device kind (kernel, file = test fake, none); the sample is 1."),
	G(M_TIMEOUT, "watchdog_timeout_seconds", "seconds", "", "Watchdog timeout as the driver accepted it."),
	G(M_KICKING, "kicking", "", "", "1 while hostwd kicks; 0 once an action that takes the node down was decided."),
	G(M_LOCKED, "locked", "", "", "1 while the lock file exists (no quorum-failure action)."),
	G(M_CONFIGURED, "configured", "", "", "1 if the last report said the node is configured."),
	G(M_WAITING, "waiting_for_configuration", "", "", "1 while a fresh report says configured=0 and [health] configure_timeout has not passed: nothing is counted, hostwd keeps kicking."),
	G(M_QUORUM, "quorum_state", "", "state", "Quorum as hostwd sees it: the sample of the current state (ok, lost, unknown = no fresh report) is 1, the others 0."),
	G(M_BAD, "bad_periods", "", "", "Consecutive bad periods counted (frozen while locked)."),
	G(M_THRESHOLD, "failure_threshold", "", "", "[health] failure_threshold: bad periods before a quorum failure."),
	G(M_SUPPRESSED, "suppressed", "", "", "1 while a quorum failure is suppressed because the node is locked."),
	G(M_FAILED, "quorum_failed", "", "", "1 once a quorum failure was declared (until a good report)."),
	G(M_LOG_ONLY, "log_only", "", "", "1 while the consecutive-action limit is reached: the next quorum failure is only logged."),
	C(M_ACTIONS, "actions_total", "action,why", "Quorum-failure actions decided, by action (crashdump, reboot, log) and why (configured, no_crash_kernel, kexec_unknown, limit)."),
	G(M_CONSECUTIVE, "consecutive_actions", "", "", "Consecutive actions with no healthy period between them (persisted in [action] count_file)."),
	G(M_MAX_CONSECUTIVE, "max_consecutive_actions", "", "", "[action] max_consecutive (0: no limit)."),
	C(M_KICKS, "kicks_total", "", "Successful watchdog kicks."),
	C(M_KICK_FAILURES, "kick_failures_total", "", "Failed watchdog kicks (FIT fail_kick included)."),
	G(M_GAP_WORST, "kick_gap_worst_seconds", "seconds", "", "Longest time between two successful kicks since start."),
	[M_GAP] = { "hostwd_kick_gap_seconds", METRIC_HISTOGRAM, "seconds", "",
		    "Time between successful kicks; compare with [watchdog] kick_interval and timeout." },
	C(M_REPORTS, "reports_total", "", "Health reports accepted."),
	C(M_MALFORMED, "reports_malformed_total", "", "Health datagrams dropped as malformed or truncated."),
	C(M_REJECTED, "reports_rejected_total", "", "Health reports rejected: sender uid not in [health] allowed_uids."),
	C(M_DROPPED_FIT, "reports_dropped_fit_total", "", "Health reports dropped by fault insertion (tests only)."),
	C(M_STATUS, "status_requests_total", "", "Status requests answered (pmon-hook status)."),
	G(M_REPORT_AGE, "last_report_age_seconds", "seconds", "", "Seconds since the last accepted report; NaN before the first."),
};

const size_t hwd_n_metric_defs = ARRAY_SIZE(hwd_metric_defs);

_Static_assert(ARRAY_SIZE(hwd_metric_defs) == M_COUNT, "one row per metric");

static const double gap_bounds[] = { 0.5, 1, 1.1, 2, 5, 5.5, 6, 10, 30, 60, 120, 180 };

void hwd_kick_stats_init(hwd_kick_stats *k)
{
	*k = (hwd_kick_stats){ 0 };
	metrics_hist_init(&k->gaps, gap_bounds, ARRAY_SIZE(gap_bounds));
}

void hwd_kick_stats_kick(hwd_kick_stats *k, uint64_t now_usec)
{
	if (k->last_usec && now_usec >= k->last_usec) {
		double gap = (double)(now_usec - k->last_usec) / 1e6;

		metrics_hist_observe(&k->gaps, gap);
		if (gap > k->worst_s)
			k->worst_s = gap;
	}
	k->last_usec = now_usec;
}

static const char *const action_label[HWD_ACTION_COUNT] = { "crashdump", "reboot", "log" };
static const char *const why_label[HWD_WHY_COUNT] = { "configured", "no_crash_kernel", "kexec_unknown", "limit" };

static void format_actions(const hwd_metrics_in *in, metrics_buf *b)
{
	const metric_def *d = &hwd_metric_defs[M_ACTIONS];
	char l[64];

	metrics_family(b, d);
	for (int a = 0; a < HWD_ACTION_COUNT; a++)
		for (int w = 0; w < HWD_WHY_COUNT; w++) {
			snprintf(l, sizeof(l), "action=\"%s\",why=\"%s\"", action_label[a], why_label[w]);
			metrics_sample(b, d, l, in->actions ? (double)in->actions[a][w] : 0);
		}
}

static void format_state(const hwd_metrics_in *in, metrics_buf *b)
{
	static const char *const kinds[] = { "kernel", "file", "none" }, *const states[] = { "ok", "lost", "unknown" };
	const metric_def *d;
	char l[32];

	metrics_one(b, &hwd_metric_defs[M_ARMED], in->armed);
	d = &hwd_metric_defs[M_DEVICE];
	metrics_family(b, d);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		snprintf(l, sizeof(l), "kind=\"%s\"", kinds[i]);
		metrics_sample(b, d, l, in->device_kind && !strcmp(in->device_kind, kinds[i]));
	}
	metrics_one(b, &hwd_metric_defs[M_TIMEOUT], in->timeout_s);
	metrics_one(b, &hwd_metric_defs[M_KICKING], in->kicking);
	metrics_one(b, &hwd_metric_defs[M_LOCKED], in->locked);
	metrics_one(b, &hwd_metric_defs[M_CONFIGURED], in->configured);
	metrics_one(b, &hwd_metric_defs[M_WAITING], in->waiting);
	d = &hwd_metric_defs[M_QUORUM];
	metrics_family(b, d);
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		snprintf(l, sizeof(l), "state=\"%s\"", states[i]);
		metrics_sample(b, d, l, in->quorum && !strcmp(in->quorum, states[i]));
	}
	metrics_one(b, &hwd_metric_defs[M_BAD], in->bad_periods);
	metrics_one(b, &hwd_metric_defs[M_THRESHOLD], in->threshold);
	metrics_one(b, &hwd_metric_defs[M_SUPPRESSED], in->suppressed);
	metrics_one(b, &hwd_metric_defs[M_FAILED], in->failed);
	metrics_one(b, &hwd_metric_defs[M_LOG_ONLY], in->log_only);
}

void hwd_metrics_format(const hwd_metrics_in *in, metrics_buf *b)
{
	format_state(in, b);
	format_actions(in, b);
	metrics_one(b, &hwd_metric_defs[M_CONSECUTIVE], in->consecutive);
	metrics_one(b, &hwd_metric_defs[M_MAX_CONSECUTIVE], in->max_consecutive);
	metrics_one(b, &hwd_metric_defs[M_KICKS], (double)in->kicks);
	metrics_one(b, &hwd_metric_defs[M_KICK_FAILURES], (double)in->kick_failures);
	metrics_one(b, &hwd_metric_defs[M_GAP_WORST], in->kick ? in->kick->worst_s : 0);
	metrics_family(b, &hwd_metric_defs[M_GAP]);
	if (in->kick)
		metrics_histogram(b, &hwd_metric_defs[M_GAP], NULL, &in->kick->gaps);
	metrics_one(b, &hwd_metric_defs[M_REPORTS], (double)in->reports);
	metrics_one(b, &hwd_metric_defs[M_MALFORMED], (double)in->malformed);
	metrics_one(b, &hwd_metric_defs[M_REJECTED], (double)in->rejected);
	metrics_one(b, &hwd_metric_defs[M_DROPPED_FIT], (double)in->dropped_fit);
	metrics_one(b, &hwd_metric_defs[M_STATUS], (double)in->status_requests);
	metrics_one(b, &hwd_metric_defs[M_REPORT_AGE], in->last_report_age_s < 0 ? NAN : in->last_report_age_s);
}
