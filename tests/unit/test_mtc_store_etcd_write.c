/* The etcd store's writer (mtc_store_etcd_write.c) over a fake transport:
 * which queued corrections go in one txn, and how each job of a batch is
 * answered (committed; its own compare failed; held and sent again; no
 * answer: unclear). The fake stands in for mtc_store_etcd_http.c, so the
 * archive's libcurl file is not linked. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "mtc_store_etcd.h"
#include "util.h"

#define HDR(rev) "\"header\":{\"cluster_id\":\"7\",\"member_id\":\"1\",\"revision\":\"" rev "\",\"raft_term\":\"2\"}"
#define KV(key, rev, value) "{\"response_range\":{\"kvs\":[{\"key\":\"" key "\",\"mod_revision\":\"" rev "\"," \
	"\"value\":\"" value "\"}]}}"
#define PUT "{\"response_put\":{}}"
/* base64 of /mtc/admin/h0, /mtc/admin/h1, /mtc/admin/h2; locked, unlocked */
#define K0 "L210Yy9hZG1pbi9oMA=="
#define K1 "L210Yy9hZG1pbi9oMQ=="
#define K2 "L210Yy9hZG1pbi9oMg=="
#define LOCKED "bG9ja2Vk"

/* An error reply's kind, from a string literal */
#define KIND(lit) mtc_etcd_error_classify(lit, sizeof(lit) - 1)

/* The fake: every range (the probe of a member not yet answering)
 * answers a header, or fails as a TLS handshake the member refused when
 * it goes to range_fail_ep; each txn the next scripted reply (NULL: a
 * timeout). */
#define TXN_MAX 16
static const char *txn_reply[TXN_MAX];
static int n_txn, n_range, range_fail_ep;
static int req_ep[2 * TXN_MAX], n_req; /* the member of each request, in order */
static char txn_body[TXN_MAX][4096];
/* The writer's clock (--wrap=util_now_ms): a try that times out takes its
 * whole timeout, as on a real member. */
static uint64_t fake_now = 1000000;

uint64_t __wrap_util_now_ms(void);
uint64_t __wrap_util_now_ms(void)
{
	return fake_now;
}

int etcd_post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
	      size_t errlen)
{
	const char *reply = "{" HDR("3") "}";

	(void)s;
	if (n_req < 2 * TXN_MAX)
		req_ep[n_req++] = ep;
	if (strcmp(path, "/v3/kv/range") == 0 && ep == range_fail_ep) {
		n_range++;
		snprintf(err, errlen, "SSL_read: sslv3 alert bad certificate");
		return -ECONNRESET;
	}
	if (strcmp(path, "/v3/kv/txn") == 0) {
		assert_true(n_txn < TXN_MAX);
		snprintf(txn_body[n_txn], sizeof(txn_body[0]), "%s", body);
		reply = txn_reply[n_txn++];
	} else {
		n_range++;
	}
	if (reply && strncmp(reply, "HTTP ", 5) == 0) { /* an error status: its JSON after "HTTP NNN " */
		etcd_on_data((char *)reply + 9, 1, strlen(reply + 9), out);
		snprintf(err, errlen, "%.60s", reply);
		return -EIO;
	}
	if (!reply) {
		fake_now += (uint64_t)timeout_ms;
		snprintf(err, errlen, "timed out");
		return -ETIMEDOUT;
	}
	etcd_on_data((char *)reply, 1, strlen(reply), out);
	return 0;
}

int etcd_stream(etcd_store *s, int ep, const char *path, const char *body, long idle_s, etcd_stream_fn on_data,
		etcd_stop_fn stop, void *user, char *err, size_t errlen)
{
	(void)s, (void)ep, (void)path, (void)body, (void)idle_s, (void)on_data, (void)stop, (void)user;
	snprintf(err, errlen, "no stream here");
	return -ENOTSUP;
}

int etcd_http_init(void)
{
	return 0;
}

void etcd_http_cleanup(void)
{
}

void etcd_http_thread_end(void)
{
}

static etcd_store store;

static int setup(void **state)
{
	(void)state;
	memset(&store, 0, sizeof(store));
	snprintf(store.cfg.etcd_prefix, sizeof(store.cfg.etcd_prefix), "/mtc/admin/");
	store.n_ep = 2;
	pthread_mutex_init(&store.mu, NULL);
	assert_int_equal(pipe(store.pipe), 0);
	memset(txn_reply, 0, sizeof(txn_reply));
	n_txn = n_range = n_req = 0;
	range_fail_ep = -1;
	/* steady state: both members answered the writer before */
	store.writer_warm[0] = store.writer_warm[1] = true;
	return 0;
}

static int teardown(void **state)
{
	job *j;

	(void)state;
	while ((j = etcd_job_pop(&store.done)))
		etcd_job_free(j);
	while ((j = etcd_job_pop(&store.todo)))
		etcd_job_free(j);
	close(store.pipe[0]);
	close(store.pipe[1]);
	pthread_mutex_destroy(&store.mu);
	return 0;
}

static job *mk(job_kind kind, const char *host, int64_t from_rev)
{
	job *j = calloc(1, sizeof(*j));

	j->kind = kind;
	snprintf(j->host, sizeof(j->host), "%s", host);
	j->lock = true;
	j->from_rev = from_rev;
	j->submitted_ms = util_now_ms();
	return j;
}

static void queue(job **list, job *j)
{
	while (*list)
		list = &(*list)->next;
	*list = j;
}

/* Distinct hosts; never past an earlier job of a host (an operator's put
 * stays ahead of that host's correction); the rest keeps its order. */
static void test_take_batch(void **state)
{
	static const char *const order[][2] = { { "a", "T" }, { "b", "T" }, { "c", "P" }, { "c", "T" }, { "a", "T" },
						{ "d", "T" }, { "b", "P" } };
	job *batch[MTC_ETCD_BATCH_MAX], *list = NULL;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		queue(&list, mk(order[i][1][0] == 'T' ? JOB_TXN : JOB_PUT, order[i][0], 1));
	batch[0] = etcd_job_pop(&list);
	n = etcd_take_batch(&list, batch);
	assert_int_equal(n, 3);
	assert_string_equal(batch[1]->host, "b");
	assert_string_equal(batch[2]->host, "d");
	assert_true(list->kind == JOB_PUT && strcmp(list->host, "c") == 0);
	assert_true(list->next->kind == JOB_TXN && strcmp(list->next->host, "c") == 0);
	assert_string_equal(list->next->next->host, "a");
	assert_true(list->next->next->next->kind == JOB_PUT && !list->next->next->next->next);
	for (size_t i = 0; i < n; i++)
		etcd_job_free(batch[i]);
	store.done = list; /* freed by teardown */
	/* Bounded: 100 hosts queued, 64 taken. */
	for (int i = 0; i < 100; i++) {
		char h[16];

		snprintf(h, sizeof(h), "h%d", i);
		queue(&store.todo, mk(JOB_TXN, h, 1));
	}
	batch[0] = etcd_job_pop(&store.todo);
	assert_int_equal(etcd_take_batch(&store.todo, batch), MTC_ETCD_BATCH_MAX);
	assert_string_equal(store.todo->host, "h64");
	for (size_t i = 0; i < MTC_ETCD_BATCH_MAX; i++)
		etcd_job_free(batch[i]);
}

static job *done_of(const char *host)
{
	for (job *j = store.done; j; j = j->next)
		if (strcmp(j->host, host) == 0)
			return j;
	fail_msg("%s not answered", host);
	return NULL;
}

/* h1's compare failed (etcd has it unlocked at 6): h1 is answered with
 * that, as a single write would be; h0 and h2 were not applied and go
 * again, alone in a second txn, which commits; h0's queued write now
 * compares with the new revision. */
static void test_batch_resend(void **state)
{
	job *b[3] = { mk(JOB_TXN, "h0", 2), mk(JOB_TXN, "h1", 2), mk(JOB_TXN, "h2", 0) };
	int last_ep = 0;

	(void)state;
	txn_reply[0] = "{" HDR("6") ",\"responses\":[" KV(K0, "2", LOCKED) "," KV(K1, "6", "dW5sb2NrZWQ=") ","
		       "{\"response_range\":{}}]}";
	txn_reply[1] = "{" HDR("7") ",\"succeeded\":true,\"responses\":[" PUT "," PUT "]}";
	queue(&store.todo, mk(JOB_PUT, "h0", 2));
	etcd_run_batch(&store, b, 3, &last_ep);
	assert_int_equal(n_txn, 2);
	assert_int_equal(n_range, 0); /* no read before the txn */
	assert_non_null(strstr(txn_body[1], K0));
	assert_null(strstr(txn_body[1], K1));
	assert_non_null(strstr(txn_body[1], K2));
	assert_true(done_of("h1")->r == 0 && !done_of("h1")->cas.succeeded);
	assert_int_equal(done_of("h1")->cas.kv.mod_revision, 6);
	assert_int_equal(done_of("h1")->cas.kv.state, MTC_ETCD_UNLOCKED);
	assert_true(done_of("h0")->r == 0 && done_of("h0")->cas.succeeded && done_of("h0")->cas.hdr.revision == 7);
	assert_true(done_of("h2")->r == 0 && done_of("h2")->cas.succeeded);
	assert_int_equal(store.todo->from_rev, 7);
}

/* No answer from any member: every job fails "unclear", as a single write
 * that timed out does (the loop reads etcd again; nothing sent blind). */
static void test_batch_timeout(void **state)
{
	job *b[2] = { mk(JOB_TXN, "h0", 2), mk(JOB_TXN, "h1", 2) };
	int last_ep = 0;

	(void)state;
	etcd_run_batch(&store, b, 2, &last_ep);
	/* Tried again, member after member, until the deadline (each try a
	 * put-if: a first that committed is never overwritten), then unclear. */
	assert_in_range(n_txn, 3, TXN_MAX - 1);
	assert_true(fake_now - b[0]->submitted_ms <= SET_DEADLINE_MS);
	for (int i = 0; i < 2; i++) {
		job *j = done_of(i ? "h1" : "h0");

		assert_int_equal(j->r, -ETIMEDOUT);
		assert_true(j->unclear);
		assert_string_equal(j->err, "timed out");
	}
}

/* A member that lost its leader mid-request answers "leader changed"
 * (gRPC Unavailable): the txn may have been proposed, so the write is
 * unclear and goes again, conditional, to the next member (one try per
 * member was not enough after a member's loss: etcd.sh under load). */
static void test_leader_changed(void **state)
{
	job *j = mk(JOB_TXN, "h0", 2);
	int last_ep = 0;

	(void)state;
	txn_reply[0] = "HTTP 503 {\"error\":\"etcdserver: leader changed\",\"code\":14,\"message\":\"etcdserver: leader changed\"}";
	txn_reply[1] = "HTTP 503 {\"error\":\"etcdserver: leader changed\",\"code\":14}";
	txn_reply[2] = "{" HDR("9") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_write(&store, j, &last_ep);
	assert_int_equal(n_txn, 3);
	assert_int_equal(j->r, 0);
	assert_true(j->unclear);
	assert_true(j->cas.succeeded);
	etcd_job_free(j);
}

/* Permission denied (gRPC PermissionDenied): refused before any proposal,
 * on every member alike: one try, final, not unclear. */
static void test_permission_denied(void **state)
{
	job *j = mk(JOB_TXN, "h0", 2);
	int last_ep = 0;

	(void)state;
	txn_reply[0] = "HTTP 403 {\"error\":\"etcdserver: permission denied\",\"code\":7}";
	etcd_run_write(&store, j, &last_ep);
	assert_int_equal(n_txn, 1);
	assert_int_equal(j->r, -EPERM);
	assert_false(j->unclear);
	assert_int_equal(KIND("{\"error\":\"etcdserver: user name not found\",\"code\":9}"), MTC_ETCD_ERR_REFUSED);
	assert_int_not_equal(KIND("{\"error\":\"etcdserver: request timed out\",\"code\":14}"), MTC_ETCD_ERR_REFUSED);
	assert_int_not_equal(KIND("Bad Gateway"), MTC_ETCD_ERR_REFUSED);
	/* code 8 is "too many requests" (refused) or "database space
	 * exceeded", which a txn gets after it was applied (review, 2026-12-03) */
	assert_int_equal(KIND("{\"error\":\"etcdserver: too many requests\",\"code\":8}"), MTC_ETCD_ERR_REFUSED);
	assert_int_not_equal(KIND("{\"error\":\"etcdserver: mvcc: database space exceeded\",\"code\":8}"),
			     MTC_ETCD_ERR_REFUSED);
	etcd_job_free(j);
}

/* A txn answered but not understood, or answered "database space
 * exceeded" (applied, then refused): it may have committed, so the write
 * is unclear (the loop re-reads and answers "unknown"), never "not
 * changed"; a correction to "unlocked" compares the value too, an
 * operator's unlock does not. */
static void test_sent_then_unclear(void **state)
{
	job *j = mk(JOB_TXN, "h0", 2), *k = mk(JOB_TXN, "h1", 2), *op = mk(JOB_PUT, "h2", 2);
	int last_ep = 0;

	(void)state;
	j->lock = false;
	op->lock = false;
	txn_reply[0] = "{\"no\":\"header\"}";
	etcd_run_write(&store, j, &last_ep);
	assert_int_equal(j->r, -EBADMSG);
	assert_true(j->unclear);
	assert_non_null(strstr(txn_body[0], "\"target\":\"VALUE\""));
	txn_reply[1] = "HTTP 413 {\"error\":\"etcdserver: mvcc: database space exceeded\",\"code\":8}";
	txn_reply[2] = "{" HDR("9") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_write(&store, k, &last_ep);
	assert_true(k->unclear && k->r == 0);
	txn_reply[3] = "{" HDR("10") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_write(&store, op, &last_ep);
	assert_null(strstr(txn_body[3], "\"target\":\"VALUE\""));
	etcd_job_free(j);
	etcd_job_free(k);
	etcd_job_free(op);
}

/* An operator's lock, its txn alone (no read before it), refused by the
 * first member with refusal, a reply from before any proposal: the next
 * member takes it (taken), and the write is not unclear (its answer stays
 * definite). */
static void next_member_takes_it(const char *refusal, const char *taken)
{
	job *j = mk(JOB_PUT, "h0", 2);
	int last_ep = 0, n = n_txn;

	store.writer_warm[0] = store.writer_warm[1] = true; /* both answered before */
	txn_reply[n] = refusal;
	txn_reply[n + 1] = taken;
	etcd_run_write(&store, j, &last_ep);
	assert_int_equal(n_range, 0);
	assert_int_equal(n_txn, n + 2);
	assert_int_equal(j->r, 0);
	assert_false(j->unclear);
	assert_true(j->cas.succeeded);
	assert_int_equal(last_ep, 1);
	etcd_job_free(j);
}

/* A member that knows it has no leader refuses before proposing ("no
 * leader", asked by hasleader); "leader changed", same code, may follow a
 * proposal: unclear (test_leader_changed). */
static void test_no_leader(void **state)
{
	(void)state;
	next_member_takes_it("HTTP 503 {\"error\":\"etcdserver: no leader\",\"message\":\"etcdserver: no leader\",\"code\":14}",
			     "{" HDR("9") ",\"succeeded\":true,\"responses\":[" PUT "]}");
	assert_int_equal(KIND("{\"error\":\"etcdserver: no leader\",\"code\":14}"), MTC_ETCD_ERR_ELSEWHERE);
	assert_int_equal(KIND("{\"error\":\"etcdserver: leader changed\",\"code\":14}"), MTC_ETCD_ERR_MAYBE_PROPOSED);
	assert_int_equal(KIND("{\"error\":\"etcdserver: no leader\",\"code\":2}"), MTC_ETCD_ERR_MAYBE_PROPOSED);
	assert_int_equal(KIND("Service Unavailable"), MTC_ETCD_ERR_MAYBE_PROPOSED);
}

/* A learner refuses a txn (and a linearizable read) in its request
 * interceptor: etcd 3.4 with Unavailable (14), later versions with
 * FailedPrecondition (9), a code that otherwise means refused by every
 * member. Either way the next member takes the write; so for a member
 * not yet able to serve ("not capable"). */
static void test_learner(void **state)
{
	(void)state;
	next_member_takes_it("HTTP 503 {\"error\":\"etcdserver: rpc not supported for learner\",\"code\":14}",
			     "{" HDR("9") ",\"succeeded\":true,\"responses\":[" PUT "]}");
	next_member_takes_it("HTTP 400 {\"error\":\"etcdserver: rpc not supported for learner\",\"code\":9}",
			     "{" HDR("10") ",\"succeeded\":true,\"responses\":[" PUT "]}");
	assert_int_equal(KIND("{\"error\":\"etcdserver: not capable\",\"code\":14}"), MTC_ETCD_ERR_ELSEWHERE);
	assert_int_equal(KIND("{\"error\":\"etcdserver: not capable\",\"code\":9}"), MTC_ETCD_ERR_ELSEWHERE);
	/* Same text under another code is not etcd's interceptor speaking. */
	assert_int_equal(KIND("{\"error\":\"etcdserver: rpc not supported for learner\",\"code\":7}"),
			 MTC_ETCD_ERR_REFUSED);
	assert_int_equal(KIND("{\"error\":\"etcdserver: request timed out\",\"code\":14}"), MTC_ETCD_ERR_MAYBE_PROPOSED);
}

/* A member that has not answered the writer yet (at start, or after a
 * transport failure) first gets a linearizable read of the key: a TLS
 * handshake it refuses fails there, before the txn left, so the write is
 * not unclear; the next member, probed, takes it; once a member answered,
 * the txn goes alone. */
static void test_cold_member_probed(void **state)
{
	job *j = mk(JOB_PUT, "h0", 2), *k = mk(JOB_PUT, "h0", 9);
	int last_ep = 0;

	(void)state;
	store.writer_warm[0] = store.writer_warm[1] = false;
	range_fail_ep = 0;
	txn_reply[0] = "{" HDR("9") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	txn_reply[1] = "{" HDR("10") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_write(&store, j, &last_ep);
	assert_int_equal(j->r, 0);
	assert_false(j->unclear);
	assert_int_equal(n_range, 2); /* ep 0 (refused), ep 1 */
	assert_int_equal(n_txn, 1);
	assert_int_equal(n_req, 3);
	assert_true(req_ep[0] == 0 && req_ep[1] == 1 && req_ep[2] == 1);
	assert_false(store.writer_warm[0]);
	assert_true(store.writer_warm[1]);
	etcd_run_write(&store, k, &last_ep); /* ep 1 answered: the txn alone */
	assert_int_equal(n_range, 2);
	assert_int_equal(n_txn, 2);
	assert_true(k->r == 0 && k->cas.succeeded);
	etcd_job_free(j);
	etcd_job_free(k);
}

/* On a member that answered: an operator's lock goes as a txn alone, an
 * operator's unlock keeps the linearizable read first (a leader cut off
 * moments ago would hold the unlock and may commit it when quorum comes
 * back); a member whose answer was an error is read first again. */
static void test_unlock_probed(void **state)
{
	job *lk = mk(JOB_PUT, "h0", 2), *ul = mk(JOB_PUT, "h0", 9), *again = mk(JOB_PUT, "h0", 10);
	int last_ep = 0;

	(void)state;
	ul->lock = false;
	txn_reply[0] = "{" HDR("9") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	txn_reply[1] = "{" HDR("10") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_write(&store, lk, &last_ep);
	assert_true(lk->r == 0 && n_range == 0 && n_txn == 1);
	etcd_run_write(&store, ul, &last_ep);
	assert_true(ul->r == 0 && n_range == 1 && n_txn == 2);
	assert_true(req_ep[1] == req_ep[2]); /* the read, then the txn, on one member */
	txn_reply[2] = "HTTP 503 {\"error\":\"etcdserver: leader changed\",\"code\":14}";
	txn_reply[3] = "{" HDR("11") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_write(&store, again, &last_ep); /* a lock: ep 0 answers an error, ep 1 commits */
	assert_true(again->r == 0 && again->unclear);
	assert_false(store.writer_warm[0]);
	assert_int_equal(n_range, 1);
	last_ep = 0; /* back to ep 0, whose answer was an error: read first */
	txn_reply[4] = "{" HDR("12") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	lk->r = -1;
	etcd_run_write(&store, lk, &last_ep);
	assert_true(lk->r == 0 && n_range == 2 && req_ep[n_req - 2] == 0 && req_ep[n_req - 1] == 0);
	etcd_job_free(lk);
	etcd_job_free(ul);
	etcd_job_free(again);
}

/* A write made unclear by its first try ("leader changed": it may have
 * been proposed) and then answered by no member: its error is the first
 * try's, not the last timeout's (an "unknown" answer quoting "not sent"
 * would read as a contradiction; review, 2026-12-03). */
static void test_unclear_keeps_its_error(void **state)
{
	job *j = mk(JOB_TXN, "h0", 2);
	int last_ep = 0;

	(void)state;
	txn_reply[0] = "HTTP 503 {\"error\":\"etcdserver: leader changed\",\"code\":14}";
	etcd_run_write(&store, j, &last_ep);
	assert_int_equal(j->r, -ETIMEDOUT);
	assert_true(j->unclear);
	assert_true(n_txn >= 2);
	assert_non_null(strstr(j->err, "leader changed"));
	etcd_job_free(j);
}

/* A correction queued past its deadline is answered "not sent" without a
 * request, and flagged so the loop does not count it against etcd. */
static void test_expired_in_queue(void **state)
{
	job *b[2] = { mk(JOB_TXN, "h0", 2), mk(JOB_TXN, "h1", 2) };
	int last_ep = 0;

	(void)state;
	b[0]->submitted_ms -= SET_DEADLINE_MS; /* queued 4 s ago */
	txn_reply[0] = "{" HDR("7") ",\"succeeded\":true,\"responses\":[" PUT "]}";
	etcd_run_batch(&store, b, 2, &last_ep);
	assert_true(done_of("h0")->expired && done_of("h0")->r == -ETIMEDOUT && !done_of("h0")->unclear);
	assert_null(strstr(txn_body[0], K0));
	assert_true(done_of("h1")->r == 0 && done_of("h1")->cas.succeeded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_take_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_resend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leader_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_then_unclear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_in_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_leader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cold_member_probed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_probed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unclear_keeps_its_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
