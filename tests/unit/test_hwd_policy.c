/* Table-driven walks of the hostwd decision. The rows script steps (report
 * / period end / confirm, with the lock state) and the event each must give;
 * the decision table walks report x lock x grace x threshold x action
 * choice through kick, act, suppress and restore together, so every
 * decision hostwd.c carries out is checked here, in the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hwd_policy.h"

enum step_kind { END, RPT_OK, RPT_UNCONF, RPT_LOST, PERIOD, PERIOD_LOCKED, CONFIRM, CONFIRM_LOCKED };

typedef struct step {
	enum step_kind kind;
	uint64_t at_s;        /* seconds since start */
	hwd_event want;
	unsigned want_bad;    /* bad_periods after the step */
} step;

typedef struct row {
	const char *name;
	uint64_t grace_s;
	unsigned threshold;
	uint64_t ct_s;        /* configure_timeout, 0: wait forever */
	step steps[16];
} row;

#define P 30 /* report period, seconds */

static const row rows[] = {
	{ "missing reports, unlocked, after grace: act at threshold", 0, 3, 0, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 2 },
		{ PERIOD, 3 * P, HWD_EV_PROPOSE, 2 },
		{ CONFIRM, 3 * P, HWD_EV_ACT, 3 },
		{ PERIOD, 4 * P, HWD_EV_NONE, 3 }, /* acted once, no repeat */
		{ CONFIRM, 4 * P, HWD_EV_NONE, 3 }, /* nothing proposed, nothing confirmed */
		{ END } } },
	{ "missing reports inside grace are not counted", 100, 2, 0, {
		{ PERIOD, 1 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 2 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 3 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 4 * P, HWD_EV_GRACE, 0 },  /* began at 90 s, inside the 100 s grace */
		{ PERIOD, 5 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 6 * P, HWD_EV_PROPOSE, 1 }, /* 180 s >= 100 + 2 x 30 */
		{ CONFIRM, 6 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "good reports every period: nothing ever", 0, 1, 0, {
		{ RPT_OK, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_NONE, 0 },
		{ RPT_OK, 31, HWD_EV_NONE, 0 }, { PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ RPT_OK, 61, HWD_EV_NONE, 0 }, { PERIOD, 3 * P, HWD_EV_NONE, 0 },
		{ END } } },
	{ "unconfigured reports, configure_timeout 0: waiting, never counted, said once", 0, 1, 0, {
		{ RPT_UNCONF, 1, HWD_EV_CONFIGURING, 0 }, { PERIOD, 1 * P, HWD_EV_NONE, 0 },
		{ RPT_UNCONF, 31, HWD_EV_NONE, 0 }, { PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ RPT_UNCONF, 61, HWD_EV_NONE, 0 }, { PERIOD_LOCKED, 3 * P, HWD_EV_NONE, 0 },
		{ RPT_UNCONF, 36001, HWD_EV_NONE, 0 }, { PERIOD, 36010, HWD_EV_NONE, 0 }, /* 10 hours on */
		{ CONFIRM, 36010, HWD_EV_NONE, 0 },
		{ RPT_OK, 36011, HWD_EV_CONFIGURED, 0 }, { PERIOD, 36030, HWD_EV_NONE, 0 },
		{ END } } },
	{ "unconfigured past configure_timeout: counted as bad", 0, 2, 40, {
		{ RPT_UNCONF, 1, HWD_EV_CONFIGURING, 0 }, { PERIOD, 1 * P, HWD_EV_NONE, 0 },
		{ RPT_UNCONF, 31, HWD_EV_NONE, 0 }, { PERIOD, 2 * P, HWD_EV_NONE, 0 }, /* began at 30 s < 40 s */
		{ RPT_UNCONF, 61, HWD_EV_NONE, 0 }, { PERIOD, 3 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_UNCONF, 91, HWD_EV_NONE, 1 }, { PERIOD, 4 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM, 4 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "first unconfigured report after configure_timeout: not a wait", 0, 2, 40, {
		{ RPT_UNCONF, 75, HWD_EV_NONE, 0 }, { PERIOD, 3 * P, HWD_EV_BAD_PERIOD, 1 },
		{ END } } },
	{ "waiting for configuration, then no report: counted", 0, 2, 0, {
		{ RPT_UNCONF, 1, HWD_EV_CONFIGURING, 0 }, { PERIOD, 1 * P, HWD_EV_NONE, 0 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 1 }, /* the report is 59 s old */
		{ PERIOD, 3 * P, HWD_EV_PROPOSE, 1 },
		{ END } } },
	{ "configured=0 at run time: the same wait, an earlier count dropped", 0, 3, 0, {
		{ RPT_LOST, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_UNCONF, 31, HWD_EV_CONFIGURING, 1 }, { PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ RPT_LOST, 61, HWD_EV_CONFIGURED, 0 }, { PERIOD, 3 * P, HWD_EV_BAD_PERIOD, 1 },
		{ END } } },
	{ "locked and unconfigured: nothing to suppress", 0, 1, 0, {
		{ RPT_UNCONF, 1, HWD_EV_CONFIGURING, 0 }, { PERIOD_LOCKED, 1 * P, HWD_EV_NONE, 0 },
		{ END } } },
	{ "locked and unconfigured past configure_timeout: suppressed", 0, 1, 20, {
		{ RPT_UNCONF, 1, HWD_EV_CONFIGURING, 0 }, { PERIOD_LOCKED, 1 * P, HWD_EV_NONE, 0 },
		{ RPT_UNCONF, 31, HWD_EV_NONE, 0 }, { PERIOD_LOCKED, 2 * P, HWD_EV_SUPPRESSED, 0 },
		{ END } } },
	{ "quorum lost reports are bad", 0, 2, 0, {
		{ RPT_LOST, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_LOST, 31, HWD_EV_NONE, 1 }, { PERIOD, 2 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM, 2 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "threshold not reached, then good report resets", 0, 3, 0, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 2 },
		{ RPT_OK, 61, HWD_EV_RESTORED, 0 },
		{ PERIOD, 3 * P, HWD_EV_NONE, 0 },
		{ PERIOD, 5 * P, HWD_EV_BAD_PERIOD, 1 },
		{ END } } },
	{ "locked: suppressed once per episode, never act", 0, 2, 0, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_LOCKED, 0 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_LOCKED, 0 },
		{ PERIOD_LOCKED, 9 * P, HWD_EV_LOCKED, 0 },
		{ END } } },
	{ "locked inside grace: grace wins, no suppression log", 100, 2, 0, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_GRACE, 0 },
		{ PERIOD_LOCKED, 4 * P, HWD_EV_GRACE, 0 },
		{ PERIOD_LOCKED, 5 * P, HWD_EV_SUPPRESSED, 0 },
		{ END } } },
	{ "lock appears mid-episode: count frozen, resumes after removal", 0, 3, 0, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 2 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_SUPPRESSED, 2 },
		{ PERIOD_LOCKED, 4 * P, HWD_EV_LOCKED, 2 },
		{ PERIOD, 5 * P, HWD_EV_PROPOSE, 2 },
		{ CONFIRM, 5 * P, HWD_EV_ACT, 3 },
		{ END } } },
	{ "lock removed and re-added: new suppression episode logs again", 0, 5, 0, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_SUPPRESSED, 1 },
		{ END } } },
	{ "good report ends the suppression episode", 0, 2, 0, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ RPT_OK, 31, HWD_EV_RESTORED, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_NONE, 0 },
		{ PERIOD_LOCKED, 4 * P, HWD_EV_SUPPRESSED, 0 },
		{ END } } },
	{ "lock appears between proposal and confirmation: suppressed, count frozen below", 0, 2, 0, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM_LOCKED, 2 * P, HWD_EV_SUPPRESSED, 1 },
		{ CONFIRM, 2 * P, HWD_EV_NONE, 1 }, /* a proposal is confirmed once */
		{ PERIOD_LOCKED, 3 * P, HWD_EV_LOCKED, 1 },
		{ PERIOD, 4 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM, 4 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "lock raced after an unlocked period: a new suppression episode", 0, 2, 0, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_LOCKED, 0 },
		{ PERIOD, 3 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 4 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM_LOCKED, 4 * P, HWD_EV_SUPPRESSED, 1 },
		{ PERIOD_LOCKED, 5 * P, HWD_EV_LOCKED, 1 },
		{ END } } },
	{ "a proposal lapses at the next period end", 0, 1, 0, {
		{ PERIOD, 1 * P, HWD_EV_PROPOSE, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_SUPPRESSED, 0 },
		{ CONFIRM, 2 * P, HWD_EV_NONE, 0 },
		{ END } } },
	{ "failure then good report: restored, nothing latched", 0, 1, 0, {
		{ PERIOD, 1 * P, HWD_EV_PROPOSE, 0 },
		{ CONFIRM, 1 * P, HWD_EV_ACT, 1 },
		{ RPT_OK, 31, HWD_EV_RESTORED, 0 },
		{ PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ PERIOD, 4 * P, HWD_EV_PROPOSE, 0 },
		{ CONFIRM, 4 * P, HWD_EV_ACT, 1 },
		{ END } } },
};

static void run_row(const row *r)
{
	hwd_policy p;
	/* log only: these rows are about counting; the decision table below
	 * walks the actions */
	hwd_policy_cfg cfg = { P * 1000, r->grace_s * 1000, r->threshold, HWD_ACTION_LOG, HWD_ACTION_REBOOT, 0,
			       r->ct_s * 1000 };
	hwd_report ok = { .configured = true, .quorum_ok = true };
	hwd_report unconf = { .configured = false, .quorum_ok = true };
	hwd_report lost = { .configured = true, .quorum_ok = false, .process = "sm" };

	hwd_policy_init(&p, 0);
	for (const step *s = r->steps; s->kind != END; s++) {
		uint64_t t = s->at_s * 1000;
		hwd_event got = HWD_EV_NONE;

		switch (s->kind) {
		case RPT_OK: got = hwd_policy_report(&p, &cfg, &ok, t); break;
		case RPT_UNCONF: got = hwd_policy_report(&p, &cfg, &unconf, t); break;
		case RPT_LOST: got = hwd_policy_report(&p, &cfg, &lost, t); break;
		case PERIOD: got = hwd_policy_period_end(&p, &cfg, t, false); break;
		case PERIOD_LOCKED: got = hwd_policy_period_end(&p, &cfg, t, true); break;
		case CONFIRM: got = hwd_policy_confirm(&p, &cfg, false, HWD_KEXEC_LOADED); break;
		case CONFIRM_LOCKED: got = hwd_policy_confirm(&p, &cfg, true, HWD_KEXEC_LOADED); break;
		case END: break;
		}
		if (!hwd_policy_kick(&p))
			fail_msg("row '%s' step %td: a log-only policy stopped kicking", r->name, s - r->steps);
		if (got != s->want || p.bad_periods != s->want_bad)
			fail_msg("row '%s' step %td at %llus: got %s bad=%u, want %s bad=%u", r->name,
				 s - r->steps, (unsigned long long)s->at_s, hwd_event_name(got), p.bad_periods,
				 hwd_event_name(s->want), s->want_bad);
	}
}

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

static void test_freshness_window(void **state)
{
	hwd_policy p;
	hwd_policy_cfg cfg = { 30000, 0, 1, HWD_ACTION_LOG, HWD_ACTION_REBOOT, 0, 0 };
	hwd_report ok = { .configured = true, .quorum_ok = true };
	char buf[HWD_REASON_MAX];

	(void)state;
	hwd_policy_init(&p, 0);
	assert_false(hwd_policy_report_fresh(&p, &cfg, 0));
	hwd_policy_report(&p, &cfg, &ok, 10000);
	assert_true(hwd_policy_report_fresh(&p, &cfg, 30000));
	assert_true(hwd_policy_report_fresh(&p, &cfg, 55000));  /* 45 s old */
	assert_false(hwd_policy_report_fresh(&p, &cfg, 55001));
	/* At 60 s the 10 s report is 50 s old: the period is a miss. */
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 60000, false), HWD_EV_PROPOSE);
	assert_int_equal(p.reason, HEALTH_REASON_NO_REPORT);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "no report");
}

static void test_reasons(void **state)
{
	hwd_policy p;
	/* configure_timeout 1 s: past it, unconfigured is a reason */
	hwd_policy_cfg cfg = { 30000, 0, 5, HWD_ACTION_LOG, HWD_ACTION_REBOOT, 0, 1000 };
	hwd_report lost = { .configured = true, .quorum_ok = false, .process = "mtcclient" };
	hwd_report unconf = { .configured = false, .quorum_ok = true };
	hwd_report good = { .configured = true, .quorum_ok = true };
	char buf[HWD_REASON_MAX];

	(void)state;
	hwd_policy_init(&p, 0);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "");
	hwd_policy_report(&p, &cfg, &lost, 1000);
	hwd_policy_period_end(&p, &cfg, 30000, false);
	assert_int_equal(p.reason, HEALTH_REASON_PROCESS_LOST);
	assert_string_equal(p.reason_process, "mtcclient");
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "process mtcclient lost");
	/* the reason is the period's: a later report does not rewrite it */
	hwd_policy_report(&p, &cfg, &unconf, 31000);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "process mtcclient lost");
	hwd_policy_period_end(&p, &cfg, 60000, false);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "unconfigured");
	lost.process[0] = '\0';
	hwd_policy_report(&p, &cfg, &lost, 61000);
	hwd_policy_period_end(&p, &cfg, 90000, false);
	assert_int_equal(p.reason, HEALTH_REASON_QUORUM_LOST);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "quorum lost");
	hwd_policy_period_end(&p, &cfg, 150000, false);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "no report");
	hwd_policy_report(&p, &cfg, &good, 151000);
	assert_int_equal(p.reason, HEALTH_REASON_NONE);
	assert_string_equal(health_reason_code(p.reason), "none");
}

/* What the action choice columns give: the plan's action, its why, and
 * whether hostwd goes on kicking afterwards. */
typedef struct choice {
	hwd_action configured, fallback;
	hwd_kexec_state kexec;
	unsigned consecutive, limit;
	hwd_action want;
	hwd_action_why why;
} choice;

static const choice choices[] = {
	{ HWD_ACTION_CRASHDUMP, HWD_ACTION_REBOOT, HWD_KEXEC_LOADED, 0, 3, HWD_ACTION_CRASHDUMP, HWD_WHY_CONFIGURED },
	{ HWD_ACTION_CRASHDUMP, HWD_ACTION_REBOOT, HWD_KEXEC_NOT_LOADED, 1, 3, HWD_ACTION_REBOOT, HWD_WHY_NO_CRASH_KERNEL },
	{ HWD_ACTION_CRASHDUMP, HWD_ACTION_LOG, HWD_KEXEC_UNKNOWN, 0, 0, HWD_ACTION_LOG, HWD_WHY_KEXEC_UNKNOWN },
	{ HWD_ACTION_REBOOT, HWD_ACTION_REBOOT, HWD_KEXEC_NOT_LOADED, 0, 0, HWD_ACTION_REBOOT, HWD_WHY_CONFIGURED },
	{ HWD_ACTION_LOG, HWD_ACTION_REBOOT, HWD_KEXEC_LOADED, 0, 3, HWD_ACTION_LOG, HWD_WHY_CONFIGURED },
	{ HWD_ACTION_CRASHDUMP, HWD_ACTION_REBOOT, HWD_KEXEC_LOADED, 2, 2, HWD_ACTION_LOG, HWD_WHY_LIMIT },
};

/* REP_STALE_*: the last report is older than 1.5 periods at the period end. */
enum { REP_OK, REP_UNCONF, REP_LOST, REP_PROCESS, REP_MISSING, REP_STALE_OK, REP_STALE_UNCONF, REP_N };

/* configure_timeout: none (0, wait forever), set and not passed, passed. */
enum { CT_NONE, CT_OPEN, CT_PASSED, CT_N };

static const uint64_t ct_ms[CT_N] = { [CT_NONE] = 0, [CT_OPEN] = 3600000, [CT_PASSED] = 10000 };

typedef struct walk {
	int rep, ct, locked, locked_confirm, in_grace, at_threshold, write_fails;
	const choice *c;
} walk;

#define CHECK(cond, fmt, ...)                                                                              \
	do {                                                                                               \
		if (!(cond))                                                                               \
			fail_msg("report=%d configure_timeout=%d locked=%d/%d grace=%d at_threshold=%d "          \
				 "write_fails=%d choice=%td: " fmt, w->rep, w->ct, w->locked, w->locked_confirm,  \
				 w->in_grace, w->at_threshold, w->write_fails, w->c - choices, ##__VA_ARGS__);     \
	} while (0)

static health_reason want_reason(const walk *w, bool configuring)
{
	switch (w->rep) {
	case REP_OK: return HEALTH_REASON_NONE;
	case REP_UNCONF: return configuring ? HEALTH_REASON_NONE : HEALTH_REASON_UNCONFIGURED;
	case REP_LOST: return HEALTH_REASON_QUORUM_LOST;
	case REP_PROCESS: return HEALTH_REASON_PROCESS_LOST;
	default: return HEALTH_REASON_NO_REPORT;
	}
}

/* One period of one row, then its restoration: kick, act, suppress,
 * configure wait, failed action and restore as the policy decides them.
 * Threshold 2; "at threshold" means one bad period is already counted.
 * The period ends at 90 s: a fresh report came at 89 s, a stale one at
 * 1 s; configure_timeout "passed" is 10 s. */
static void walk_decision(const walk *w)
{
	const choice *c = w->c;
	hwd_policy_cfg cfg = { 30000, w->in_grace ? 3600000 : 0, 2, c->configured, c->fallback, c->limit, ct_ms[w->ct] };
	bool unconf = w->rep == REP_UNCONF || w->rep == REP_STALE_UNCONF;
	bool stale = w->rep == REP_STALE_OK || w->rep == REP_STALE_UNCONF;
	hwd_report r = { .configured = !unconf, .quorum_ok = w->rep != REP_LOST && w->rep != REP_PROCESS, .process = "" };
	hwd_report good = { .configured = true, .quorum_ok = true };
	bool configuring = w->rep == REP_UNCONF && w->ct != CT_PASSED;
	bool waited = configuring || w->rep == REP_STALE_UNCONF; /* "waiting for configuration" was given */
	bool bad = w->rep != REP_OK && !configuring, counts = bad && !w->in_grace && !w->locked;
	bool propose = counts && w->at_threshold, act = propose && !w->locked_confirm;
	bool stops = act && c->want != HWD_ACTION_LOG, resumes = stops && w->write_fails;
	unsigned want_count = c->consecutive + (stops ? 1 : 0);
	hwd_event got, want;
	hwd_policy p;

	if (w->rep == REP_PROCESS)
		strcpy(r.process, "sm");
	hwd_policy_init(&p, 0);
	hwd_policy_set_consecutive(&p, c->consecutive);
	/* the bad period already counted came after a stale report, before a fresh one */
	if (!stale)
		p.bad_periods = w->at_threshold ? 1 : 0;
	if (w->rep != REP_MISSING) {
		got = hwd_policy_report(&p, &cfg, &r, stale ? 1000 : 89000);
		if (unconf)
			CHECK(got == (waited ? HWD_EV_CONFIGURING : HWD_EV_NONE), "unconfigured report gave %s",
			      hwd_event_name(got));
	}
	if (stale)
		p.bad_periods = w->at_threshold ? 1 : 0;

	/* step 1: the period ends */
	CHECK(hwd_policy_configuring(&p, &cfg, 90000) == configuring, "configuring %d", !configuring);
	got = hwd_policy_period_end(&p, &cfg, 90000, w->locked);
	want = configuring ? HWD_EV_NONE : !bad ? (c->consecutive ? HWD_EV_HEALTHY : HWD_EV_NONE)
	       : w->in_grace ? HWD_EV_GRACE : w->locked ? HWD_EV_SUPPRESSED : w->at_threshold ? HWD_EV_PROPOSE
	       : HWD_EV_BAD_PERIOD;
	CHECK(got == want, "period end gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.reason == want_reason(w, configuring), "reason %s, want %s", health_reason_code(p.reason),
	      health_reason_code(want_reason(w, configuring)));
	CHECK(hwd_policy_kick(&p), "stopped kicking before any action was decided");

	/* step 2: the lock file looked at again; only a proposal is confirmed */
	got = hwd_policy_confirm(&p, &cfg, w->locked_confirm, c->kexec);
	want = !propose ? HWD_EV_NONE : w->locked_confirm ? HWD_EV_SUPPRESSED : HWD_EV_ACT;
	CHECK(got == want, "confirm gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.bad_periods == (act ? 2u : counts ? 1u : bad ? (unsigned)w->at_threshold : 0u), "bad_periods %u",
	      p.bad_periods);
	CHECK(p.failed == act, "failed %d", p.failed);
	CHECK(p.suppressed == (bad && !w->in_grace && (w->locked || (propose && w->locked_confirm))), "suppressed %d",
	      p.suppressed);
	if (act)
		CHECK(p.plan.action == c->want && p.plan.why == c->why, "plan %d/%d, want %d/%d", p.plan.action,
		      p.plan.why, c->want, c->why);
	CHECK(hwd_policy_kick(&p) == !stops, "kicking %d, want %d", hwd_policy_kick(&p), !stops);
	CHECK(p.consecutive == (bad ? want_count : configuring ? c->consecutive : 0), "consecutive %u, want %u",
	      p.consecutive, want_count);
	CHECK(hwd_policy_log_only(&p, &cfg) == (c->limit && p.consecutive >= c->limit), "log_only");
	/* the byte could not be written: no kicks while the node still fails */
	if (w->write_fails)
		hwd_policy_action_failed(&p);
	CHECK(!hwd_policy_resume(&p, &cfg, 90000, false), "resumed kicking on a node still failing");

	/* step 3: a good report restores whatever episode was open */
	got = hwd_policy_report(&p, &cfg, &good, 91000);
	want = bad && (w->at_threshold || !w->in_grace) ? HWD_EV_RESTORED : waited ? HWD_EV_CONFIGURED : HWD_EV_NONE;
	CHECK(got == want, "good report gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.bad_periods == 0 && !p.failed && !p.suppressed && p.reason == HEALTH_REASON_NONE, "not restored");
	/* healthy again: kicking resumes only after an action NOT taken */
	CHECK(hwd_policy_resume(&p, &cfg, 91000, false) == resumes, "resume %d, want %d", !resumes, resumes);

	/* step 4: the healthy period resets the count; kicking never resumes
	 * after an action whose byte was written */
	got = hwd_policy_period_end(&p, &cfg, 120000, false);
	want = (bad || configuring) && (configuring ? c->consecutive : want_count) ? HWD_EV_HEALTHY : HWD_EV_NONE;
	CHECK(got == want, "healthy period gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.consecutive == 0 && !hwd_policy_log_only(&p, &cfg), "count not reset");
	CHECK(hwd_policy_kick(&p) == (!stops || resumes), "kicking %d after restore", hwd_policy_kick(&p));
}

static void test_decision_table(void **state)
{
	walk w;
	unsigned n = 0;

	(void)state;
	for (w.rep = 0; w.rep < REP_N; w.rep++)
	for (w.ct = 0; w.ct < CT_N; w.ct++)
	for (w.locked = 0; w.locked < 2; w.locked++)
	for (w.locked_confirm = 0; w.locked_confirm < 2; w.locked_confirm++)
	for (w.in_grace = 0; w.in_grace < 2; w.in_grace++)
	for (w.at_threshold = 0; w.at_threshold < 2; w.at_threshold++)
	for (w.write_fails = 0; w.write_fails < 2; w.write_fails++)
	for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++, n++) {
		w.c = &choices[i];
		walk_decision(&w);
	}
	assert_int_equal(n, REP_N * CT_N * 2 * 2 * 2 * 2 * 2 * (sizeof(choices) / sizeof(choices[0])));
}

/* The consecutive count goes back to 0 only on a healthy period, and the
 * limit re-arms then. */
static void test_healthy_resets_count(void **state)
{
	hwd_policy_cfg cfg = { 30000, 0, 1, HWD_ACTION_REBOOT, HWD_ACTION_REBOOT, 2, 0 };
	hwd_report good = { .configured = true, .quorum_ok = true };
	hwd_policy p;

	(void)state;
	hwd_policy_init(&p, 0);
	hwd_policy_set_consecutive(&p, 1);
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 30000, false), HWD_EV_PROPOSE);
	assert_int_equal(hwd_policy_confirm(&p, &cfg, false, HWD_KEXEC_UNKNOWN), HWD_EV_ACT);
	assert_int_equal(p.plan.action, HWD_ACTION_REBOOT);
	assert_int_equal(p.consecutive, 2);
	assert_true(hwd_policy_log_only(&p, &cfg));
	assert_false(hwd_policy_kick(&p));
	/* reported bad again after a restart: the limit says log only */
	hwd_policy_init(&p, 0);
	hwd_policy_set_consecutive(&p, 2);
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 30000, false), HWD_EV_PROPOSE);
	assert_int_equal(hwd_policy_confirm(&p, &cfg, false, HWD_KEXEC_UNKNOWN), HWD_EV_ACT);
	assert_int_equal(p.plan.why, HWD_WHY_LIMIT);
	assert_int_equal(p.consecutive, 2);
	assert_true(hwd_policy_kick(&p));
	/* a stale good report is not a healthy period */
	hwd_policy_report(&p, &cfg, &good, 31000);
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 120000, false), HWD_EV_PROPOSE);
	hwd_policy_report(&p, &cfg, &good, 121000);
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 150000, true), HWD_EV_HEALTHY);
	assert_int_equal(p.consecutive, 0);
	assert_false(hwd_policy_log_only(&p, &cfg));
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 160000, false), HWD_EV_NONE);
}

/* A healthy period (resets the consecutive-action count): a fresh good
 * report and nothing counted. */
static void test_healthy(void **state)
{
	hwd_policy_cfg cfg = { .period_ms = 30000, .grace_ms = 0, .threshold = 3 };
	hwd_report good = { .configured = true, .quorum_ok = true };
	hwd_report unconf = { .configured = false, .quorum_ok = true };
	hwd_report lost = { .configured = true, .quorum_ok = false };
	hwd_policy p;

	(void)state;
	hwd_policy_init(&p, 0);
	assert_false(hwd_policy_healthy(&p, &cfg, 30000));            /* no report yet */
	hwd_policy_report(&p, &cfg, &good, 10000);
	assert_true(hwd_policy_healthy(&p, &cfg, 30000));
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));            /* 50 s old: stale */
	hwd_policy_report(&p, &cfg, &unconf, 40000);
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));
	hwd_policy_report(&p, &cfg, &lost, 50000);
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));
	hwd_policy_period_end(&p, &cfg, 60000, false);                 /* counted bad */
	assert_int_equal(p.bad_periods, 1);
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));
	hwd_policy_report(&p, &cfg, &good, 70000);                            /* restores */
	assert_true(hwd_policy_healthy(&p, &cfg, 90000));
}

/* Item 4 of issue 20: after an action whose byte could not be written,
 * kicking resumes while the node is locked, healthy or being configured,
 * and a node still failing once unlocked is acted on again. */
static void test_resume_after_failed_action(void **state)
{
	hwd_policy_cfg cfg = { 30000, 0, 1, HWD_ACTION_REBOOT, HWD_ACTION_REBOOT, 0, 0 };
	hwd_report unconf = { .configured = false, .quorum_ok = true };
	hwd_policy p;

	(void)state;
	hwd_policy_init(&p, 0);
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 30000, false), HWD_EV_PROPOSE);
	assert_int_equal(hwd_policy_confirm(&p, &cfg, false, HWD_KEXEC_UNKNOWN), HWD_EV_ACT);
	assert_false(hwd_policy_kick(&p));
	assert_false(hwd_policy_resume(&p, &cfg, 31000, true)); /* the byte was written: the reset is wanted */
	hwd_policy_action_failed(&p);
	assert_false(hwd_policy_resume(&p, &cfg, 31000, false)); /* still failing, unlocked */
	assert_false(hwd_policy_kick(&p));
	assert_true(hwd_policy_resume(&p, &cfg, 32000, true));  /* locked */
	assert_true(hwd_policy_kick(&p));
	assert_false(hwd_policy_resume(&p, &cfg, 33000, true)); /* once */
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 60000, true), HWD_EV_SUPPRESSED);
	/* unlocked and still failing: acted on again */
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 90000, false), HWD_EV_PROPOSE);
	assert_int_equal(hwd_policy_confirm(&p, &cfg, false, HWD_KEXEC_UNKNOWN), HWD_EV_ACT);
	assert_false(hwd_policy_kick(&p));
	hwd_policy_action_failed(&p);
	/* being configured resumes too */
	assert_int_equal(hwd_policy_report(&p, &cfg, &unconf, 91000), HWD_EV_CONFIGURING);
	assert_true(hwd_policy_resume(&p, &cfg, 92000, false));
	assert_true(hwd_policy_kick(&p));
	/* a log-only plan never stopped kicking: nothing to resume */
	hwd_policy_init(&p, 0);
	hwd_policy_action_failed(&p);
	assert_false(p.action_failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_freshness_window),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_healthy_resets_count),
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_resume_after_failed_action),
	};
	return cmocka_run_group_tests_name("hwd_policy", tests, NULL, NULL);
}
