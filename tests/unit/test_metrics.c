/* The Prometheus text writer (common/metrics) and the daemons' tables and
 * formatting (hwd_metrics, mtc_metrics, pmh_metrics): values, escaping,
 * histograms, the atomic write (never opening a FIFO), and every table
 * row formatted exactly once with its HELP and TYPE. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hwd_metrics.h"
#include "metrics.h"
#include "mtc_metrics.h"
#include "pmh_metrics.h"

static const metric_def gauge = { "x_thing", METRIC_GAUGE, "", "", "A thing." };

static void test_values(void **state)
{
	static const struct {
		double v;
		const char *want;
	} rows[] = {
		{ 0, "x_thing 0\n" },
		{ 1, "x_thing 1\n" },
		{ -3, "x_thing -3\n" },
		{ 4294967295.0, "x_thing 4294967295\n" },
		{ 0.25, "x_thing 0.25\n" },
		{ 1e300, "x_thing 1e+300\n" },
		{ NAN, "x_thing NaN\n" },
		{ INFINITY, "x_thing +Inf\n" },
		{ -INFINITY, "x_thing -Inf\n" },
	};
	metrics_buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		metrics_buf_reset(&b);
		metrics_sample(&b, &gauge, NULL, rows[i].v);
		assert_string_equal(b.data, rows[i].want);
	}
	metrics_buf_free(&b);
}

static void test_family_and_labels(void **state)
{
	static const metric_def d = { "x_total", METRIC_COUNTER, "", "why", "Line one\nback\\slash." };
	metrics_buf b = { 0 };
	char esc[32];

	(void)state;
	metrics_family(&b, &d);
	metrics_sample(&b, &d, "why=\"a\"", 2);
	assert_string_equal(b.data, "# HELP x_total Line one\\nback\\\\slash.\n# TYPE x_total counter\nx_total{why=\"a\"} 2\n");
	assert_string_equal(metrics_label_value("a\"b\\c\nd", esc, sizeof(esc)), "a\\\"b\\\\c\\nd");
	/* cut at the size, never inside an escape */
	assert_string_equal(metrics_label_value("ab\"", esc, 4), "ab");
	metrics_buf_free(&b);
}

static void test_histogram(void **state)
{
	static const double bounds[] = { 1, 5 };
	static const metric_def d = { "x_seconds", METRIC_HISTOGRAM, "seconds", "", "Gaps." };
	metrics_hist h;
	metrics_buf b = { 0 };

	(void)state;
	metrics_hist_init(&h, bounds, 2);
	metrics_hist_observe(&h, 0.5);
	metrics_hist_observe(&h, 1); /* le is inclusive */
	metrics_hist_observe(&h, 3);
	metrics_hist_observe(&h, 10);
	metrics_histogram(&b, &d, "op=\"lock\"", &h);
	assert_string_equal(b.data, "x_seconds_bucket{op=\"lock\",le=\"1\"} 2\n"
				    "x_seconds_bucket{op=\"lock\",le=\"5\"} 3\n"
				    "x_seconds_bucket{op=\"lock\",le=\"+Inf\"} 4\n"
				    "x_seconds_sum{op=\"lock\"} 14.5\n"
				    "x_seconds_count{op=\"lock\"} 4\n");
	metrics_buf_free(&b);
}

static void test_kick_stats(void **state)
{
	hwd_kick_stats k;

	(void)state;
	hwd_kick_stats_init(&k);
	hwd_kick_stats_kick(&k, 1000000);
	assert_int_equal(k.gaps.count, 0); /* the first kick has no gap */
	hwd_kick_stats_kick(&k, 6000000);
	hwd_kick_stats_kick(&k, 8000000);
	hwd_kick_stats_kick(&k, 7000000); /* clock went back: no gap, no worst */
	assert_int_equal(k.gaps.count, 2);
	assert_true(k.worst_s == 5.0);
}

static char *tmp_dir(void)
{
	char *d = strdup("/tmp/test_metrics.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void test_write_textfile(void **state)
{
	char *dir = tmp_dir(), path[256], tmp[300], buf[64] = "";
	metrics_buf b = { 0 };
	struct stat st;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	metrics_sample(&b, &gauge, NULL, 7);
	/* a FIFO at the path: replaced by the rename, never opened (an open
	 * for writing would block without a reader) */
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(metrics_write_textfile(path, &b), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	fd = open(path, O_RDONLY);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "x_thing 7\n");
	/* a FIFO planted at our temporary name: unlinked, never opened */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(mkfifo(tmp, 0644), 0);
	assert_int_equal(metrics_write_textfile(path, &b), 0);
	assert_int_equal(lstat(tmp, &st), -1);
	/* a missing directory: -ENOENT, nothing left behind */
	snprintf(tmp, sizeof(tmp), "%s/nodir/x.prom", dir);
	assert_int_equal(metrics_write_textfile(tmp, &b), -ENOENT);
	assert_int_equal(metrics_write_textfile("", &b), -EINVAL);
	b.failed = true;
	assert_int_equal(metrics_write_textfile(path, &b), -ENOMEM);
	unlink(path);
	rmdir(dir);
	free(dir);
	metrics_buf_free(&b);
}

static void test_error_episodes(void **state)
{
	int last = 0;

	(void)state;
	assert_false(metrics_error_changed(&last, 0));
	assert_true(metrics_error_changed(&last, -ENOENT));  /* starts: log */
	assert_false(metrics_error_changed(&last, -ENOENT)); /* goes on: quiet */
	assert_false(metrics_error_changed(&last, -ENOSPC)); /* another error, same episode */
	assert_true(metrics_error_changed(&last, 0));        /* ends: log */
	assert_false(metrics_error_changed(&last, 0));
}

/* Every row of the table appears exactly once as "# TYPE name type", in
 * table order, and nothing else has a TYPE line. */
static void check_families(const char *text, const metric_def *t, size_t n)
{
	const char *p = text;
	size_t row = 0;

	while ((p = strstr(p, "# TYPE ")) != NULL) {
		char want[160];

		assert_true(row < n);
		snprintf(want, sizeof(want), "# TYPE %s %s\n", t[row].name, metrics_type_name(t[row].type));
		assert_memory_equal(p, want, strlen(want));
		p += strlen(want);
		row++;
	}
	assert_int_equal(row, n);
}

static void test_hostwd_format(void **state)
{
	unsigned long actions[HWD_ACTION_COUNT][HWD_WHY_COUNT] = { 0 };
	hwd_kick_stats k;
	hwd_metrics_in in = { .device_kind = "file", .quorum = "lost", .locked = true, .last_report_age_s = -1,
			      .actions = (const unsigned long (*)[HWD_WHY_COUNT])actions, .kick = &k };
	metrics_buf b = { 0 };

	(void)state;
	hwd_kick_stats_init(&k);
	actions[HWD_ACTION_REBOOT][HWD_WHY_NO_CRASH_KERNEL] = 2;
	hwd_metrics_format(&in, &b);
	check_families(b.data, hwd_metric_defs, hwd_n_metric_defs);
	assert_non_null(strstr(b.data, "\nhostwd_locked 1\n"));
	assert_non_null(strstr(b.data, "\nhostwd_device_info{kind=\"file\"} 1\n"));
	assert_non_null(strstr(b.data, "\nhostwd_device_info{kind=\"kernel\"} 0\n"));
	assert_non_null(strstr(b.data, "\nhostwd_quorum_state{state=\"lost\"} 1\n"));
	assert_non_null(strstr(b.data, "\nhostwd_quorum_state{state=\"ok\"} 0\n"));
	assert_non_null(strstr(b.data, "\nhostwd_actions_total{action=\"reboot\",why=\"no_crash_kernel\"} 2\n"));
	assert_non_null(strstr(b.data, "\nhostwd_actions_total{action=\"crashdump\",why=\"limit\"} 0\n"));
	assert_non_null(strstr(b.data, "\nhostwd_last_report_age_seconds NaN\n"));
	assert_non_null(strstr(b.data, "\nhostwd_kick_gap_seconds_count 0\n"));
	metrics_buf_free(&b);
}

static void test_client_and_hook_format(void **state)
{
	mtc_client_metrics_in in = { .flag = true, .stale = 3, .provisioned = { true, false, true },
				     .up = { true, false, false }, .alives = { 5, 0, 7 } };
	pmh_metrics_in pin = { .quorum_ok = true, .sent = 9 };
	metrics_buf b = { 0 };

	(void)state;
	mtc_client_metrics_format(&in, &b);
	check_families(b.data, mtc_client_metric_defs, mtc_client_n_metric_defs);
	assert_non_null(strstr(b.data, "\nmtcclient_lock_flag_present 1\n"));
	assert_non_null(strstr(b.data, "\nmtcclient_commands_dropped_total{reason=\"stale_nonce\"} 3\n"));
	assert_non_null(strstr(b.data, "\nmtcclient_alive_sent_total{network=\"cluster\"} 7\n"));
	/* socket state only for provisioned networks */
	assert_non_null(strstr(b.data, "\nmtcclient_socket_up{network=\"pxeboot\"} 1\n"));
	assert_null(strstr(b.data, "mtcclient_socket_up{network=\"mgmt\"}"));
	assert_non_null(strstr(b.data, "\nmtcclient_socket_up{network=\"cluster\"} 0\n"));
	metrics_buf_reset(&b);
	pmh_metrics_format(&pin, &b);
	check_families(b.data, pmh_metric_defs, pmh_n_metric_defs);
	assert_non_null(strstr(b.data, "\npmonhook_reports_sent_total 9\n"));
	metrics_buf_free(&b);
}

/* The tables' names follow the conventions the docs promise. */
static void test_table_names(void **state)
{
	const struct {
		const metric_def *t;
		size_t n;
		const char *prefix;
	} tables[] = { { hwd_metric_defs, hwd_n_metric_defs, "hostwd_" },
		       { mtc_client_metric_defs, mtc_client_n_metric_defs, "mtcclient_" },
		       { mtc_agent_metric_defs, mtc_agent_n_metric_defs, "mtcagent_" },
		       { pmh_metric_defs, pmh_n_metric_defs, "pmonhook_" } };

	(void)state;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (size_t j = 0; j < tables[i].n; j++) {
			const metric_def *d = &tables[i].t[j];
			size_t len = strlen(d->name);
			bool total = len > 6 && strcmp(d->name + len - 6, "_total") == 0;

			assert_non_null(d->help);
			assert_true(strncmp(d->name, tables[i].prefix, strlen(tables[i].prefix)) == 0);
			assert_int_equal(strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789_"), len);
			assert_int_equal(total, d->type == METRIC_COUNTER);
			for (size_t k = 0; k < j; k++)
				assert_string_not_equal(d->name, tables[i].t[k].name);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_family_and_labels),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_kick_stats),
		cmocka_unit_test(test_write_textfile),
		cmocka_unit_test(test_error_episodes),
		cmocka_unit_test(test_hostwd_format),
		cmocka_unit_test(test_client_and_hook_format),
		cmocka_unit_test(test_table_names),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
