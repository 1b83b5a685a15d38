/* The etcd store's unit test harness (store_etcd_harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_etcd_harness.h"

harness T;
const mtc_store_ops *const ops = &mtc_store_etcd_ops;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_event(void *user, const mtc_store_event *ev)
{
	mtc_store_health h = { .healthy = true };
	rec *r;

	(void)user;
	if (T.n == EV_MAX)
		return;
	if (T.s)
		ops->health(T.s, &h);
	r = &T.ev[T.n++];
	*r = (rec){ .kind = ev->kind, .value = ev->value, .version = ev->version, .r = ev->r, .ctx = ev->ctx,
		    .healthy = h.healthy };
	snprintf(r->host, sizeof(r->host), "%s", ev->host ? ev->host : "");
	snprintf(r->why, sizeof(r->why), "%s", ev->why ? ev->why : "");
}

/* The first event from index from of kind (for host; NULL: any): its index, or -1. */
int find_ev(int from, mtc_store_event_kind kind, const char *host)
{
	for (int i = from < 0 ? 0 : from; i < T.n; i++)
		if (T.ev[i].kind == kind && (!host || strcmp(T.ev[i].host, host) == 0))
			return i;
	return -1;
}

/* A CHANGED for host at version since from: its index, or -1. */
int find_changed(int from, const char *host, int64_t version)
{
	for (int i = find_ev(from, MTC_STORE_CHANGED, host); i >= 0; i = find_ev(i + 1, MTC_STORE_CHANGED, host))
		if (T.ev[i].version == version)
			return i;
	return -1;
}

int count_ev(mtc_store_event_kind kind)
{
	int n = 0;

	for (int i = 0; i < T.n; i++)
		n += T.ev[i].kind == kind;
	return n;
}

/* What happened, for a failure's message. */
void dump(void)
{
	for (int k = 0; k < T.n; k++)
		print_message("event %d: kind %d %s value %d version %lld r %d: %s\n", k, T.ev[k].kind, T.ev[k].host,
			      T.ev[k].value, (long long)T.ev[k].version, T.ev[k].r, T.ev[k].why);
	for (int k = 0; k < fake_nreq(); k++) {
		fake_req q = fake_get(k);

		print_message("request %d: %s member %d key %s%s limit %lld revision %lld%s cmp %lld from %lld\n", k,
			      q.path, q.ep, q.key, q.range_end ? " (range)" : "", (long long)q.limit,
			      (long long)q.revision, q.keys_only ? " keys only" : "", (long long)q.cmp_rev[0],
			      (long long)q.start_revision);
	}
}

/* CHANGED host := value at version, said why, from index from: its index. */
int expect_changed(int from, const char *host, mtc_admin_value value, int64_t version, const char *why)
{
	int i = find_ev(from, MTC_STORE_CHANGED, host);

	if (i < 0) {
		dump();
		fail_msg("no CHANGED for %s after event %d", host, from);
	}
	assert_int_equal(T.ev[i].value, value);
	assert_int_equal(T.ev[i].version, version);
	assert_string_equal(T.ev[i].why, why);
	return i;
}

/* A full read's page (not a one-key health read). */
bool is_full_read(const fake_req *q)
{
	return strcmp(q->path, RANGE) == 0 && q->range_end &&
	       !(q->keys_only && q->limit == 1 && strcmp(q->key, FAKE_PREFIX) == 0);
}

/* The first request from index from on path (RANGE: full reads only), or -1. */
int find_req(int from, const char *path)
{
	for (int i = from; i < fake_nreq(); i++) {
		fake_req q = fake_get(i);

		if (strcmp(q.path, path) == 0 && (strcmp(path, RANGE) != 0 || is_full_read(&q)))
			return i;
	}
	return -1;
}

/* The n-th (from 1) watch request. */
fake_req nth_watch(int n)
{
	for (int i = find_req(0, WATCH); i >= 0; i = find_req(i + 1, WATCH))
		if (--n == 0)
			return fake_get(i);
	fail_msg("no such watch request");
	return fake_get(-1);
}

/* Every txn from index from compares host (if at all) with rev, and no
 * request is a blind put: how many compared host. */
int txns_compare(int from, const char *host, int64_t rev)
{
	int n = 0;

	for (int i = from; i < fake_nreq(); i++) {
		fake_req q = fake_get(i);

		assert_string_not_equal(q.path, "/v3/kv/put");
		for (int c = 0; strcmp(q.path, TXN) == 0 && c < q.n_cmp; c++) {
			if (strcmp(q.cmp_host[c], host) != 0)
				continue;
			if (q.cmp_rev[c] != rev)
				fail_msg("txn %d for %s compares mod_revision %lld, want %lld", i, host,
					 (long long)q.cmp_rev[c], (long long)rev);
			n++;
		}
	}
	return n;
}

int setup(void **state)
{
	conf_errors errs = { 0 };

	(void)state;
	memset(&T, 0, sizeof(T));
	fake_reset(1);
	if (mtc_config_load_string(&T.cfg, "[agent]\nstore = etcd\n[etcd]\n"
				   "endpoints = http://m0:2379,http://m1:2379,http://m2:2379\n", &errs) < 0)
		return -1;
	return sd_event_new(&T.e) < 0 ? -1 : 0;
}

int teardown(void **state)
{
	mtc_store *s = T.s;

	(void)state;
	if (s)
		ops->close(s);
	T.s = NULL;
	T.e = sd_event_unref(T.e);
	fake_reset(1);
	return 0;
}

void open_store(void)
{
	mtc_store_env env = { .event = T.e, .cfg = &T.cfg, .n_hosts = 8, .on_event = on_event };

	assert_int_equal(ops->open(&env, &T.s), 0);
}

/* Opened on the tiny etcd, read, and its watch open. */
void open_loaded(void)
{
	open_store();
	RUN_UNTIL(count_ev(MTC_STORE_LOADED) == 1);
	RUN_UNTIL(fake_stream_open());
}

int64_t store_revision(void)
{
	mtc_store_health h;

	ops->health(T.s, &h);
	return h.revision;
}
