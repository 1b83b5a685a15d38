/* hostwd.conf loading: bounds of every key, unknown keys, malformed lines,
 * missing file, cross-field checks, and the report parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hwd_config.h"
#include "hwd_report.h"

static int load(const char *text, hwd_config *cfg, conf_errors *e)
{
	memset(e, 0, sizeof(*e));
	return hwd_config_load_string(cfg, text, e);
}

static void test_defaults(void **state)
{
	hwd_config c;
	conf_errors e;

	(void)state;
	assert_int_equal(load("", &c, &e), 0);
	assert_string_equal(c.device, "/dev/watchdog");
	assert_int_equal(c.timeout, 180);
	assert_int_equal(c.kick_interval, 5);
	assert_string_equal(c.health_socket, "/run/hostwd/health.sock");
	assert_int_equal(c.report_period, 30);
	assert_int_equal(c.failure_threshold, 3);
	assert_int_equal(c.start_grace, 300);
	assert_int_equal(c.n_uids, 1);
	assert_int_equal(c.uids[0], 0);
	assert_int_equal(c.on_quorum_failure, HWD_ACTION_CRASHDUMP);
	assert_string_equal(c.sysrq_path, "/proc/sysrq-trigger");
	assert_string_equal(c.console_path, "/dev/kmsg");
	assert_string_equal(c.lock_file, "/var/run/.node_locked");
	assert_false(c.fit_enabled);
}

/* Every integer key: min and max accepted, min-1 and max+1 rejected with
 * the file, line and key named. */
static void test_int_bounds(void **state)
{
	(void)state;
	for (size_t i = 0; i < hwd_conf_table.n; i++) {
		const conf_key *k = &hwd_conf_table.keys[i];
		long vals[4] = { k->min, k->max, k->min - 1, k->max + 1 };
		char text[256], want[128];
		hwd_config c;
		conf_errors e;

		if (k->type != CONF_INT)
			continue;
		for (int v = 0; v < 4; v++) {
			/* timeout must stay >= 2*kick_interval for the valid cases;
			 * the key under test is set once (twice is an error). */
			bool is_timeout = strcmp(k->key, "timeout") == 0 && strcmp(k->section, "watchdog") == 0;
			bool is_kick = strcmp(k->key, "kick_interval") == 0;

			snprintf(text, sizeof(text), "[watchdog]\n%s\n%s\n[%s]\n%s = %ld\n",
				 is_timeout ? "# timeout under test" : "timeout = 3600",
				 is_kick ? "# kick_interval under test" : "kick_interval = 1",
				 k->section, k->key, vals[v]);
			int r = load(text, &c, &e);

			if (v < 2) {
				if (r != 0)
					fail_msg("%s.%s = %ld rejected: %s", k->section, k->key, vals[v], e.text);
				continue;
			}
			assert_int_equal(r, -EINVAL);
			snprintf(want, sizeof(want), "<string>:5: [%s] %s", k->section, k->key);
			if (!strstr(e.text, want))
				fail_msg("error for %s.%s = %ld lacks '%s': %s", k->section, k->key, vals[v], want, e.text);
		}
	}
}

static void test_unknown_and_malformed(void **state)
{
	hwd_config c;
	conf_errors e;

	(void)state;
	assert_int_equal(load("[watchdog]\nbogus = 1\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: unknown key 'bogus' in section [watchdog]"));
	assert_int_equal(load("[nosuch]\nx = 1\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: unknown section [nosuch]"));
	assert_int_equal(load("[health\nreport_period = 5\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:1: malformed section header"));
	assert_int_equal(load("[health]\njust words\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: expected 'key = value'"));
	assert_int_equal(load("[health]\nreport_period = 5x\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "not an integer"));
	assert_int_equal(load("[action]\non_quorum_failure = explode\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "expected one of crashdump reboot log"));
	assert_int_equal(load("[fit]\nenabled = maybe\n", &c, &e), -EINVAL);
	assert_int_equal(load("[health]\nallowed_uids = 0,root\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "'root' is not a uid"));
	/* Two bad lines: both reported, not just the first. */
	assert_int_equal(load("[health]\nreport_period = 0\nfailure_threshold = 0\n", &c, &e), -EINVAL);
	assert_int_equal(e.count, 2);
}

static void test_indented_and_long_lines(void **state)
{
	hwd_config c;
	conf_errors e;
	char text[512];

	(void)state;
	/* Indented keys must not turn into continuation lines. */
	assert_int_equal(load("[health]\n  report_period = 7\n  failure_threshold = 4\n", &c, &e), 0);
	assert_int_equal(c.report_period, 7);
	assert_int_equal(c.failure_threshold, 4);
	snprintf(text, sizeof(text), "[lock]\nfile = /%0250d\n", 0);
	assert_int_equal(load(text, &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: line too long"));
	assert_string_equal(c.lock_file, "/var/run/.node_locked");
}

static void test_kick_vs_timeout(void **state)
{
	hwd_config c;
	conf_errors e;

	(void)state;
	assert_int_equal(load("[watchdog]\ntimeout = 10\nkick_interval = 6\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:3: [watchdog] kick_interval = 6 must be <= timeout/2 = 5"));
	assert_int_equal(load("[watchdog]\ntimeout = 10\nkick_interval = 5\n", &c, &e), 0);
}

/* One pass reports every error: a bad line does not hide a cross-key rule
 * broken elsewhere in the file, and each names its own line. */
static void test_all_errors_in_one_pass(void **state)
{
	hwd_config c;
	conf_errors e;

	(void)state;
	assert_int_equal(load("[watchdog]\ntimeout = 10\nbogus = 1\nkick_interval = 6\n[health]\nallowed_uids = 0,x\n",
			      &c, &e), -EINVAL);
	assert_int_equal(e.count, 3);
	assert_non_null(strstr(e.text, "<string>:3: unknown key 'bogus' in section [watchdog]"));
	assert_non_null(strstr(e.text, "<string>:4: [watchdog] kick_interval = 6 must be <= timeout/2 = 5"));
	assert_non_null(strstr(e.text, "<string>:6: [health] allowed_uids: 'x' is not a uid"));
	/* A rule about a key left at its default names the file only. */
	assert_int_equal(load("[watchdog]\ntimeout = 2\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>: [watchdog] kick_interval = 5 must be <= timeout/2 = 1"));
}

static void test_missing_file(void **state)
{
	hwd_config c;
	conf_errors e = { 0 };

	(void)state;
	assert_int_equal(hwd_config_load(&c, "/nonexistent/hostwd.conf", &e), -ENOENT);
	assert_non_null(strstr(e.text, "/nonexistent/hostwd.conf: cannot open"));
}

static void test_dump_roundtrip(void **state)
{
	hwd_config a, b;
	conf_errors e;
	char buf[4096], buf2[4096];
	FILE *f;

	(void)state;
	assert_int_equal(load("[health]\nreport_period = 11\n[action]\non_quorum_failure = log\n", &a, &e), 0);
	f = fmemopen(buf, sizeof(buf), "w");
	conf_dump(&hwd_conf_table, &a, f);
	fclose(f);
	assert_int_equal(load(buf, &b, &e), 0);
	assert_int_equal(b.report_period, 11);
	assert_int_equal(b.on_quorum_failure, HWD_ACTION_LOG);
	f = fmemopen(buf2, sizeof(buf2), "w");
	conf_dump(&hwd_conf_table, &b, f);
	fclose(f);
	assert_string_equal(buf, buf2);
}

static void test_report_parse(void **state)
{
	hwd_report r;
	static const struct { const char *text; int want; } cases[] = {
		{ "v1 configured=1 quorum=ok seq=42", HWD_MSG_REPORT },
		{ "v1 configured=0 quorum=lost process=sm seq=1 future=x", HWD_MSG_REPORT },
		{ "v1 configured=1 quorum=ok\n", HWD_MSG_REPORT },
		{ "v1 status", HWD_MSG_STATUS_REQUEST },
		{ "v2 configured=1 quorum=ok", -EPROTO },
		{ "v1 configured=2 quorum=ok", -EBADMSG },
		{ "v1 configured=1 quorum=maybe", -EBADMSG },
		{ "v1 quorum=ok", -EBADMSG },
		{ "v1 configured=1", -EBADMSG },
		{ "v1 configured=1 quorum=ok seq=-1", -EBADMSG },
		{ "v1 configured=1 quorum=ok seq=99999999999", -EBADMSG },
		{ "v1 configured=1 =x quorum=ok", -EBADMSG },
		{ "v1 configured=1 quorum=ok\x01", -EBADMSG },
		{ "", -EBADMSG },
		{ "v1", -EBADMSG },
		{ "v1 status extra", -EBADMSG },
		{ "v1 status x=1", -EBADMSG },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = hwd_report_parse(cases[i].text, strlen(cases[i].text), &r);
		if (got != cases[i].want)
			fail_msg("'%s': got %d want %d", cases[i].text, got, cases[i].want);
	}
	hwd_report_parse("v1 configured=0 quorum=lost process=sm seq=7", 44, &r);
	assert_false(r.configured);
	assert_false(r.quorum_ok);
	assert_string_equal(r.process, "sm");
	assert_int_equal(r.seq, 7);

	char big[600];
	memset(big, 'a', sizeof(big));
	memcpy(big, "v1 ", 3);
	assert_int_equal(hwd_report_parse(big, sizeof(big), &r), -EMSGSIZE);
}

static void test_hardening_keys(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *msg;
	} rows[] = {
		{ "[health]\nsocket_mode = 0660\nsocket_group = 4242\n", 0, NULL },
		{ "[health]\nsocket_mode = 660\n", 0, NULL },
		{ "[health]\nsocket_mode = 0999\n", -EINVAL, "<string>:2: [health] socket_mode = 0999: not an octal mode" },
		{ "[health]\nsocket_mode = 01777\n", -EINVAL, "socket_mode = 01777: not an octal mode" },
		{ "[health]\nsocket_mode =\n", -EINVAL, "not an octal mode" },
		{ "[action]\ncrashdump_fallback = log\n", 0, NULL },
		{ "[action]\ncrashdump_fallback = crashdump\n", -EINVAL, "crashdump_fallback" },
		{ "[action]\ncount_file =\n", -EINVAL, "count_file must not be empty while max_consecutive > 0" },
		{ "[action]\ncount_file =\nmax_consecutive = 0\n", 0, NULL },
		{ "[action]\nmax_consecutive = 1001\n", -EINVAL, "max_consecutive" },
		{ "[action]\nreboot_fallback_after = 3601\n", -EINVAL, "reboot_fallback_after" },
		{ "[watchdog]\nrealtime = 0\nlock_memory = 0\ndevice = file:/tmp/x\n", 0, NULL },
	};
	hwd_config c;
	conf_errors e;

	(void)state;
	assert_int_equal(load("", &c, &e), 0);
	assert_true(c.realtime);
	assert_true(c.lock_memory);
	assert_string_equal(c.socket_group, "");
	assert_int_equal(c.socket_mode_bits, 0600); /* root only by default */
	assert_int_equal(c.crashdump_fallback, 0); /* reboot */
	assert_string_equal(c.kexec_crash_loaded, "/sys/kernel/kexec_crash_loaded");
	assert_int_equal(c.reboot_fallback_after, 60);
	assert_string_equal(c.count_file, "/var/lib/hostwd/consecutive-actions");
	assert_int_equal(c.max_consecutive, 3);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = load(rows[i].text, &c, &e);

		if (rc != rows[i].rc || (rows[i].msg && !strstr(e.text, rows[i].msg)))
			fail_msg("row %zu: rc %d, errors: %s", i, rc, e.text);
	}
	assert_int_equal(load("[health]\nsocket_mode = 0660\n", &c, &e), 0);
	assert_int_equal(c.socket_mode_bits, 0660);
}

/* [lock] file: up to 4 comma-separated paths, spaces around them trimmed;
 * an empty entry or a fifth is an error naming the key. */
static void test_lock_files(void **state)
{
	hwd_config c;
	conf_errors e;

	(void)state;
	assert_int_equal(load("", &c, &e), 0);
	assert_int_equal(c.n_lock_files, 1);
	assert_string_equal(c.lock_files[0], "/var/run/.node_locked");
	assert_int_equal(load("[lock]\nfile = /run/a , /var/persist/mtc/.node_locked\n", &c, &e), 0);
	assert_int_equal(c.n_lock_files, 2);
	assert_string_equal(c.lock_files[0], "/run/a");
	assert_string_equal(c.lock_files[1], "/var/persist/mtc/.node_locked");
	assert_int_equal(load("[lock]\nfile = /a,/b,/c,/d\n", &c, &e), 0);
	assert_int_equal(c.n_lock_files, 4);
	assert_int_not_equal(load("[lock]\nfile = /a,/b,/c,/d,/e\n", &c, &e), 0);
	assert_non_null(strstr(e.text, "more than 4 paths"));
	assert_int_not_equal(load("[lock]\nfile = /a,,/b\n", &c, &e), 0);
	assert_non_null(strstr(e.text, "[lock] file: an empty path"));
	assert_int_not_equal(load("[lock]\nfile = /a,\n", &c, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_int_bounds),
		cmocka_unit_test(test_unknown_and_malformed),
		cmocka_unit_test(test_indented_and_long_lines),
		cmocka_unit_test(test_kick_vs_timeout),
		cmocka_unit_test(test_all_errors_in_one_pass),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_report_parse),
		cmocka_unit_test(test_hardening_keys),
		cmocka_unit_test(test_lock_files),
	};
	return cmocka_run_group_tests_name("hwd_config", tests, NULL, NULL);
}
