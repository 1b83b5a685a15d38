/* Table-driven walk of the hostwd decision. Each row is a script of steps
 * (report / period end with lock state) and the event every step must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hwd_policy.h"

enum step_kind { END, RPT_OK, RPT_UNCONF, RPT_LOST, PERIOD, PERIOD_LOCKED, RACE };

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
		{ PERIOD, 3 * P, HWD_EV_ACT, 3 },
		{ PERIOD, 4 * P, HWD_EV_NONE, 3 }, /* acted once, no repeat */
		{ END } } },
	{ "missing reports inside grace are not counted", 100, 2, {
		{ PERIOD, 1 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 2 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 3 * P, HWD_EV_GRACE, 0 },
		{ PERIOD, 4 * P, HWD_EV_GRACE, 0 },  /* began at 90 s, inside the 100 s grace */
		{ PERIOD, 5 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 6 * P, HWD_EV_ACT, 2 },    /* 180 s >= 100 + 2 x 30 */
		{ END } } },
	{ "good reports every period: nothing ever", 0, 1, {
		{ RPT_OK, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_NONE, 0 },
		{ RPT_OK, 31, HWD_EV_NONE, 0 }, { PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ RPT_OK, 61, HWD_EV_NONE, 0 }, { PERIOD, 3 * P, HWD_EV_NONE, 0 },
		{ END } } },
	{ "unconfigured reports are bad", 0, 2, {
		{ RPT_UNCONF, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_UNCONF, 31, HWD_EV_NONE, 1 }, { PERIOD, 2 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "quorum lost reports are bad", 0, 2, {
		{ RPT_LOST, 1, HWD_EV_NONE, 0 }, { PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ RPT_LOST, 31, HWD_EV_NONE, 1 }, { PERIOD, 2 * P, HWD_EV_ACT, 2 },
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
		{ PERIOD, 5 * P, HWD_EV_ACT, 3 },
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
	{ "lock appears between decision and action: suppressed instead", 0, 2, {
		{ PERIOD, 1 * P, HWD_EV_BAD_PERIOD, 1 },
		{ PERIOD, 2 * P, HWD_EV_ACT, 2 },
		{ RACE, 2 * P, HWD_EV_SUPPRESSED, 1 },
		{ PERIOD_LOCKED, 3 * P, HWD_EV_LOCKED, 1 },
		{ PERIOD, 4 * P, HWD_EV_ACT, 2 },
		{ END } } },
	{ "failure then good report: restored, nothing latched", 0, 1, {
		{ PERIOD, 1 * P, HWD_EV_ACT, 1 },
		{ RPT_OK, 31, HWD_EV_RESTORED, 0 },
		{ PERIOD, 2 * P, HWD_EV_NONE, 0 },
		{ PERIOD, 4 * P, HWD_EV_ACT, 1 },
		{ END } } },
};

static void run_row(const row *r)
{
	hwd_policy p;
	hwd_policy_cfg cfg = { P * 1000, r->grace_s * 1000, r->threshold };
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
		case RACE: got = hwd_policy_lock_raced(&p); break;
		case END: break;
		}
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
	hwd_policy_cfg cfg = { 30000, 0, 1 };
	hwd_report ok = { .configured = true, .quorum_ok = true };

	(void)state;
	hwd_policy_init(&p, 0);
	assert_false(hwd_policy_report_fresh(&p, &cfg, 0));
	hwd_policy_report(&p, &ok, 10000);
	assert_true(hwd_policy_report_fresh(&p, &cfg, 30000));
	assert_true(hwd_policy_report_fresh(&p, &cfg, 55000));  /* 45 s old */
	assert_false(hwd_policy_report_fresh(&p, &cfg, 55001));
	/* At 60 s the 10 s report is 50 s old: the period is a miss. */
	assert_int_equal(hwd_policy_period_end(&p, &cfg, 60000, false), HWD_EV_ACT);
	assert_string_equal(p.reason, "no report");
}

static void test_reasons(void **state)
{
	hwd_policy p;
	hwd_policy_cfg cfg = { 30000, 0, 5 };
	hwd_report lost = { .configured = true, .quorum_ok = false, .process = "mtcclient" };
	hwd_report unconf = { .configured = false, .quorum_ok = true };

	(void)state;
	hwd_policy_init(&p, 0);
	hwd_policy_report(&p, &lost, 1000);
	hwd_policy_period_end(&p, &cfg, 30000, false);
	assert_string_equal(p.reason, "process mtcclient lost");
	hwd_policy_report(&p, &unconf, 31000);
	hwd_policy_period_end(&p, &cfg, 60000, false);
	assert_string_equal(p.reason, "unconfigured");
	hwd_policy_period_end(&p, &cfg, 120000, false);
	assert_string_equal(p.reason, "no report");
}

/* Every combination of report x lock x grace x threshold, one period. */
static void test_combinations(void **state)
{
	(void)state;
	for (int rep = 0; rep < 4; rep++)          /* ok, unconfigured, lost, missing */
	for (int locked = 0; locked < 2; locked++)
	for (int in_grace = 0; in_grace < 2; in_grace++)
	for (int at_threshold = 0; at_threshold < 2; at_threshold++) {
		hwd_policy p;
		hwd_policy_cfg cfg = { 30000, in_grace ? 3600000 : 0, 2 };
		hwd_report r = { .configured = rep != 1, .quorum_ok = rep != 2 };
		hwd_event want, got;

		hwd_policy_init(&p, 0);
		if (at_threshold)
			p.bad_periods = 1;
		if (rep != 3)
			hwd_policy_report(&p, &r, 29000);
		got = hwd_policy_period_end(&p, &cfg, 30000, locked);
		if (rep == 0)
			want = HWD_EV_NONE;
		else if (in_grace)
			want = HWD_EV_GRACE;
		else if (locked)
			want = HWD_EV_SUPPRESSED;
		else
			want = at_threshold ? HWD_EV_ACT : HWD_EV_BAD_PERIOD;
		if (got != want)
			fail_msg("report=%d locked=%d grace=%d at_threshold=%d: got %s want %s", rep, locked,
				 in_grace, at_threshold, hwd_event_name(got), hwd_event_name(want));
	}
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
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_healthy),
	};
	return cmocka_run_group_tests_name("hwd_policy", tests, NULL, NULL);
}
