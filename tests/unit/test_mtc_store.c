/* The etcd store's pure parts (mtc_etcd.c): request bodies, replies as
 * etcd 3.4's gateway sends them (captured from a real member), revision
 * handling; and the [agent]/[etcd]/agent_address config rules. */
#include <errno.h>
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
#include <jansson.h>
#include <sodium.h>

#include "mtc_config.h"
#include "mtc_etcd.h"

/* base64 of "/mtc/admin/", "/mtc/admin0", "/mtc/admin/node-1", "locked" */
#define K_PREFIX "L210Yy9hZG1pbi8="
#define K_END "L210Yy9hZG1pbjA="
#define K_NODE1 "L210Yy9hZG1pbi9ub2RlLTE="
#define V_LOCKED "bG9ja2Vk"
#define HDR(rev) "\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"1\",\"revision\":\"" rev "\",\"raft_term\":\"2\"}"

static const char *field(json_t *o, const char *path)
{
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save))
		o = json_object_get(o, t);
	return json_string_value(o);
}

static void test_bodies(void **state)
{
	char *s;
	json_t *j;

	(void)state;
	s = mtc_etcd_range_page_body("/mtc/admin/", NULL, 0, 5000, 0, false);
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "key"), K_PREFIX);
	assert_string_equal(field(j, "range_end"), K_END);
	json_decref(j);
	free(s);

	s = mtc_etcd_get_body("/mtc/admin/", "node-1");
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "key"), K_NODE1);
	assert_null(json_object_get(j, "range_end")); /* that key alone */
	json_decref(j);
	free(s);

	s = mtc_etcd_watch_body("/mtc/admin/", 42);
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "create_request.key"), K_PREFIX);
	assert_string_equal(field(j, "create_request.range_end"), K_END);
	assert_string_equal(field(j, "create_request.start_revision"), "42"); /* int64 as a string */
	assert_true(json_is_true(json_object_get(json_object_get(j, "create_request"), "progress_notify")));
	json_decref(j);
	free(s);

	/* Refused: empty or long prefix, a host name that is not one. */
	assert_null(mtc_etcd_range_page_body("", NULL, 0, 1, 0, false));
	assert_null(mtc_etcd_cas_body("/p/", "bad host", true, 0, false));
	assert_null(mtc_etcd_cas_body("/p/", "../x", false, 0, true));
	assert_null(mtc_etcd_get_body("/p/", "bad host"));
	assert_null(mtc_etcd_watch_body("/p/", -1));
	char longp[MTC_ETCD_PREFIX_MAX + 2];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_null(mtc_etcd_range_page_body(longp, NULL, 0, 1, 0, false));
}

static void test_range_reply(void **state)
{
	static const char text[] =
		"{" HDR("7") ",\"kvs\":["
		"{\"key\":\"" K_NODE1 "\",\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"" V_LOCKED "\"},"
		"{\"key\":\"L210Yy9hZG1pbi9ub2RlLTI=\",\"mod_revision\":\"6\",\"value\":\"dW5sb2NrZWQ=\"},"  /* node-2 unlocked */
		"{\"key\":\"L210Yy9hZG1pbi9ub2RlLTM=\",\"mod_revision\":\"7\",\"value\":\"bWF5YmU=\"},"      /* node-3 "maybe" */
		"{\"key\":\"L210Yy9vdGhlci94\",\"mod_revision\":\"3\",\"value\":\"" V_LOCKED "\"},"          /* /mtc/other/x */
		"{\"key\":\"L210Yy9hZG1pbi9hIGI=\",\"mod_revision\":\"4\",\"value\":\"" V_LOCKED "\"}"        /* "a b": not a host */
		"],\"count\":\"5\"}";
	mtc_etcd_result r;
	char msg[128];

	(void)state;
	assert_int_equal(mtc_etcd_parse_range(text, strlen(text), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_int_equal(r.revision, 7);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.kv[0].host, "node-1");
	assert_int_equal(r.kv[0].state, MTC_ETCD_LOCKED);
	assert_int_equal(r.kv[0].mod_revision, 5);
	assert_string_equal(r.kv[1].host, "node-2");
	assert_int_equal(r.kv[1].state, MTC_ETCD_UNLOCKED);
	assert_int_equal(r.kv[2].state, MTC_ETCD_INVALID); /* unknown value: treated as unknown (locked) */
	mtc_etcd_result_free(&r);

	/* No kvs at all: an empty prefix. */
	static const char empty[] = "{" HDR("3") "}";
	assert_int_equal(mtc_etcd_parse_range(empty, strlen(empty), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.revision, 3);
	mtc_etcd_result_free(&r);
}

static void test_errors(void **state)
{
	static const char err[] = "{\"error\":\"illegal base64 data at input byte 0\",\"message\":\"illegal base64 data at "
				  "input byte 0\",\"code\":3}";
	mtc_etcd_result r;
	mtc_etcd_cas cas;
	char msg[128];

	(void)state;
	assert_int_equal(mtc_etcd_parse_range(err, strlen(err), "/p/", &r, msg, sizeof(msg)), -EIO);
	assert_string_equal(msg, "illegal base64 data at input byte 0");
	assert_int_equal(mtc_etcd_parse_cas(err, strlen(err), "/p/", "h", &cas, msg, sizeof(msg)), -EIO);
	assert_int_equal(mtc_etcd_parse_range("nope", 4, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_range("[1]", 3, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_range("{\"kvs\":[]}", 10, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_cas("{}", 2, "/p/", "h", &cas, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_watch("{\"header\":{}}", 13, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	/* Truncated in the middle (a stream cut short). */
	static const char cut[] = "{\"result\":{" HDR("3") ",\"events\":[{\"kv\":{\"key\":";
	assert_int_equal(mtc_etcd_parse_watch(cut, strlen(cut), "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	/* A key that is not base64, a value that is not: skipped / invalid. */
	static const char bad[] = "{" HDR("4") ",\"kvs\":[{\"key\":\"!!\",\"mod_revision\":\"1\"},"
				  "{\"key\":\"" K_NODE1 "\",\"mod_revision\":\"4\",\"value\":\"!!\"}]}";
	assert_int_equal(mtc_etcd_parse_range(bad, strlen(bad), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.kv[0].state, MTC_ETCD_INVALID);
	mtc_etcd_result_free(&r);
}

/* Replies captured from etcd 3.4.23 (Debian 12) to mtc_etcd_cas_body(). */
#define CAP_HDR(rev) "\"header\":{\"cluster_id\":\"2037210783374497686\",\"member_id\":\"13195394291058371180\"," \
	"\"revision\":\"" rev "\",\"raft_term\":\"2\"}"

static void test_cas(void **state)
{
	static const char won[] = "{" CAP_HDR("2") ",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":"
				  "{\"revision\":\"2\"}}}]}";
	/* compare failed ("succeeded" omitted): the key as it is now */
	static const char changed[] = "{" CAP_HDR("2") ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":"
				      "\"2\"},\"kvs\":[{\"key\":\"" K_NODE1 "\",\"create_revision\":\"2\",\"mod_revision\":"
				      "\"2\",\"version\":\"1\",\"value\":\"" V_LOCKED "\"}],\"count\":\"1\"}}]}";
	static const char deleted[] = "{" CAP_HDR("3") ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":"
				      "\"3\"}}}]}";
	char *s = mtc_etcd_cas_body("/mtc/admin/", "node-1", true, 2, false), msg[128];
	json_t *j = json_loads(s, 0, NULL), *cmp = json_array_get(json_object_get(j, "compare"), 0);
	mtc_etcd_cas c;

	(void)state;
	assert_string_equal(field(cmp, "key"), K_NODE1);
	assert_string_equal(field(cmp, "target"), "MOD");
	assert_string_equal(field(cmp, "result"), "EQUAL");
	assert_string_equal(field(cmp, "mod_revision"), "2");
	assert_string_equal(field(json_array_get(json_object_get(j, "success"), 0), "request_put.value"), V_LOCKED);
	assert_string_equal(field(json_array_get(json_object_get(j, "failure"), 0), "request_range.key"), K_NODE1);
	json_decref(j);
	free(s);
	/* A missing or deleted key: etcd compares it as mod_revision 0. */
	s = mtc_etcd_cas_body("/mtc/admin/", "node-1", false, 0, true);
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(json_array_get(json_object_get(j, "compare"), 0), "mod_revision"), "0");
	json_decref(j);
	free(s);
	assert_null(mtc_etcd_cas_body("/mtc/admin/", "node-1", true, -1, false));
	assert_null(mtc_etcd_cas_body("/mtc/admin/", "a/b", true, 0, false));

	assert_int_equal(mtc_etcd_parse_cas(won, strlen(won), "/mtc/admin/", "node-1", &c, msg, sizeof(msg)), 0);
	assert_true(c.succeeded);
	assert_int_equal(c.hdr.revision, 2);
	assert_true(c.hdr.cluster_id == 2037210783374497686ULL);
	assert_int_equal(mtc_etcd_parse_cas(changed, strlen(changed), "/mtc/admin/", "node-1", &c, msg, sizeof(msg)), 0);
	assert_false(c.succeeded);
	assert_string_equal(c.kv.host, "node-1");
	assert_int_equal(c.kv.state, MTC_ETCD_LOCKED);
	assert_int_equal(c.kv.mod_revision, 2);
	assert_int_equal(mtc_etcd_parse_cas(deleted, strlen(deleted), "/mtc/admin/", "node-1", &c, msg, sizeof(msg)), 0);
	assert_false(c.succeeded);
	assert_int_equal(c.kv.state, MTC_ETCD_DELETED);
	assert_int_equal(c.kv.mod_revision, 0); /* what the next compare must say */
	assert_int_equal(mtc_etcd_parse_cas("{}", 2, "/mtc/admin/", "node-1", &c, msg, sizeof(msg)), -EBADMSG);
}

/* A batch of three (h00000 at 2: holds; h00005 at 2: it is at 3; h00007
 * missing, at 0: holds): the body sent to etcd 3.4.23 (Debian 12) and its
 * replies, captured with curl; then the same at h00005's 3: committed. */
#define K(h) "L210Yy9hZG1pbi9oMDAwM" h
#define B_CMP(h, r) "{\"key\":\"" K(h) "\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"" r "\"}"
#define B_VAL(h) "{\"key\":\"" K(h) "\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"dW5sb2NrZWQ=\"}"
#define B_PUT(h) "{\"request_put\":{\"key\":\"" K(h) "\",\"value\":\"bG9ja2Vk\"}}"
#define B_GET(h) "{\"request_range\":{\"key\":\"" K(h) "\"}}"
#define B_KV(h, r, v) "{\"response_range\":{\"header\":{\"revision\":\"4\"},\"kvs\":[{\"key\":\"" K(h) "\"," \
	"\"create_revision\":\"" r "\",\"mod_revision\":\"" r "\",\"version\":\"1\",\"value\":\"" v "\"}],\"count\":\"1\"}}"
#define B_HDR(rev) "\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"10276657743932975437\"," \
	"\"revision\":\"" rev "\",\"raft_term\":\"2\"}"
#define UNLOCKED "dW5sb2NrZWQ="

static void test_cas_batch(void **state)
{
	static const char sent[] = "{\"compare\":[" B_CMP("DA=", "2") "," B_CMP("DU=", "2") "," B_CMP("Dc=", "0") "],"
		"\"success\":[" B_PUT("DA=") "," B_PUT("DU=") "," B_PUT("Dc=") "],\"failure\":[" B_GET("DA=") ","
		B_GET("DU=") "," B_GET("Dc=") "]}";
	static const char failed[] = "{" B_HDR("4") ",\"responses\":[" B_KV("DA=", "2", UNLOCKED) ","
		B_KV("DU=", "3", UNLOCKED) ",{\"response_range\":{\"header\":{\"revision\":\"4\"}}}]}";
	static const char won[] = "{" B_HDR("5") ",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":"
		"{\"revision\":\"5\"}}},{\"response_put\":{\"header\":{\"revision\":\"5\"}}},{\"response_put\":"
		"{\"header\":{\"revision\":\"5\"}}}]}";
	static const char dup[] = "{\"error\":\"etcdserver: duplicate key given in txn request\",\"message\":"
		"\"etcdserver: duplicate key given in txn request\",\"code\":3}";
	mtc_etcd_cas_req req[3] = { { "h00000", true, 2 }, { "h00005", true, 2 }, { "h00007", true, 0 } };
	mtc_etcd_cas c[3];
	bool held[3];
	char *body = mtc_etcd_cas_batch_body("/mtc/admin/", req, 3), msg[128];
	json_t *a = json_loads(body, 0, NULL), *b = json_loads(sent, 0, NULL);

	(void)state;
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	free(body);
	assert_int_equal(mtc_etcd_parse_cas_batch(failed, strlen(failed), "/mtc/admin/", req, 3, c, held, msg,
						  sizeof(msg)), 0);
	assert_int_equal(c[0].hdr.revision, 4);
	assert_false(c[0].succeeded || c[1].succeeded || c[2].succeeded);
	assert_true(held[0] && !held[1] && held[2]); /* only h00005's compare failed */
	assert_string_equal(c[1].kv.host, "h00005");
	assert_int_equal(c[1].kv.state, MTC_ETCD_UNLOCKED);
	assert_int_equal(c[1].kv.mod_revision, 3);
	assert_int_equal(c[2].kv.state, MTC_ETCD_DELETED);
	/* A kv of another host where h00007's was due: no key of h00007's, not held. */
	static const char foreign[] = "{" B_HDR("4") ",\"responses\":[" B_KV("DA=", "2", UNLOCKED) ","
		B_KV("DU=", "3", UNLOCKED) "," B_KV("Dg=", "3", UNLOCKED) "]}";
	assert_int_equal(mtc_etcd_parse_cas_batch(foreign, strlen(foreign), "/mtc/admin/", req, 3, c, held, msg,
						  sizeof(msg)), 0);
	assert_true(held[0] && !held[1] && !held[2]);
	assert_int_equal(c[2].kv.state, MTC_ETCD_INVALID);
	/* A correction to "unlocked" also compares the value: it can never
	 * turn a lock into an unlock, even where a restored history reuses
	 * the revision (h00000 "locked" at 2 here: answered, not held). */
	static const char relock[] = "{" B_HDR("4") ",\"responses\":[" B_KV("DA=", "2", "bG9ja2Vk") ","
		B_KV("DU=", "3", UNLOCKED) ",{\"response_range\":{\"header\":{\"revision\":\"4\"}}}]}";
	req[0].locked = false;
	body = mtc_etcd_cas_batch_body("/mtc/admin/", req, 3);
	assert_non_null(strstr(body, B_VAL("DA=")));
	assert_null(strstr(body, B_VAL("DU=")));
	free(body);
	assert_int_equal(mtc_etcd_parse_cas_batch(relock, strlen(relock), "/mtc/admin/", req, 3, c, held, msg,
						  sizeof(msg)), 0);
	assert_true(!held[0] && !held[1] && held[2]);
	req[0].locked = true;
	req[1].mod_revision = 3;
	assert_int_equal(mtc_etcd_parse_cas_batch(won, strlen(won), "/mtc/admin/", req, 3, c, held, msg, sizeof(msg)), 0);
	for (int i = 0; i < 3; i++)
		assert_true(c[i].succeeded && c[i].hdr.revision == 5 && !held[i]);
	/* Not as many responses as requests; an error reply; bad batches. */
	assert_int_equal(mtc_etcd_parse_cas_batch(won, strlen(won), "/mtc/admin/", req, 2, c, held, msg, sizeof(msg)),
			 -EBADMSG);
	assert_int_equal(mtc_etcd_parse_cas_batch(dup, strlen(dup), "/mtc/admin/", req, 3, c, held, msg, sizeof(msg)),
			 -EIO);
	assert_string_equal(msg, "etcdserver: duplicate key given in txn request");
	req[2].host = "h00000";
	assert_null(mtc_etcd_cas_batch_body("/mtc/admin/", req, 3)); /* etcd would refuse it */
	assert_null(mtc_etcd_cas_batch_body("/mtc/admin/", req, 0));
	assert_null(mtc_etcd_cas_batch_body("/mtc/admin/", req, MTC_ETCD_BATCH_MAX + 1));
}

/* What the operator is told after a write etcd answered. */
static void test_put_answer(void **state)
{
	static const struct {
		bool lock, unclear, succeeded;
		mtc_etcd_state now;
		int64_t now_rev, newest;
		int r;
		const char *want;
	} t[] = {
		{ true, false, true, 0, 0, 9, 0, "committed at etcd revision 9" },
		{ true, true, true, 0, 0, 9, 0, "committed at etcd revision 9" },
		/* a put older than one already seen: not answered as current */
		{ false, false, true, 0, 0, 12, 0, "committed at etcd revision 9; changed since by another agent (revision 12)" },
		{ true, false, false, MTC_ETCD_UNLOCKED, 8, 0, -EAGAIN, "refused: node-1 was changed by another agent (now unlocked at etcd revision 8); not locked" },
		{ true, false, false, MTC_ETCD_DELETED, 0, 0, -EAGAIN, "refused: node-1 was changed by another agent (now missing" },
		{ true, false, false, MTC_ETCD_LOCKED, 8, 0, 0, "etcd holds locked at revision 8 (set by another agent)" },
		/* the first try timed out and may have committed */
		{ true, true, false, MTC_ETCD_LOCKED, 8, 0, 0, "etcd holds locked at revision 8 (this request after a try" },
		{ false, true, false, MTC_ETCD_LOCKED, 8, 0, -EAGAIN, "unknown: etcd answered late or not at all, and node-1 is now locked at etcd revision 8; check `mtcctl list`" },
	};
	char why[300];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mtc_etcd_cas c = { .succeeded = t[i].succeeded, .hdr = { .revision = 9 },
				   .kv = { .state = t[i].now, .mod_revision = t[i].now_rev } };

		assert_int_equal(mtc_etcd_put_answer("node-1", t[i].lock, t[i].unclear, &c, t[i].newest, why, sizeof(why)),
				 t[i].r);
		if (strncmp(why, t[i].want, strlen(t[i].want)) != 0)
			fail_msg("case %zu: \"%s\", want \"%s...\"", i, why, t[i].want);
	}
}

/* Paged reads: a limit, the next page from the last key plus a NUL, every
 * page at the first page's revision. */
static void test_paged_range(void **state)
{
	/* captured: limit 2 over /mtc/admin/{a,b,c,d} */
	static const char page[] = "{" CAP_HDR("7") ",\"kvs\":[{\"key\":\"L210Yy9hZG1pbi9h\",\"create_revision\":\"4\","
				   "\"mod_revision\":\"4\",\"version\":\"1\",\"value\":\"bG9ja2Vk\"},{\"key\":"
				   "\"L210Yy9hZG1pbi9i\",\"create_revision\":\"5\",\"mod_revision\":\"5\",\"version\":\"1\","
				   "\"value\":\"bG9ja2Vk\"}],\"more\":true,\"count\":\"4\"}";
	static const char last[] = "{" CAP_HDR("7") ",\"kvs\":[{\"key\":\"L210Yy9hZG1pbi9k\",\"mod_revision\":\"7\","
				   "\"value\":\"bG9ja2Vk\"}],\"count\":\"4\"}";
	mtc_etcd_result r;
	char msg[128], *s;
	json_t *j;

	(void)state;
	assert_int_equal(mtc_etcd_parse_range(page, strlen(page), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_true(r.more);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.next_key_len, strlen("/mtc/admin/b") + 1);
	assert_memory_equal(r.next_key, "/mtc/admin/b\0", r.next_key_len);
	s = mtc_etcd_range_page_body("/mtc/admin/", r.next_key, r.next_key_len, 500, r.revision, false);
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "key"), "L210Yy9hZG1pbi9iAA=="); /* "/mtc/admin/b\0" */
	assert_string_equal(field(j, "range_end"), K_END);
	assert_string_equal(field(j, "limit"), "500");
	assert_string_equal(field(j, "revision"), "7");
	json_decref(j);
	free(s);
	mtc_etcd_result_free(&r);
	assert_int_equal(mtc_etcd_parse_range(last, strlen(last), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_false(r.more);
	assert_null(r.next_key);
	mtc_etcd_result_free(&r);
	/* the first page starts at the prefix; a key outside it is refused */
	s = mtc_etcd_range_page_body("/mtc/admin/", "/other", 6, 10, 0, true);
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "key"), K_PREFIX);
	assert_true(json_is_true(json_object_get(j, "keys_only")));
	json_decref(j);
	free(s);
	assert_null(mtc_etcd_range_page_body("/mtc/admin/", NULL, 0, 0, 0, false));
	assert_null(mtc_etcd_range_page_body("/mtc/admin/", NULL, 0, 10, -1, false));
}

/* Every reply's header against what was seen: a restore from a snapshot
 * (revision lower than one etcd had committed before the request was
 * sent), a rebuilt cluster (another cluster_id). */
static void test_header_check(void **state)
{
	static const char watch[] = "{\"result\":{" CAP_HDR("7") ",\"created\":true}}";
	static const struct {
		uint64_t base_cluster;
		int64_t base_rev;
		uint64_t cluster;
		int64_t rev;
		mtc_etcd_hdr_verdict want;
	} t[] = {
		{ 0, 0, 5, 3, MTC_ETCD_HDR_OK },           /* first reply */
		{ 5, 3, 5, 3, MTC_ETCD_HDR_OK },           /* same revision */
		{ 5, 3, 5, 9, MTC_ETCD_HDR_OK },           /* forward */
		{ 5, 40, 5, 39, MTC_ETCD_HDR_BACKWARDS },  /* restored one revision back */
		{ 5, 40, 5, 2, MTC_ETCD_HDR_BACKWARDS },   /* restored from an old snapshot */
		{ 5, 40, 6, 41, MTC_ETCD_HDR_NEW_CLUSTER }, /* rebuilt, even ahead */
		{ 5, 40, 6, 2, MTC_ETCD_HDR_NEW_CLUSTER },
		{ 5, 40, 0, 40, MTC_ETCD_HDR_OK },         /* no cluster_id (a watch's compaction cancel) */
		{ 5, 40, 5, 0, MTC_ETCD_HDR_OK },          /* no revision */
	};
	mtc_etcd_header h;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		h = (mtc_etcd_header){ .cluster_id = t[i].cluster, .revision = t[i].rev };
		assert_int_equal(mtc_etcd_header_check(t[i].base_cluster, t[i].base_rev, &h), t[i].want);
	}
	assert_int_equal(mtc_etcd_parse_header(watch, strlen(watch), &h), 0);
	assert_int_equal(h.revision, 7);
	assert_true(h.cluster_id == 2037210783374497686ULL);
	assert_true(h.member_id == 13195394291058371180ULL);
	assert_int_equal(mtc_etcd_parse_header("{}", 2, &h), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_header("x", 1, &h), -EBADMSG);
}

static void test_watch_and_revisions(void **state)
{
	static const char created[] = "{\"result\":{" HDR("3") ",\"created\":true}}";
	static const char events[] =
		"{\"result\":{" HDR("3") ",\"events\":[{\"kv\":{\"key\":\"" K_NODE1 "\",\"create_revision\":\"2\","
		"\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"" V_LOCKED "\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\""
		K_NODE1 "\",\"mod_revision\":\"3\"}}]}}";
	static const char compacted[] = "{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,"
					"\"compact_revision\":\"3\"}}";
	mtc_etcd_result r;
	char msg[128];
	int64_t next = 2;

	(void)state;
	assert_int_equal(mtc_etcd_parse_watch(created, strlen(created), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_true(r.created);
	assert_int_equal(r.n, 0);
	/* The created reply's header is the current revision, not what was
	 * sent: the resume point does not move. */
	assert_int_equal(mtc_etcd_next_revision(next, &r), 2);
	mtc_etcd_result_free(&r);

	assert_int_equal(mtc_etcd_parse_watch(events, strlen(events), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.kv[0].state, MTC_ETCD_LOCKED);
	assert_int_equal(r.kv[1].state, MTC_ETCD_DELETED);
	assert_int_equal(r.kv[1].mod_revision, 3);
	next = mtc_etcd_next_revision(next, &r);
	assert_int_equal(next, 4); /* one past the newest seen */
	/* Never backwards: replaying older events keeps the resume point. */
	assert_int_equal(mtc_etcd_next_revision(10, &r), 10);
	mtc_etcd_result_free(&r);


	assert_int_equal(mtc_etcd_parse_watch(compacted, strlen(compacted), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_true(r.canceled);
	assert_int_equal(r.compact_revision, 3);
	mtc_etcd_result_free(&r);
	/* A cancel for any other reason (permission denied, no leader with
	 * hasleader): canceled, no compact_revision; the stream ends. */
	static const char denied[] = "{\"result\":{" CAP_HDR("9") ",\"canceled\":true,\"cancel_reason\":"
				     "\"etcdserver: permission denied\"}}";
	assert_int_equal(mtc_etcd_parse_watch(denied, strlen(denied), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_true(r.canceled);
	assert_int_equal(r.compact_revision, 0);
	assert_int_equal(r.hdr.revision, 9);
	mtc_etcd_result_free(&r);

	/* cmdseq: the mod_revision, clamped to what the wire carries. */
	assert_int_equal(mtc_etcd_cmdseq(0), 0);
	assert_int_equal(mtc_etcd_cmdseq(-5), 0);
	assert_int_equal(mtc_etcd_cmdseq(77), 77);
	assert_int_equal(mtc_etcd_cmdseq((int64_t)UINT32_MAX + 9), UINT32_MAX);
}

/* A progress notification (etcd sends one to a synced watch only): every
 * event up to its revision was sent, so the watch resumes past it. */
static void test_watch_progress(void **state)
{
	static const char progress[] = "{\"result\":{" HDR("9") "}}";
	static const char created[] = "{\"result\":{" HDR("9") ",\"created\":true}}";
	static const char none[] = "{\"result\":{" HDR("9") ",\"events\":[{\"kv\":{\"key\":\"L210Yy9vdGhlci94\","
				   "\"mod_revision\":\"8\"}}]}}"; /* events, none of ours */
	mtc_etcd_result r;
	char msg[128];

	(void)state;
	assert_int_equal(mtc_etcd_parse_watch(progress, strlen(progress), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_true(r.progress);
	assert_int_equal(mtc_etcd_next_revision(4, &r), 10);
	assert_int_equal(mtc_etcd_next_revision(12, &r), 12); /* never back */
	mtc_etcd_result_free(&r);
	assert_int_equal(mtc_etcd_parse_watch(created, strlen(created), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_false(r.progress);
	assert_int_equal(mtc_etcd_next_revision(4, &r), 4);
	mtc_etcd_result_free(&r);
	assert_int_equal(mtc_etcd_parse_watch(none, strlen(none), "/mtc/admin/", &r, msg, sizeof(msg)), 0);
	assert_false(r.progress);
	assert_int_equal(mtc_etcd_next_revision(4, &r), 4);
	mtc_etcd_result_free(&r);
}

static void test_config(void **state)
{
	mtc_config cfg;
	conf_errors errs = { 0 };

	(void)state;
	assert_int_equal(mtc_config_load_string(&cfg, "", &errs), 0);
	assert_int_equal(cfg.store, MTC_STORE_FILE); /* default unchanged */
	assert_string_equal(cfg.etcd_prefix, "/mtc/admin/");
	assert_int_equal(mtc_config_load_string(&cfg, "[agent]\nstore = etcd\n[etcd]\nendpoints = http://a:1,http://b:2\n",
						&errs), 0);
	assert_int_equal(cfg.store, MTC_STORE_ETCD);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[agent]\nstore = etcd\n[etcd]\nprefix =\n", &errs), -EINVAL);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[agent]\nstore = zookeeper\n", &errs), -EINVAL);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[mgmt]\nagent_address = 10.0.0.1, 10.0.0.2\n", &errs), 0);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[mgmt]\nagent_address = 10.0.0.1,10.0.0.2,10.0.0.3\n", &errs),
			 -EINVAL);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[mgmt]\nagent_address = 10.0.0.1,nope\n", &errs), -EINVAL);
}

/* Replies of etcd 3.4.23's gateway with auth enabled (captured with curl,
 * issue 22): authenticate as mtc; a wrong password or unknown user (HTTP
 * 400); a user without a role (403); an expired or forgotten token (401);
 * no token at all (400); authentication off (412); a watch created with
 * an expired token and one of a user without a role (HTTP 200, canceled). */
#define AUTH_OK "{" HDR("1") ",\"token\":\"YeBKBhQjUjmkydGK.15\"}"
#define AUTH_BAD "{\"error\":\"etcdserver: authentication failed, invalid user ID or password\",\"message\":\"etcdserver: authentication failed, invalid user ID or password\",\"code\":3}"
#define DENIED "{\"error\":\"etcdserver: permission denied\",\"message\":\"etcdserver: permission denied\",\"code\":7}"
#define BAD_TOKEN "{\"error\":\"etcdserver: invalid auth token\",\"message\":\"etcdserver: invalid auth token\",\"code\":16}"
#define NO_USER "{\"error\":\"etcdserver: user name is empty\",\"message\":\"etcdserver: user name is empty\",\"code\":3}"
#define AUTH_OFF "{\"error\":\"etcdserver: authentication is not enabled\",\"message\":\"etcdserver: authentication is not enabled\",\"code\":9}"
#define WATCH_CANCEL(why) "{\"result\":{" HDR("1") ",\"watch_id\":\"-1\",\"created\":true,\"canceled\":true,\"cancel_reason\":\"rpc error: code = " why "\"}}"

static void test_auth_body(void **state)
{
	char buf[128];
	json_t *j;

	(void)state;
	assert_true(mtc_etcd_auth_body("mtc", "p\"w\\x\n\x01", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"name\":\"mtc\",\"password\":\"p\\\"w\\\\x\\u000a\\u0001\"}");
	j = json_loads(buf, 0, NULL);
	assert_string_equal(field(j, "password"), "p\"w\\x\n\x01"); /* what etcd reads back */
	assert_string_equal(field(j, "name"), "mtc");
	json_decref(j);
	assert_int_equal(mtc_etcd_auth_body("mtc", "0123456789", buf, 38), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(mtc_etcd_auth_body("mtc", "0123456789", buf, 39), 38);
	assert_int_equal(mtc_etcd_auth_body("", "x", buf, sizeof(buf)), -EINVAL);
}

static void test_auth_replies(void **state)
{
	static const struct {
		const char *reply;
		mtc_etcd_auth_verdict want;
		const char *msg;
	} rows[] = {
		{ AUTH_BAD, MTC_ETCD_AUTH_FAILED, "etcdserver: authentication failed, invalid user ID or password" },
		{ DENIED, MTC_ETCD_AUTH_DENIED, "etcdserver: permission denied" },
		{ BAD_TOKEN, MTC_ETCD_AUTH_TOKEN, "etcdserver: invalid auth token" },
		{ NO_USER, MTC_ETCD_AUTH_TOKEN, "etcdserver: user name is empty" },
		{ AUTH_OFF, MTC_ETCD_AUTH_DISABLED, "etcdserver: authentication is not enabled" },
		{ WATCH_CANCEL("Unauthenticated desc = etcdserver: invalid auth token"), MTC_ETCD_AUTH_TOKEN,
		  "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token" },
		{ WATCH_CANCEL("PermissionDenied desc = etcdserver: permission denied"), MTC_ETCD_AUTH_DENIED,
		  "rpc error: code = PermissionDenied desc = etcdserver: permission denied" },
		{ "{" HDR("7") "}", MTC_ETCD_AUTH_NOT, "" }, /* a range of nothing */
		{ "{\"result\":{" HDR("1") ",\"created\":true}}", MTC_ETCD_AUTH_NOT, "" },
		{ "{\"error\":\"etcdserver: no leader\",\"code\":14}", MTC_ETCD_AUTH_NOT, "etcdserver: no leader" },
		{ "not json", MTC_ETCD_AUTH_NOT, "" },
	};
	char msg[128], token[32];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(mtc_etcd_auth_error(rows[i].reply, strlen(rows[i].reply), msg, sizeof(msg)), rows[i].want);
		assert_string_equal(msg, rows[i].msg);
	}
	assert_int_equal(mtc_etcd_auth_error(NULL, 0, msg, sizeof(msg)), MTC_ETCD_AUTH_NOT);
	assert_int_equal(mtc_etcd_parse_auth(AUTH_OK, strlen(AUTH_OK), token, sizeof(token), msg, sizeof(msg)), 0);
	assert_string_equal(token, "YeBKBhQjUjmkydGK.15");
	assert_int_equal(mtc_etcd_parse_auth(AUTH_OK, strlen(AUTH_OK), token, 19, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_auth(AUTH_BAD, strlen(AUTH_BAD), token, sizeof(token), msg, sizeof(msg)), -EIO);
	assert_string_equal(msg, "etcdserver: authentication failed, invalid user ID or password");
	assert_int_equal(mtc_etcd_parse_auth("{" HDR("1") "}", strlen("{" HDR("1") "}"), token, sizeof(token), msg,
					     sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_auth("{\"token\":\"a\\nb\"}", 15, token, sizeof(token), msg, sizeof(msg)),
			 -EBADMSG); /* a header line of its own */
}

static void test_auth_config(void **state)
{
	mtc_config cfg;
	conf_errors errs = { 0 };

	(void)state;
	assert_int_equal(mtc_config_load_string(&cfg, "[etcd]\nuser = mtc\n", &errs), -EINVAL);
	assert_non_null(strstr(errs.text, "[etcd] user is set but [etcd] password_file is not"));
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[etcd]\npassword_file = /etc/mtc/etcd.pw\n", &errs), -EINVAL);
	assert_non_null(strstr(errs.text, "[etcd] password_file is set but [etcd] user is not"));
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(mtc_config_load_string(&cfg, "[etcd]\nuser = mtc\npassword_file = /etc/mtc/etcd.pw\n", &errs),
			 0);
	assert_string_equal(cfg.etcd_user, "mtc");
}

/* path with text (len bytes) and mode; the password read, or -errno. */
static int password_of(const char *path, const char *text, size_t len, mode_t mode, char *pw, size_t size)
{
	char msg[400];
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return mtc_password_load(path, pw, size, msg, sizeof(msg));
}

static void test_password_file(void **state)
{
	char dir[] = "/tmp/test_mtc_store.XXXXXX", path[64], link[80], pw[MTC_PASSWORD_MAX], msg[400];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);
	assert_int_equal(password_of(path, "s3cret\n", 7, 0600, pw, sizeof(pw)), 6);
	assert_string_equal(pw, "s3cret");
	assert_int_equal(password_of(path, "s3cret\r\n", 8, 0400, pw, sizeof(pw)), 6);
	assert_int_equal(password_of(path, "s3cret", 6, 0600, pw, sizeof(pw)), 6); /* no newline */
	assert_int_equal(password_of(path, "s3cret\n", 7, 0640, pw, sizeof(pw)), -EPERM);
	assert_string_equal(pw, "");
	assert_int_equal(password_of(path, "s3cret\n", 7, 0604, pw, sizeof(pw)), -EPERM);
	assert_int_equal(mtc_password_load(path, pw, sizeof(pw), msg, sizeof(msg)), -EPERM);
	assert_non_null(strstr(msg, "has mode 0604: it must not be accessible by group or others (chmod 600 "));
	assert_int_equal(password_of(path, "\n", 1, 0600, pw, sizeof(pw)), -EINVAL);
	assert_int_equal(password_of(path, "", 0, 0600, pw, sizeof(pw)), -EINVAL);
	assert_int_equal(password_of(path, "a\nb\n", 4, 0600, pw, sizeof(pw)), -EINVAL);
	assert_int_equal(password_of(path, "a\0b\n", 4, 0600, pw, sizeof(pw)), -EINVAL);
	assert_int_equal(password_of(path, "0123456789\n", 11, 0600, pw, 8), -EINVAL); /* too long */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(password_of(path, "s3cret\n", 7, 0600, pw, sizeof(pw)), 6);
	assert_int_equal(mtc_password_load(link, pw, sizeof(pw), msg, sizeof(msg)), -ELOOP);
	unlink(link);
	assert_int_equal(mkfifo(link, 0600), 0);
	assert_true(mtc_password_load(link, pw, sizeof(pw), msg, sizeof(msg)) < 0); /* never waited on */
	unlink(link);
	snprintf(link, sizeof(link), "%s/missing", dir);
	assert_int_equal(mtc_password_load(link, pw, sizeof(pw), msg, sizeof(msg)), -ENOENT);
	unlink(path);
	rmdir(dir);
}

/* Health from the watch (no periodic read): named rows over the three
 * times the store keeps, bound 1.5 s, stale 25 s, now = 100 s. */
static void test_watch_judge(void **state)
{
	static const struct {
		const char *what;
		mtc_etcd_watch_clock c;
		mtc_etcd_watch_verdict want;
	} t[] = {
		{ "a stream delivering", { 99000, 0, 50000 }, MTC_ETCD_WATCH_ALIVE },
		{ "quiet default etcd: a message 9 s ago, the stream alive", { 91000, 0, 0 }, MTC_ETCD_WATCH_ALIVE },
		{ "a quiet stream restarting (ended 0.3 s ago)", { 90000, 99700, 0 }, MTC_ETCD_WATCH_ALIVE },
		{ "ended 1.49 s ago, no new stream yet", { 98000, 98510, 0 }, MTC_ETCD_WATCH_ALIVE },
		{ "ended 1.5 s ago, no stream said created", { 98000, 98500, 0 }, MTC_ETCD_WATCH_DOWN },
		{ "every member refusing for 10 s", { 89000, 90000, 0 }, MTC_ETCD_WATCH_DOWN },
		{ "a stopped cluster: the stream ended after 10 s silent, 2 s ago", { 88000, 98000, 0 },
		  MTC_ETCD_WATCH_DOWN },
		{ "ended long ago, a full read 1 s ago began a fresh bound", { 80000, 85000, 99000 },
		  MTC_ETCD_WATCH_ALIVE },
		{ "ended, the read 2 s ago and nothing since", { 80000, 85000, 98000 }, MTC_ETCD_WATCH_DOWN },
		{ "a read older than the end does not help", { 97000, 98000, 97500 }, MTC_ETCD_WATCH_DOWN },
		{ "silent 25.001 s: stale, reads decide", { 74999, 0, 99000 }, MTC_ETCD_WATCH_STALE },
		{ "silent exactly 25 s: not yet", { 75000, 0, 0 }, MTC_ETCD_WATCH_ALIVE },
		{ "never a message (before the first stream)", { 0, 0, 99000 }, MTC_ETCD_WATCH_STALE },
		{ "stale wins over down", { 70000, 71000, 0 }, MTC_ETCD_WATCH_STALE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mtc_etcd_watch_verdict v = mtc_etcd_watch_judge(&t[i].c, 100000, 1500, 25000);

		if (v != t[i].want)
			fail_msg("%s: verdict %d, want %d", t[i].what, (int)v, (int)t[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_range_reply),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_cas_batch),
		cmocka_unit_test(test_put_answer),
		cmocka_unit_test(test_paged_range),
		cmocka_unit_test(test_header_check),
		cmocka_unit_test(test_watch_judge),
		cmocka_unit_test(test_watch_and_revisions),
		cmocka_unit_test(test_watch_progress),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_auth_body),
		cmocka_unit_test(test_auth_replies),
		cmocka_unit_test(test_auth_config),
		cmocka_unit_test(test_password_file),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
