/* Table-driven walks of hostwd's smaller decisions: which action a quorum
 * failure takes (crash kernel, fallback, consecutive-action limit), and
 * what becomes of one datagram on the health socket. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hwd_action.h"
#include "hwd_report.h"

#define C HWD_ACTION_CRASHDUMP
#define R HWD_ACTION_REBOOT
#define L HWD_ACTION_LOG

static void test_action_choose_table(void **state)
{
	static const struct {
		hwd_action configured, fallback;
		hwd_kexec_state kexec;
		unsigned consecutive, limit;
		hwd_action want;
		hwd_action_why why;
	} rows[] = {
		/* crashdump only with a crash kernel loaded */
		{ C, R, HWD_KEXEC_LOADED, 0, 3, C, HWD_WHY_CONFIGURED },
		{ C, R, HWD_KEXEC_NOT_LOADED, 0, 3, R, HWD_WHY_NO_CRASH_KERNEL },
		{ C, L, HWD_KEXEC_NOT_LOADED, 0, 3, L, HWD_WHY_NO_CRASH_KERNEL },
		{ C, R, HWD_KEXEC_UNKNOWN, 0, 3, R, HWD_WHY_KEXEC_UNKNOWN },
		{ C, L, HWD_KEXEC_UNKNOWN, 2, 3, L, HWD_WHY_KEXEC_UNKNOWN },
		{ C, C, HWD_KEXEC_NOT_LOADED, 0, 3, R, HWD_WHY_NO_CRASH_KERNEL }, /* never crashdump as a fallback */
		/* reboot does not need a crash kernel */
		{ R, R, HWD_KEXEC_NOT_LOADED, 0, 3, R, HWD_WHY_CONFIGURED },
		{ R, L, HWD_KEXEC_UNKNOWN, 0, 3, R, HWD_WHY_CONFIGURED },
		/* log is log */
		{ L, R, HWD_KEXEC_LOADED, 0, 3, L, HWD_WHY_CONFIGURED },
		{ L, R, HWD_KEXEC_LOADED, 9, 3, L, HWD_WHY_CONFIGURED },
		/* the loop breaker */
		{ C, R, HWD_KEXEC_LOADED, 2, 3, C, HWD_WHY_CONFIGURED },
		{ C, R, HWD_KEXEC_LOADED, 3, 3, L, HWD_WHY_LIMIT },
		{ C, R, HWD_KEXEC_NOT_LOADED, 3, 3, L, HWD_WHY_LIMIT },
		{ R, R, HWD_KEXEC_LOADED, 4, 3, L, HWD_WHY_LIMIT },
		{ R, R, HWD_KEXEC_LOADED, 1, 1, L, HWD_WHY_LIMIT },
		{ C, R, HWD_KEXEC_LOADED, 1000, 0, C, HWD_WHY_CONFIGURED }, /* 0: no limit */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hwd_action_plan p = hwd_action_choose(rows[i].configured, rows[i].fallback, rows[i].kexec,
						      rows[i].consecutive, rows[i].limit);

		if (p.action != rows[i].want || p.why != rows[i].why)
			fail_msg("row %zu: got action %d why %d, want %d / %d", i, p.action, p.why, rows[i].want, rows[i].why);
		assert_non_null(hwd_action_why_text(p.why));
	}
}

static void test_kexec_parse(void **state)
{
	static const struct {
		const char *text;
		long len;
		hwd_kexec_state want;
	} rows[] = {
		{ "1\n", 2, HWD_KEXEC_LOADED },   { "1", 1, HWD_KEXEC_LOADED },
		{ "0\n", 2, HWD_KEXEC_NOT_LOADED }, { "0", 1, HWD_KEXEC_NOT_LOADED },
		{ "", 0, HWD_KEXEC_UNKNOWN },     { "2\n", 2, HWD_KEXEC_UNKNOWN },
		{ "10\n", 3, HWD_KEXEC_UNKNOWN }, { "yes", 3, HWD_KEXEC_UNKNOWN },
		{ NULL, -2, HWD_KEXEC_UNKNOWN },  /* ENOENT: e.g. no kexec support */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (hwd_kexec_parse(rows[i].text, rows[i].len) != rows[i].want)
			fail_msg("row %zu ('%s')", i, rows[i].text ? rows[i].text : "NULL");
}

static void test_intake_table(void **state)
{
	static const struct {
		int parsed;
		bool truncated, have_cred, allowed;
		unsigned n_fds;
		hwd_intake want;
	} rows[] = {
		{ HWD_MSG_REPORT, false, true, true, 0, HWD_IN_REPORT },
		{ HWD_MSG_REPORT, false, true, false, 0, HWD_IN_REJECTED },
		{ HWD_MSG_REPORT, false, false, false, 0, HWD_IN_REJECTED }, /* no credentials */
		{ HWD_MSG_REPORT, true, true, true, 0, HWD_IN_MALFORMED },   /* cut: never trusted */
		{ HWD_MSG_REPORT, false, true, true, 1, HWD_IN_MALFORMED },  /* reports carry no fds */
		{ HWD_MSG_REPORT, false, true, false, 2, HWD_IN_REJECTED },
		{ HWD_MSG_STATUS_REQUEST, false, true, false, 1, HWD_IN_STATUS }, /* anyone who can connect */
		{ HWD_MSG_STATUS_REQUEST, false, true, true, 0, HWD_IN_MALFORMED }, /* nowhere to answer */
		{ HWD_MSG_STATUS_REQUEST, false, true, true, 2, HWD_IN_MALFORMED },
		{ HWD_MSG_STATUS_REQUEST, true, true, true, 1, HWD_IN_MALFORMED }, /* MSG_CTRUNC */
		{ -EBADMSG, false, true, true, 0, HWD_IN_MALFORMED },
		{ -EPROTO, false, true, false, 0, HWD_IN_MALFORMED },
		{ -EMSGSIZE, false, true, true, 1, HWD_IN_MALFORMED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hwd_intake got = hwd_intake_classify(rows[i].parsed, rows[i].truncated, rows[i].have_cred,
						     rows[i].allowed, rows[i].n_fds);
		if (got != rows[i].want)
			fail_msg("row %zu: got %d want %d", i, got, rows[i].want);
	}
}

static void test_count_parse(void **state)
{
	unsigned v = 99;

	(void)state;
	assert_int_equal(hwd_count_parse("3\n", 2, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(hwd_count_parse("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hwd_count_parse("", 0, &v), -EINVAL);
	assert_int_equal(hwd_count_parse("-1\n", 3, &v), -EINVAL);
	assert_int_equal(hwd_count_parse("x\n", 2, &v), -EINVAL);
	assert_int_equal(hwd_count_parse("12345678901234567890", 20, &v), -EINVAL);
	assert_int_equal(hwd_count_parse(NULL, -2, &v), -EINVAL);
	assert_int_equal(v, 0);
}

/* What a clean stop does with the card: every on_stop x kicking x what
 * systemd said (or could not say). */
static void test_stop_decide_table(void **state)
{
	static const struct {
		hwd_on_stop on_stop;
		bool kicking;
		int r;
		const char *state;
		bool disarm;
		hwd_stop_why why;
	} rows[] = {
		{ HWD_ON_STOP_AUTO, true, 0, "running", true, HWD_STOP_SYSTEM_UP },
		{ HWD_ON_STOP_AUTO, true, 0, "degraded", true, HWD_STOP_SYSTEM_UP },
		{ HWD_ON_STOP_AUTO, true, 0, "stopping", false, HWD_STOP_SYSTEM_STOPPING },
		{ HWD_ON_STOP_AUTO, true, -ENOENT, "", true, HWD_STOP_STATE_UNKNOWN },
		{ HWD_ON_STOP_AUTO, true, -ETIMEDOUT, "stopping", true, HWD_STOP_STATE_UNKNOWN }, /* r wins */
		{ HWD_ON_STOP_AUTO, true, 0, "", true, HWD_STOP_STATE_UNKNOWN },
		{ HWD_ON_STOP_AUTO, true, 0, NULL, true, HWD_STOP_STATE_UNKNOWN },
		{ HWD_ON_STOP_DISARM, true, 0, "stopping", true, HWD_STOP_CONFIGURED },
		{ HWD_ON_STOP_KEEP, true, 0, "running", false, HWD_STOP_CONFIGURED },
		{ HWD_ON_STOP_KEEP, true, -ENOENT, "", false, HWD_STOP_CONFIGURED },
		/* an action stopped kicking: never disarmed, whatever on_stop says */
		{ HWD_ON_STOP_DISARM, false, 0, "running", false, HWD_STOP_ACTION_DECIDED },
		{ HWD_ON_STOP_AUTO, false, 0, "running", false, HWD_STOP_ACTION_DECIDED },
		{ HWD_ON_STOP_AUTO, false, -ENOENT, "", false, HWD_STOP_ACTION_DECIDED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hwd_stop_plan p = hwd_stop_decide(rows[i].on_stop, rows[i].kicking, rows[i].r, rows[i].state);

		if (p.disarm != rows[i].disarm || p.why != rows[i].why)
			fail_msg("row %zu: disarm %d why %d, want %d %d", i, p.disarm, p.why, rows[i].disarm, rows[i].why);
		assert_true(strlen(hwd_stop_why_text(p.why)) > 10);
	}
	assert_string_equal(hwd_on_stop_name(HWD_ON_STOP_AUTO), "auto");
	assert_string_equal(hwd_on_stop_name(HWD_ON_STOP_KEEP), "keep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_choose_table),
		cmocka_unit_test(test_kexec_parse),
		cmocka_unit_test(test_intake_table),
		cmocka_unit_test(test_count_parse),
		cmocka_unit_test(test_stop_decide_table),
	};
	return cmocka_run_group_tests_name("hwd_action", tests, NULL, NULL);
}
