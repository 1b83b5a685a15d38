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
	s = mtc_etcd_range_body("/mtc/admin/");
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "key"), K_PREFIX);
	assert_string_equal(field(j, "range_end"), K_END);
	json_decref(j);
	free(s);

	s = mtc_etcd_put_body("/mtc/admin/", "node-1", true);
	j = json_loads(s, 0, NULL);
	assert_string_equal(field(j, "key"), K_NODE1);
	assert_string_equal(field(j, "value"), V_LOCKED);
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
	json_decref(j);
	free(s);

	/* Refused: empty or long prefix, a host name that is not one. */
	assert_null(mtc_etcd_range_body(""));
	assert_null(mtc_etcd_put_body("/p/", "bad host", true));
	assert_null(mtc_etcd_put_body("/p/", "../x", false));
	assert_null(mtc_etcd_get_body("/p/", "bad host"));
	assert_null(mtc_etcd_watch_body("/p/", -1));
	char longp[MTC_ETCD_PREFIX_MAX + 2];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_null(mtc_etcd_range_body(longp));
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
	char msg[128];
	int64_t rev = 0;

	(void)state;
	assert_int_equal(mtc_etcd_parse_range(err, strlen(err), "/p/", &r, msg, sizeof(msg)), -EIO);
	assert_string_equal(msg, "illegal base64 data at input byte 0");
	assert_int_equal(mtc_etcd_parse_put(err, strlen(err), &rev, msg, sizeof(msg)), -EIO);
	assert_int_equal(mtc_etcd_parse_range("nope", 4, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_range("[1]", 3, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_range("{\"kvs\":[]}", 10, "/p/", &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(mtc_etcd_parse_put("{}", 2, &rev, msg, sizeof(msg)), -EBADMSG);
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

static void test_correction_txn(void **state)
{
	static const char won[] = "{" HDR("3") ",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":"
				  "{\"revision\":\"3\"}}}]}";
	static const char lost[] = "{" HDR("3") "}"; /* compare failed: "succeeded" omitted (false) */
	char *s = mtc_etcd_reput_body("/mtc/admin/", "node-1", true, 2), msg[128];
	json_t *j = json_loads(s, 0, NULL), *cmp = json_array_get(json_object_get(j, "compare"), 0);
	int64_t rev = 0;
	bool ok = false;

	(void)state;
	assert_string_equal(field(cmp, "key"), K_NODE1);
	assert_string_equal(field(cmp, "target"), "MOD");
	assert_string_equal(field(cmp, "result"), "EQUAL");
	assert_string_equal(field(cmp, "mod_revision"), "2");
	assert_string_equal(field(json_array_get(json_object_get(j, "success"), 0), "request_put.value"), V_LOCKED);
	json_decref(j);
	free(s);
	assert_null(mtc_etcd_reput_body("/mtc/admin/", "node-1", true, 0)); /* never read: nothing to re-put */

	assert_int_equal(mtc_etcd_parse_txn(won, strlen(won), &ok, &rev, msg, sizeof(msg)), 0);
	assert_true(ok);
	assert_int_equal(rev, 3);
	assert_int_equal(mtc_etcd_parse_txn(lost, strlen(lost), &ok, &rev, msg, sizeof(msg)), 0);
	assert_false(ok);
}

static void test_put_reply(void **state)
{
	static const char text[] = "{" HDR("12") "}";
	char msg[128];
	int64_t rev = 0;

	(void)state;
	assert_int_equal(mtc_etcd_parse_put(text, strlen(text), &rev, msg, sizeof(msg)), 0);
	assert_int_equal(rev, 12); /* a single put: the key's new mod_revision */
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

	/* cmdseq: the mod_revision, clamped to what the wire carries. */
	assert_int_equal(mtc_etcd_cmdseq(0), 0);
	assert_int_equal(mtc_etcd_cmdseq(-5), 0);
	assert_int_equal(mtc_etcd_cmdseq(77), 77);
	assert_int_equal(mtc_etcd_cmdseq((int64_t)UINT32_MAX + 9), UINT32_MAX);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_range_reply),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_put_reply),
		cmocka_unit_test(test_correction_txn),
		cmocka_unit_test(test_watch_and_revisions),
		cmocka_unit_test(test_config),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
