/* The etcd store's token (mtc_store_etcd_auth.c), without etcd or a
 * transport: the password file read at open, one thread authenticating
 * while the others wait for its token (no stampede), a refused token
 * dropped only if it is still the one held, etcd with authentication off,
 * and the authenticate replies (captured from etcd 3.4.23) in words. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtc_store_etcd.h"

static char dir[] = "/tmp/test_etcd_auth.XXXXXX";

static etcd_store *store_with(const char *user, const char *password, mode_t mode, int *ret)
{
	etcd_store *s = calloc(1, sizeof(*s));
	FILE *f;

	assert_non_null(s);
	snprintf(s->cfg.etcd_user, sizeof(s->cfg.etcd_user), "%s", user);
	snprintf(s->cfg.etcd_password_file, sizeof(s->cfg.etcd_password_file), "%s/pw", dir);
	snprintf(s->ep[0], sizeof(s->ep[0]), "http://127.0.0.1:2379");
	s->n_ep = 1;
	f = fopen(s->cfg.etcd_password_file, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", password);
	fclose(f);
	assert_int_equal(chmod(s->cfg.etcd_password_file, mode), 0);
	*ret = etcd_auth_open(s);
	return s;
}

static void store_free(etcd_store *s)
{
	etcd_auth_close(s);
	unlink(s->cfg.etcd_password_file);
	free(s);
}

static etcd_token_verdict token(etcd_store *s, char *buf)
{
	char err[300];
	int r;

	return etcd_auth_token(s, buf, ETCD_TOKEN_MAX, &r, err, sizeof(err));
}

static void test_open(void **state)
{
	char buf[ETCD_TOKEN_MAX], body[128];
	int r;
	etcd_store *s = store_with("", "x", 0600, &r);

	(void)state;
	assert_int_equal(r, 0);
	assert_null(s->auth); /* no user: no token, none sent */
	assert_int_equal(token(s, buf), ETCD_TOKEN_NONE);
	store_free(s);
	s = store_with("mtc", "s3cret", 0644, &r);
	assert_int_equal(r, -EPERM); /* the store does not open */
	store_free(s);
	s = store_with("mtc", "s3cret", 0400, &r);
	assert_int_equal(r, 0);
	assert_string_equal(etcd_auth_user(s), "mtc");
	assert_true(etcd_auth_body(s, body, sizeof(body)) > 0);
	assert_string_equal(body, "{\"name\":\"mtc\",\"password\":\"s3cret\"}");
	store_free(s);
}

static void test_token_lifecycle(void **state)
{
	char buf[ETCD_TOKEN_MAX], why[200];
	int r;
	etcd_store *s = store_with("mtc", "pw", 0600, &r);

	(void)state;
	assert_int_equal(token(s, buf), ETCD_TOKEN_FETCH); /* lazily, at the first request */
	etcd_auth_done(s, 0, "tok.1", "", why, sizeof(why));
	assert_string_equal(why, ""); /* the first: no renewal */
	assert_int_equal(token(s, buf), ETCD_TOKEN_USE);
	assert_string_equal(buf, "tok.1");
	etcd_auth_drop(s, "tok.0", "an older token refused"); /* already renewed: kept */
	assert_int_equal(token(s, buf), ETCD_TOKEN_USE);
	etcd_auth_drop(s, "tok.1", "etcdserver: invalid auth token");
	assert_int_equal(token(s, buf), ETCD_TOKEN_FETCH);
	etcd_auth_drop(s, "", "while another renews: ignored");
	etcd_auth_done(s, -EPERM, NULL, "authentication failed", why, sizeof(why));
	assert_string_equal(why, "etcdserver: invalid auth token");
	assert_int_equal(token(s, buf), ETCD_TOKEN_FETCH); /* a failure is tried again by the next request */
	etcd_auth_done(s, 0, "tok.2", "", why, sizeof(why));
	assert_string_equal(why, "etcdserver: invalid auth token"); /* the renewal says why */
	assert_int_equal(token(s, buf), ETCD_TOKEN_USE);
	assert_string_equal(buf, "tok.2");
	etcd_auth_drop(s, "tok.2", "x");
	assert_int_equal(token(s, buf), ETCD_TOKEN_FETCH);
	etcd_auth_done(s, 0, NULL, "", why, sizeof(why)); /* etcd: authentication is not enabled */
	assert_int_equal(token(s, buf), ETCD_TOKEN_NONE);
	assert_string_equal(buf, "");
	etcd_auth_drop(s, "", "etcdserver: user name is empty"); /* enabled since */
	assert_int_equal(token(s, buf), ETCD_TOKEN_FETCH);
	etcd_auth_done(s, 0, "tok.3", "", why, sizeof(why));
	store_free(s);
}

typedef struct waiter {
	etcd_store *s;
	pthread_t t;
	_Atomic pid_t tid;
	_Atomic bool finished;
	etcd_token_verdict v;
	char buf[ETCD_TOKEN_MAX];
} waiter;

static void *wait_token(void *arg)
{
	waiter *w = arg;

	w->tid = gettid();
	w->v = token(w->s, w->buf);
	w->finished = true;
	return NULL;
}

/* w is asleep (blocked: in etcd_auth_token, waiting) or done. */
static bool settled(const waiter *w)
{
	char path[64], stat[256] = "", *p;
	FILE *f;

	if (w->finished)
		return true;
	if (!w->tid)
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)w->tid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		fclose(f);
	}
	p = strrchr(stat, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Until every waiter is blocked or finished (at most 5 s). */
static void wait_settled(const waiter *w, int n)
{
	for (int ms = 0; ms < 5000; ms++) {
		int k = 0;

		while (k < n && settled(&w[k]))
			k++;
		if (k == n)
			return;
		usleep(1000);
	}
	fail_msg("waiters neither blocked nor finished in 5 s");
}

/* Three threads ask while one authenticates: each waits for it (none is
 * told to authenticate too) and gets its token. */
static void test_no_stampede(void **state)
{
	char buf[ETCD_TOKEN_MAX], why[200];
	waiter w[3];
	int r;
	etcd_store *s = store_with("mtc", "pw", 0600, &r);

	(void)state;
	assert_int_equal(token(s, buf), ETCD_TOKEN_FETCH);
	for (int i = 0; i < 3; i++) {
		w[i] = (waiter){ .s = s };
		assert_int_equal(pthread_create(&w[i].t, NULL, wait_token, &w[i]), 0);
	}
	wait_settled(w, 3); /* each asked while the token was being fetched */
	etcd_auth_done(s, 0, "tok.9", "", why, sizeof(why));
	for (int i = 0; i < 3; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].v, ETCD_TOKEN_USE);
		assert_string_equal(w[i].buf, "tok.9");
	}
	store_free(s);
}

static void test_auth_reply(void **state)
{
	static const char ok[] = "{\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"10276657743932975437\","
				 "\"revision\":\"1\",\"raft_term\":\"2\"},\"token\":\"YeBKBhQjUjmkydGK.15\"}";
	static const char bad[] = "{\"error\":\"etcdserver: authentication failed, invalid user ID or password\","
				  "\"message\":\"etcdserver: authentication failed, invalid user ID or password\",\"code\":3}";
	static const char off[] = "{\"error\":\"etcdserver: authentication is not enabled\",\"message\":\"etcdserver: "
				  "authentication is not enabled\",\"code\":9}";
	char tok[ETCD_TOKEN_MAX], err[400];
	int r;
	etcd_store *s = store_with("mtc", "pw", 0600, &r);

	(void)state;
	assert_int_equal(etcd_auth_reply(s, 0, 200, ok, strlen(ok), tok, sizeof(tok), err, sizeof(err)), 0);
	assert_string_equal(tok, "YeBKBhQjUjmkydGK.15");
	tok[0] = '\0';
	assert_int_equal(etcd_auth_reply(s, 0, 412, off, strlen(off), tok, sizeof(tok), err, sizeof(err)), 0);
	assert_string_equal(tok, ""); /* off: no token */
	assert_int_equal(etcd_auth_reply(s, 0, 400, bad, strlen(bad), tok, sizeof(tok), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "http://127.0.0.1:2379: authentication of etcd user mtc failed (HTTP 400: "
				    "etcdserver: authentication failed, invalid user ID or password): check [etcd] user "
				    "and the password in /tmp/test_etcd_auth."));
	assert_int_equal(etcd_auth_reply(s, 0, 503, "", 0, tok, sizeof(tok), err, sizeof(err)), -EIO);
	assert_string_equal(err, "http://127.0.0.1:2379: authenticating etcd user mtc: HTTP 503: no reply text");
	store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_token_lifecycle),
		cmocka_unit_test(test_no_stampede),
		cmocka_unit_test(test_auth_reply),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return r;
}
