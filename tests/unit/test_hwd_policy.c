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
	step steps[16];
} row;

#define P 30 /* report period, seconds */

static const row rows[] = {
	{ "missing reports, unlocked, after grace: act at threshold", 0, 3, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 2 },
		{ PERIOD, 3 * P, HWD_EV_PROPOSE, 2 },
		{ CONFIRM, 3 * P, HWD_EV_ACT, 3 },
		{ PERIOD, 4 * P, HWD_EV_NONE, 3 }, /* acted once, no repeat */
		{ CONFIRM, 4 * P, HWD_EV_NONE, 3 }, /* nothing proposed, nothing confirmed */
		{ END } } },
	{ "missing reports inside grace are not counted", 100, 2, {
		{ PERIOD, 1 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 2 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 3 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 4 * P, HWD_EV_GRACE, 0 },  /* began at 90 s, inside the 100 s grace */
		{ PERIOD, 5 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 6 * P, HWD_EV_PROPOSE, 1 }, /* 180 s >= 100 + 2 x 30 */
		{ CONFIRM, 6 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "good reports every period: nothing ever", 0, 1, {
		{ RPT_OK, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_NONE, 0 },
		{ RPT_OK, 31, HWD_EV_NONE, 0 }, { PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ RPT_OK, 61, HWD_EV_NONE, 0 }, { PERIOD, 3 * P, HWD_EV_NONE, 0 },
		{ END } } },
	{ "unconfigured reports are bad", 0, 2, {
		{ RPT_UNCONF, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_UNCONF, 31, HWD_EV_NONE, 1 }, { PERIOD, 2 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM, 2 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "quorum lost reports are bad", 0, 2, {
		{ RPT_LOST, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_LOST, 31, HWD_EV_NONE, 1 }, { PERIOD, 2 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM, 2 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "threshold not reached, then good report resets", 0, 3, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 2 },
		{ RPT_OK, 61, HWD_EV_RESTORED, 0 },
		{ PERIOD, 3 * P, HWD_EV_NONE, 0 },
		{ PERIOD, 5 * P, HWD_EV_BAD_PERIOD, 1 },
		{ END } } },
	{ "locked: suppressed once per episode, never act", 0, 2, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_LOCKED, 0 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_LOCKED, 0 },
		{ PERIOD_LOCKED, 9 * P, HWD_EV_LOCKED, 0 },
		{ END } } },
	{ "locked inside grace: grace wins, no suppression log", 100, 2, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_GRACE, 0 },
		{ PERIOD_LOCKED, 4 * P, HWD_EV_GRACE, 0 },
		{ PERIOD_LOCKED, 5 * P, HWD_EV_SUPPRESSED, 0 },
		{ END } } },
	{ "lock appears mid-episode: count frozen, resumes after removal", 0, 3, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 2 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_SUPPRESSED, 2 },
		{ PERIOD_LOCKED, 4 * P, HWD_EV_LOCKED, 2 },
		{ PERIOD, 5 * P, HWD_EV_PROPOSE, 2 },
		{ CONFIRM, 5 * P, HWD_EV_ACT, 3 },
		{ END } } },
	{ "lock removed and re-added: new suppression episode logs again", 0, 5, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ PERIOD, 2 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_SUPPRESSED, 1 },
		{ END } } },
	{ "good report ends the suppression episode", 0, 2, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ RPT_OK, 31, HWD_EV_RESTORED, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_NONE, 0 },
		{ PERIOD_LOCKED, 4 * P, HWD_EV_SUPPRESSED, 0 },
		{ END } } },
	{ "lock appears between proposal and confirmation: suppressed, count frozen below", 0, 2, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM_LOCKED, 2 * P, HWD_EV_SUPPRESSED, 1 },
		{ CONFIRM, 2 * P, HWD_EV_NONE, 1 }, /* a proposal is confirmed once */
		{ PERIOD_LOCKED, 3 * P, HWD_EV_LOCKED, 1 },
		{ PERIOD, 4 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM, 4 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "lock raced after an unlocked period: a new suppression episode", 0, 2, {
		{ PERIOD_LOCKED, 1 * P, HWD_EV_SUPPRESSED, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_LOCKED, 0 },
		{ PERIOD, 3 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 4 * P, HWD_EV_PROPOSE, 1 },
		{ CONFIRM_LOCKED, 4 * P, HWD_EV_SUPPRESSED, 1 },
		{ PERIOD_LOCKED, 5 * P, HWD_EV_LOCKED, 1 },
		{ END } } },
	{ "a proposal lapses at the next period end", 0, 1, {
		{ PERIOD, 1 * P, HWD_EV_PROPOSE, 0 },
		{ PERIOD_LOCKED, 2 * P, HWD_EV_SUPPRESSED, 0 },
		{ CONFIRM, 2 * P, HWD_EV_NONE, 0 },
		{ END } } },
	{ "failure then good report: restored, nothing latched", 0, 1, {
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
	hwd_policy_cfg cfg = { P * 1000, r->grace_s * 1000, r->threshold, HWD_ACTION_LOG, HWD_ACTION_REBOOT, 0 };
	hwd_report ok = { .configured = true, .quorum_ok = true };
	hwd_report unconf = { .configured = false, .quorum_ok = true };
	hwd_report lost = { .configured = true, .quorum_ok = false, .process = "sm" };

	hwd_policy_init(&p, 0);
	for (const step *s = r->steps; s->kind != END; s++) {
		uint64_t t = s->at_s * 1000;
		hwd_event got = HWD_EV_NONE;

		switch (s->kind) {
		case RPT_OK: got = hwd_policy_report(&p, &ok, t); break;
		case RPT_UNCONF: got = hwd_policy_report(&p, &unconf, t); break;
		case RPT_LOST: got = hwd_policy_report(&p, &lost, t); break;
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
	hwd_policy_cfg cfg = { 30000, 0, 1, HWD_ACTION_LOG, HWD_ACTION_REBOOT, 0 };
	hwd_report ok = { .configured = true, .quorum_ok = true };
	char buf[HWD_REASON_MAX];

	(void)state;
	hwd_policy_init(&p, 0);
	assert_false(hwd_policy_report_fresh(&p, &cfg, 0));
	hwd_policy_report(&p, &ok, 10000);
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
	hwd_policy_cfg cfg = { 30000, 0, 5, HWD_ACTION_LOG, HWD_ACTION_REBOOT, 0 };
	hwd_report lost = { .configured = true, .quorum_ok = false, .process = "mtcclient" };
	hwd_report unconf = { .configured = false, .quorum_ok = true };
	hwd_report good = { .configured = true, .quorum_ok = true };
	char buf[HWD_REASON_MAX];

	(void)state;
	hwd_policy_init(&p, 0);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "");
	hwd_policy_report(&p, &lost, 1000);
	hwd_policy_period_end(&p, &cfg, 30000, false);
	assert_int_equal(p.reason, HEALTH_REASON_PROCESS_LOST);
	assert_string_equal(p.reason_process, "mtcclient");
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "process mtcclient lost");
	/* the reason is the period's: a later report does not rewrite it */
	hwd_policy_report(&p, &unconf, 31000);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "process mtcclient lost");
	hwd_policy_period_end(&p, &cfg, 60000, false);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "unconfigured");
	lost.process[0] = '\0';
	hwd_policy_report(&p, &lost, 61000);
	hwd_policy_period_end(&p, &cfg, 90000, false);
	assert_int_equal(p.reason, HEALTH_REASON_QUORUM_LOST);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "quorum lost");
	hwd_policy_period_end(&p, &cfg, 150000, false);
	assert_string_equal(hwd_policy_reason_text(&p, buf, sizeof(buf)), "no report");
	hwd_policy_report(&p, &good, 151000);
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

enum { REP_OK, REP_UNCONF, REP_LOST, REP_PROCESS, REP_MISSING, REP_N };

static const health_reason rep_reason[REP_N] = {
	[REP_OK] = HEALTH_REASON_NONE, [REP_UNCONF] = HEALTH_REASON_UNCONFIGURED,
	[REP_LOST] = HEALTH_REASON_QUORUM_LOST, [REP_PROCESS] = HEALTH_REASON_PROCESS_LOST,
	[REP_MISSING] = HEALTH_REASON_NO_REPORT,
};

#define CHECK(cond, fmt, ...)                                                                             \
	do {                                                                                              \
		if (!(cond))                                                                              \
			fail_msg("report=%d locked=%d/%d grace=%d at_threshold=%d choice=%td: " fmt, rep, locked, \
				 locked_confirm, in_grace, at_threshold, c - choices, ##__VA_ARGS__);              \
	} while (0)

/* One period of one row, then its restoration: kick, act, suppress and
 * restore as the policy decides them. Threshold 2; "at threshold" means
 * one bad period is already counted. */
static void walk_decision(int rep, int locked, int locked_confirm, int in_grace, int at_threshold, const choice *c)
{
	hwd_policy_cfg cfg = { 30000, in_grace ? 3600000 : 0, 2, c->configured, c->fallback, c->limit };
	hwd_report r = { .configured = rep != REP_UNCONF, .quorum_ok = rep != REP_LOST && rep != REP_PROCESS,
			 .process = "" };
	hwd_report good = { .configured = true, .quorum_ok = true };
	bool bad = rep != REP_OK, counts = bad && !in_grace && !locked;
	bool propose = counts && at_threshold, act = propose && !locked_confirm;
	bool stops = act && c->want != HWD_ACTION_LOG;
	unsigned want_count = c->consecutive + (stops ? 1 : 0);
	hwd_event got, want;
	hwd_policy p;

	if (rep == REP_PROCESS)
		strcpy(r.process, "sm");
	hwd_policy_init(&p, 0);
	hwd_policy_set_consecutive(&p, c->consecutive);
	p.bad_periods = at_threshold ? 1 : 0;
	if (rep != REP_MISSING)
		hwd_policy_report(&p, &r, 29000);

	/* step 1: the period ends */
	got = hwd_policy_period_end(&p, &cfg, 30000, locked);
	want = !bad ? (c->consecutive ? HWD_EV_HEALTHY : HWD_EV_NONE)
	       : in_grace ? HWD_EV_GRACE : locked ? HWD_EV_SUPPRESSED : at_threshold ? HWD_EV_PROPOSE : HWD_EV_BAD_PERIOD;
	CHECK(got == want, "period end gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.reason == rep_reason[rep], "reason %s, want %s", health_reason_code(p.reason),
	      health_reason_code(rep_reason[rep]));
	CHECK(hwd_policy_kick(&p), "stopped kicking before any action was decided");

	/* step 2: the lock file looked at again; only a proposal is confirmed */
	got = hwd_policy_confirm(&p, &cfg, locked_confirm, c->kexec);
	want = !propose ? HWD_EV_NONE : locked_confirm ? HWD_EV_SUPPRESSED : HWD_EV_ACT;
	CHECK(got == want, "confirm gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.bad_periods == (act ? 2u : counts ? 1u : bad ? (unsigned)at_threshold : 0u), "bad_periods %u",
	      p.bad_periods);
	CHECK(p.failed == act, "failed %d", p.failed);
	CHECK(p.suppressed == (bad && !in_grace && (locked || (propose && locked_confirm))), "suppressed %d",
	      p.suppressed);
	if (act)
		CHECK(p.plan.action == c->want && p.plan.why == c->why, "plan %d/%d, want %d/%d", p.plan.action,
		      p.plan.why, c->want, c->why);
	CHECK(hwd_policy_kick(&p) == !stops, "kicking %d, want %d", hwd_policy_kick(&p), !stops);
	CHECK(p.consecutive == (bad ? want_count : 0), "consecutive %u, want %u", p.consecutive, want_count);
	CHECK(hwd_policy_log_only(&p, &cfg) == (c->limit && p.consecutive >= c->limit), "log_only");

	/* step 3: a good report restores whatever episode was open */
	got = hwd_policy_report(&p, &good, 31000);
	want = bad && (at_threshold || !in_grace) ? HWD_EV_RESTORED : HWD_EV_NONE;
	CHECK(got == want, "good report gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.bad_periods == 0 && !p.failed && !p.suppressed && p.reason == HEALTH_REASON_NONE, "not restored");

	/* step 4: the healthy period resets the count; kicking never resumes
	 * after an action that takes the node down */
	got = hwd_policy_period_end(&p, &cfg, 60000, false);
	want = bad && want_count ? HWD_EV_HEALTHY : HWD_EV_NONE;
	CHECK(got == want, "healthy period gave %s, want %s", hwd_event_name(got), hwd_event_name(want));
	CHECK(p.consecutive == 0 && !hwd_policy_log_only(&p, &cfg), "count not reset");
	CHECK(hwd_policy_kick(&p) == !stops, "kicking %d after restore", hwd_policy_kick(&p));
}

static void test_decision_table(void **state)
{
	(void)state;
	for (int rep = 0; rep < REP_N; rep++)
	for (int locked = 0; locked < 2; locked++)
	for (int locked_confirm = 0; locked_confirm < 2; locked_confirm++)
	for (int in_grace = 0; in_grace < 2; in_grace++)
	for (int at_threshold = 0; at_threshold < 2; at_threshold++)
	for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		walk_decision(rep, locked, locked_confirm, in_grace, at_threshold, &choices[i]);
}

/* The consecutive count goes back to 0 only on a healthy period, and the
 * limit re-arms then. */
static void test_healthy_resets_count(void **state)
{
	hwd_policy_cfg cfg = { 30000, 0, 1, HWD_ACTION_REBOOT, HWD_ACTION_REBOOT, 2 };
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
	hwd_policy_report(&p, &good, 31000);
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 120000, false), HWD_EV_PROPOSE);
	hwd_policy_report(&p, &good, 121000);
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
	hwd_policy_report(&p, &good, 10000);
	assert_true(hwd_policy_healthy(&p, &cfg, 30000));
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));            /* 50 s old: stale */
	hwd_policy_report(&p, &unconf, 40000);
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));
	hwd_policy_report(&p, &lost, 50000);
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));
	hwd_policy_period_end(&p, &cfg, 60000, false);                 /* counted bad */
	assert_int_equal(p.bad_periods, 1);
	assert_false(hwd_policy_healthy(&p, &cfg, 60000));
	hwd_policy_report(&p, &good, 70000);                            /* restores */
	assert_true(hwd_policy_healthy(&p, &cfg, 90000));
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
	};
	return cmocka_run_group_tests_name("hwd_policy", tests, NULL, NULL);
}
