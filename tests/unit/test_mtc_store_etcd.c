/* The etcd store (mtc/agent/store/mtc_store_etcd*.c) on its real sd-event
 * loop and its real three threads, opened through mtc_store_etcd_ops, with
 * its transport faked (fake_etcd_http.c: a tiny etcd, scripted rules, the
 * watch fed by the test). Asserts on the store's events and on what its
 * requests carry: paged reads, the reply cap, the watch's resume point,
 * etcd going back or rebuilt, put-ifs and their answers, members failing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_etcd_harness.h"

/* 1. Three pages, all at the first page's revision; one LOADED; then a
 * read without a key reports it removed. */
static void test_paged_read(void **state)
{
	int i, last;

	(void)state;
	fake_rule_add((fake_rule){ .path = RANGE, .key = K(""), .revision = "0", .limit = "5000",
				   .reply = fake_range_page(20, true, "a=locked@5,b=unlocked@6") });
	fake_rule_add((fake_rule){ .path = RANGE, .key = K("b\\0"), .revision = "20",
				   .reply = fake_range_page(20, true, "c=locked@7,d=locked@8") });
	fake_rule_add((fake_rule){ .path = RANGE, .key = K("d\\0"), .revision = "20",
				   .reply = fake_range_page(20, false, "e=unlocked@9") });
	open_store();
	RUN_UNTIL(count_ev(MTC_STORE_LOADED) == 1);
	expect_changed(0, "a", MTC_ADMIN_LOCKED, 5, "read from etcd");
	expect_changed(0, "b", MTC_ADMIN_UNLOCKED, 6, "read from etcd");
	expect_changed(0, "c", MTC_ADMIN_LOCKED, 7, "read from etcd");
	expect_changed(0, "d", MTC_ADMIN_LOCKED, 8, "read from etcd");
	last = expect_changed(0, "e", MTC_ADMIN_UNLOCKED, 9, "read from etcd");
	assert_true(find_ev(0, MTC_STORE_LOADED, NULL) > last); /* once, after the last page */
	i = find_req(0, RANGE);
	i = find_req(i + 1, RANGE);
	assert_string_equal(fake_get(i).key, K("b\\0"));
	i = find_req(i + 1, RANGE);
	assert_string_equal(fake_get(i).key, K("d\\0"));
	assert_int_equal(store_revision(), 20);

	fake_kv("a", "locked", 5, false);
	fake_kv("b", "unlocked", 6, false);
	fake_kv("c", "locked", 7, false);
	fake_kv("e", "unlocked", 9, false);
	fake_set_rev(21);
	last = T.n;
	ops->read(T.s);
	RUN_UNTIL(count_ev(MTC_STORE_LOADED) >= 2);
	i = expect_changed(last, "d", MTC_ADMIN_UNKNOWN, 21, "key removed");
	assert_int_equal(find_ev(i + 1, MTC_STORE_CHANGED, "d"), -1);
	for (int k = last; k < T.n; k++)
		assert_true(strcmp(T.ev[k].why, "key removed") != 0 || strcmp(T.ev[k].host, "d") == 0);
}

/* 2. A page over the cap is asked again with fewer keys; the one key too
 * big is read by name only (its host: unknown). */
static void test_reply_over_cap(void **state)
{
	int i, keys_only = 0;

	(void)state;
	fake_kv("a", "locked", 10, false);
	fake_kv("big", "locked", 11, true);
	fake_kv("c", "unlocked", 12, false);
	fake_set_rev(30);
	open_store();
	RUN_UNTIL(count_ev(MTC_STORE_LOADED) == 1);
	expect_changed(0, "a", MTC_ADMIN_LOCKED, 10, "read from etcd");
	expect_changed(0, "big", MTC_ADMIN_UNKNOWN, 11, "read from etcd");
	expect_changed(0, "c", MTC_ADMIN_UNLOCKED, 12, "read from etcd");
	i = find_req(0, RANGE);
	assert_int_equal(fake_get(i).limit, PAGE_KEYS);
	i = find_req(i + 1, RANGE);
	assert_string_equal(fake_get(i).key, K(""));
	assert_in_range(fake_get(i).limit, 1, PAGE_KEYS - 1);
	for (; i >= 0; i = find_req(i + 1, RANGE)) {
		fake_req q = fake_get(i);

		if (strcmp(q.key, K("")) != 0)
			assert_int_equal(q.revision, 30); /* every later page at the first's revision */
		if (q.keys_only && q.limit == 1 && strcmp(q.key, K("a\\0")) == 0)
			keys_only++;
	}
	assert_int_equal(keys_only, 1);
}

/* 3. Changes; a progress notification moves the resume point. */
static void test_watch_progress(void **state)
{
	fake_req q;

	(void)state;
	fake_kv("a", "locked", 40, false);
	open_loaded();
	q = nth_watch(1);
	assert_int_equal(q.start_revision, 41);
	assert_int_equal(q.ep, 0);
	fake_watch_send(fake_w_created(40));
	fake_watch_send(fake_w_put("a", "unlocked"));
	RUN_UNTIL(find_changed(0, "a", 41) >= 0);
	expect_changed(find_changed(0, "a", 41), "a", MTC_ADMIN_UNLOCKED, 41, "etcd change");
	fake_set_rev(45);
	fake_watch_send(fake_w_progress(45));
	fake_stream_end(-ECONNRESET);
	RUN_UNTIL(fake_streams() == 2);
	q = nth_watch(2);
	assert_int_equal(q.ep, 1); /* the next member */
	assert_int_equal(q.start_revision, 46);
}

/* 3. A change right after "created" (its header older than the resume
 * point by then) is no sign of etcd going back: no full read. */
static void test_watch_change_after_created(void **state)
{
	mtc_admin_store st;
	int n0;

	(void)state;
	fake_kv("a", "locked", 40, false);
	open_loaded();
	n0 = fake_nreq();
	fake_watch_send(fake_w_created(40));
	fake_watch_send(fake_w_put("a", "unlocked"));
	fake_watch_send(fake_w_put("a", "locked"));
	RUN_UNTIL(find_changed(0, "a", 42) >= 0);
	RUN_UNTIL((ops->state(T.s, &st), !st.reading));
	assert_int_equal(find_req(n0, RANGE), -1);
	assert_int_equal(count_ev(MTC_STORE_LOADED), 1);
}

/* 3. A compaction: a full read, then a watch from its revision. */
static void test_watch_compacted(void **state)
{
	int n0, i;

	(void)state;
	fake_kv("a", "locked", 40, false);
	open_loaded();
	fake_watch_send(fake_w_created(40));
	fake_kv("b", "locked", 52, false);
	fake_set_rev(55);
	n0 = fake_nreq();
	fake_watch_send(fake_w_compacted(50));
	RUN_UNTIL(find_ev(0, MTC_STORE_CHANGED, "b") >= 0);
	expect_changed(0, "b", MTC_ADMIN_LOCKED, 52, "read from etcd");
	i = find_req(n0, RANGE);
	assert_true(i >= 0);
	RUN_UNTIL(fake_streams() == 2);
	assert_true(find_req(i, WATCH) > i);
	assert_int_equal(nth_watch(2).start_revision, 56);
}

/* 2. A watch message over the cap: a full read, then the watch from it. */
static void test_watch_message_over_cap(void **state)
{
	char *big = malloc(REPLY_MAX + 2);

	(void)state;
	assert_non_null(big);
	fake_kv("a", "locked", 40, false);
	open_loaded();
	fake_watch_send(fake_w_created(40));
	fake_kv("b", "locked", 45, false);
	memset(big, ' ', REPLY_MAX + 1);
	big[REPLY_MAX + 1] = '\0';
	fake_watch_send(big);
	free(big);
	RUN_UNTIL(find_changed(0, "b", 45) >= 0);
	expect_changed(0, "b", MTC_ADMIN_LOCKED, 45, "read from etcd");
	RUN_UNTIL(fake_streams() == 2);
	assert_int_equal(nth_watch(2).start_revision, 46);
}

/* 3. A cancel for another reason: the next member, the same revision. */
static void test_watch_canceled(void **state)
{
	int n0;

	(void)state;
	fake_kv("a", "locked", 40, false);
	open_loaded();
	fake_watch_send(fake_w_created(40));
	n0 = fake_nreq();
	fake_watch_send(fake_w_canceled(40, "etcdserver: permission denied"));
	RUN_UNTIL(fake_streams() == 2 && strstr(T.s->watch_error, "canceled by etcd"));
	/* etcd's reason in the log line and the health's error */
	assert_non_null(strstr(T.s->watch_error, "canceled by etcd: etcdserver: permission denied"));
	assert_int_equal(nth_watch(2).ep, 1);
	assert_int_equal(nth_watch(2).start_revision, 41);
	assert_int_equal(find_req(n0, RANGE), -1); /* no full read */
}

/* etcd restored at revision 50 (a was unlocked at 45), then what showed
 * it: REWOUND while unhealthy, a full read accepted as the new baseline,
 * and the watch from there. */
static void restore_snapshot(void)
{
	fake_kv("a", "unlocked", 45, false);
	fake_set_rev(50);
}

static void expect_rebaselined(int64_t rev)
{
	int i;

	RUN_UNTIL(count_ev(MTC_STORE_REWOUND) == 1);
	i = find_ev(0, MTC_STORE_REWOUND, NULL);
	assert_false(T.ev[i].healthy);
	RUN_UNTIL(find_ev(i, MTC_STORE_LOADED, NULL) > i);
	expect_changed(i, "a", MTC_ADMIN_UNLOCKED, 45, "read from etcd");
	assert_int_equal(store_revision(), rev);
	RUN_UNTIL(fake_stream_open() && nth_watch(fake_streams()).start_revision == rev + 1);
}

/* 4. Backwards in a range's header. */
static void test_rewind_range(void **state)
{
	(void)state;
	fake_kv("a", "locked", 60, false);
	open_loaded();
	restore_snapshot();
	ops->read(T.s);
	expect_rebaselined(50);
}

/* 4. Backwards in a txn's answer: the put is not said done. */
static void test_rewind_txn(void **state)
{
	int i;

	(void)state;
	fake_kv("a", "locked", 60, false);
	open_loaded();
	restore_snapshot();
	ops->put(T.s, "a", MTC_ADMIN_LOCKED, 0, -1, NULL);
	expect_rebaselined(50);
	i = find_ev(0, MTC_STORE_PUT, "a");
	assert_int_equal(T.ev[i].r, -EIO);
	/* answered from the new history: it may have committed there */
	assert_non_null(strstr(T.ev[i].why, "unknown: etcd was restored or rebuilt under this request"));
}

/* 4. A new watch created below where it was asked to start. */
static void test_rewind_watch(void **state)
{
	(void)state;
	fake_kv("a", "locked", 60, false);
	open_loaded();
	fake_watch_send(fake_w_created(60));
	restore_snapshot();
	fake_stream_end(-ECONNRESET); /* the member restarted */
	RUN_UNTIL(fake_streams() == 2 && fake_stream_open());
	assert_int_equal(nth_watch(2).start_revision, 61);
	fake_watch_send(fake_w_created(50));
	expect_rebaselined(50);
}

/* 4. Another cluster id in a watch message, even ahead. */
static void test_new_cluster(void **state)
{
	(void)state;
	fake_kv("a", "locked", 60, false);
	open_loaded();
	fake_watch_send(fake_w_created(60));
	fake_set_cluster(99);
	fake_kv("a", "unlocked", 45, false);
	fake_set_rev(70);
	fake_watch_send(fake_w_progress(70));
	expect_rebaselined(70);
}

/* 5. A put-if whose compare fails: etcd's value first, then the answer. */
static void test_put_if_refused(void **state)
{
	int ch, put;

	(void)state;
	fake_kv("a", "unlocked", 65, false);
	fake_set_rev(70);
	open_loaded();
	fake_kv("a", "locked", 71, false); /* another agent's, not seen */
	ops->put(T.s, "a", MTC_ADMIN_UNLOCKED, 0, -1, (void *)1);
	RUN_UNTIL(find_ev(0, MTC_STORE_PUT, "a") >= 0);
	ch = expect_changed(find_ev(0, MTC_STORE_LOADED, NULL), "a", MTC_ADMIN_LOCKED, 71, "read from etcd");
	put = find_ev(0, MTC_STORE_PUT, "a");
	assert_true(ch < put);
	assert_int_equal(T.ev[put].r, -EAGAIN);
	assert_ptr_equal(T.ev[put].ctx, (void *)1);
	assert_int_equal(txns_compare(0, "a", 65), 1);

	fake_kv("a", "unlocked", 72, false); /* another agent did what is asked */
	ops->put(T.s, "a", MTC_ADMIN_UNLOCKED, 0, -1, (void *)2);
	RUN_UNTIL(find_ev(put + 1, MTC_STORE_PUT, "a") >= 0);
	ch = expect_changed(put + 1, "a", MTC_ADMIN_UNLOCKED, 72, "read from etcd");
	put = find_ev(put + 1, MTC_STORE_PUT, "a");
	assert_true(ch < put);
	assert_int_equal(T.ev[put].r, 0);
	assert_int_equal(T.ev[put].version, 72);
}

/* Put host := value (if_version) and wait for its answer: its index. */
static int put_and_wait(const char *host, mtc_admin_value value, int64_t if_version)
{
	int from = T.n;

	ops->put(T.s, host, value, 0, if_version, NULL);
	RUN_UNTIL(find_ev(from, MTC_STORE_PUT, host) >= 0);
	return find_ev(from, MTC_STORE_PUT, host);
}

/* 5. A deleted key (watched or missing from a read) compares as 0. */
static void test_deleted_key(void **state)
{
	int n0, i;

	(void)state;
	fake_kv("a", "locked", 80, false);
	fake_kv("b", "locked", 81, false);
	open_loaded();
	fake_watch_send(fake_w_put("a", NULL)); /* deleted at 82 */
	RUN_UNTIL(find_changed(0, "a", 82) >= 0);
	expect_changed(find_changed(0, "a", 82), "a", MTC_ADMIN_UNKNOWN, 82, "etcd change");
	n0 = fake_nreq();
	i = put_and_wait("a", MTC_ADMIN_LOCKED, -1);
	assert_int_equal(T.ev[i].r, 0);
	assert_int_equal(txns_compare(n0, "a", 0), 1);

	fake_kv("b", NULL, 0, false);
	fake_set_rev(84);
	ops->read(T.s);
	RUN_UNTIL(find_changed(i, "b", 84) >= 0);
	expect_changed(i, "b", MTC_ADMIN_UNKNOWN, 84, "key removed");
	n0 = fake_nreq();
	i = put_and_wait("b", MTC_ADMIN_UNLOCKED, 84); /* a correction at the version told */
	assert_int_equal(T.ev[i].r, 0);
	i = put_and_wait("never-seen", MTC_ADMIN_LOCKED, -1);
	assert_int_equal(T.ev[i].r, 0);
	assert_int_equal(txns_compare(n0, "b", 0), 1);
	assert_int_equal(txns_compare(n0, "never-seen", 0), 1);
}

/* 5. Timeouts: "unknown" and a read, never a blind resend; a try that
 * committed before it timed out is found done by the next. */
static void test_txn_timeout(void **state)
{
	int64_t next;
	int n0, i;

	(void)state;
	fake_kv("a", "unlocked", 65, false);
	fake_kv("b", "unlocked", 66, false);
	fake_set_rev(70);
	open_loaded();
	fake_rule_add((fake_rule){ .path = TXN, .key = K("a"), .err = -ETIMEDOUT, .uses = -1 });
	n0 = fake_nreq();
	i = put_and_wait("a", MTC_ADMIN_LOCKED, -1);
	assert_int_equal(strncmp(T.ev[i].why, "unknown", 7), 0);
	assert_true(T.ev[i].r < 0);
	RUN_UNTIL(find_req(n0, RANGE) > 0); /* what etcd holds now */
	assert_true(find_req(n0, RANGE) > find_req(n0, TXN));
	assert_true(txns_compare(n0, "a", 65) >= 1);

	fake_rule_add((fake_rule){ .path = TXN, .key = K("b"), .err = -ETIMEDOUT, .apply = true });
	n0 = fake_nreq();
	next = fake_rev() + 1;
	i = put_and_wait("b", MTC_ADMIN_LOCKED, -1);
	assert_int_equal(T.ev[i].r, 0);
	assert_int_equal(T.ev[i].version, next);
	assert_non_null(strstr(T.ev[i].why, "after a try that timed out"));
	assert_int_equal(txns_compare(n0, "b", 66), 2);
}

/* 5. Two writes for one host, in order: the second compares with the
 * first's commit. */
static void test_writes_chain(void **state)
{
	int a, b;

	(void)state;
	fake_kv("a", "unlocked", 65, false);
	fake_set_rev(70);
	open_loaded();
	fake_rule_add((fake_rule){ .path = TXN, .key = K("a"), .hold = true });
	ops->put(T.s, "a", MTC_ADMIN_LOCKED, 0, -1, (void *)1);
	ops->put(T.s, "a", MTC_ADMIN_UNLOCKED, 0, -1, (void *)2);
	fake_release();
	RUN_UNTIL(count_ev(MTC_STORE_PUT) == 2);
	a = find_ev(0, MTC_STORE_PUT, "a");
	b = find_ev(a + 1, MTC_STORE_PUT, "a");
	assert_ptr_equal(T.ev[a].ctx, (void *)1);
	assert_int_equal(T.ev[a].r, 0);
	assert_int_equal(T.ev[a].version, 71);
	assert_ptr_equal(T.ev[b].ctx, (void *)2);
	assert_int_equal(T.ev[b].r, 0);
	assert_int_equal(T.ev[b].version, 72);
	a = find_req(0, TXN);
	b = find_req(a + 1, TXN);
	assert_int_equal(fake_get(a).cmp_rev[0], 65);
	assert_string_equal(fake_get(a).put_value[0], "locked");
	assert_int_equal(fake_get(b).cmp_rev[0], 71);
	assert_string_equal(fake_get(b).put_value[0], "unlocked");
}

/* 6. The first member refuses connections: the next one, in time. */
static void test_write_next_member(void **state)
{
	uint64_t t0;
	int i;

	(void)state;
	fake_kv("a", "unlocked", 65, false);
	fake_rule_add((fake_rule){ .ep = "0", .err = -ECONNREFUSED, .uses = -1 });
	open_loaded();
	t0 = now_ms();
	i = put_and_wait("a", MTC_ADMIN_LOCKED, -1);
	assert_int_equal(T.ev[i].r, 0);
	assert_true(now_ms() - t0 < SET_DEADLINE_MS);
	i = find_req(0, TXN);
	assert_int_equal(fake_get(i).ep, 1);
	assert_int_equal(find_req(i + 1, TXN), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paged_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_over_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_change_after_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_compacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_message_over_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_canceled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_cluster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_if_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_next_member, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
