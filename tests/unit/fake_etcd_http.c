/* The etcd store's transport (mtc_store_etcd.h: etcd_post, etcd_stream,
 * etcd_http_*) faked for tests/unit/test_mtc_store_etcd.c: each request
 * recorded and decoded, answered by the first matching rule or by the
 * tiny etcd of fake_etcd.c; the watch stream fed the lines the test sends. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_etcd_int.h"
#include "mtc_store_etcd.h"

#define HOLD_MS 5000
#define STREAM_MAX_MS 60000

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Under F.mu: until a broadcast or 20 ms (callers poll something else too). */
static void wait_a_little(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&F.cv, &F.mu, &ts);
}

/* A key's bytes as fake_req.key shows them: a trailing NUL as "\\0". */
static void key_text(json_t *b, char *out, size_t size)
{
	char raw[96];
	size_t n = fake_unb64(b, raw, sizeof(raw));

	snprintf(out, size, "%s%s", raw, n > 0 && strlen(raw) < n ? "\\0" : "");
}

static const char *host_of(json_t *b, char *buf, size_t size)
{
	size_t n = fake_unb64(b, buf, size), plen = strlen(FAKE_PREFIX);

	return n > plen && strncmp(buf, FAKE_PREFIX, plen) == 0 ? buf + plen : "";
}

static void decode_txn(json_t *j, fake_req *q)
{
	json_t *cmp = json_object_get(j, "compare"), *ok = json_object_get(j, "success");
	char buf[128];

	for (size_t i = 0; i < json_array_size(cmp) && q->n_cmp < FAKE_CMP_MAX; i++) {
		json_t *c = json_array_get(cmp, i), *put = json_object_get(json_array_get(ok, i), "request_put");

		if (i == 0)
			key_text(json_object_get(c, "key"), q->key, sizeof(q->key));
		snprintf(q->cmp_host[q->n_cmp], sizeof(q->cmp_host[0]), "%.63s", host_of(json_object_get(c, "key"), buf,
											sizeof(buf)));
		q->cmp_rev[q->n_cmp] = fake_int_of(json_object_get(c, "mod_revision"));
		fake_unb64(json_object_get(put, "value"), q->put_value[q->n_cmp], sizeof(q->put_value[0]));
		q->n_cmp++;
	}
}

/* The request decoded into q, and recorded. */
static json_t *record(int ep, const char *path, const char *body, fake_req *q)
{
	json_t *j = json_loads(body, 0, NULL);

	*q = (fake_req){ .ep = ep, .limit = -1, .revision = -1, .start_revision = -1 };
	snprintf(q->path, sizeof(q->path), "%s", path);
	if (strcmp(path, "/v3/kv/range") == 0) {
		key_text(json_object_get(j, "key"), q->key, sizeof(q->key));
		q->range_end = json_object_get(j, "range_end") != NULL;
		q->limit = fake_int_of(json_object_get(j, "limit"));
		q->revision = fake_int_of(json_object_get(j, "revision"));
		q->keys_only = json_is_true(json_object_get(j, "keys_only"));
	} else if (strcmp(path, "/v3/kv/txn") == 0) {
		decode_txn(j, q);
	} else if (strcmp(path, "/v3/watch") == 0) {
		q->start_revision = fake_int_of(json_object_get(json_object_get(j, "create_request"), "start_revision"));
	}
	pthread_mutex_lock(&F.mu);
	if (F.n_req < REQ_MAX)
		F.req[F.n_req++] = *q;
	pthread_mutex_unlock(&F.mu);
	return j;
}

static bool field_is(const char *want, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return !want || strcmp(want, b) == 0;
}

static bool rule_matches(const fake_rule *r, const fake_req *q)
{
	return (!r->path || strcmp(r->path, q->path) == 0) && (!r->key || strcmp(r->key, q->key) == 0) &&
	       field_is(r->revision, q->revision) && field_is(r->limit, q->limit) &&
	       field_is(r->cmp_rev, q->n_cmp ? q->cmp_rev[0] : -1) && field_is(r->ep, q->ep);
}

/* The first matching rule with uses left (held until fake_release()). */
static bool take_rule(const fake_req *q, fake_rule *ret)
{
	bool found = false;
	uint64_t until = mono_ms() + HOLD_MS;

	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < F.n_rule && !found; i++) {
		if (!rule_matches(&F.rule[i], q) || (F.rule[i].uses >= 0 && F.used[i] >= (F.rule[i].uses ? F.rule[i].uses : 1)))
			continue;
		F.used[i]++;
		*ret = F.rule[i];
		found = true;
	}
	while (found && ret->hold && !F.released && mono_ms() < until)
		wait_a_little();
	pthread_mutex_unlock(&F.mu);
	return found;
}

/* Under F.mu: the range q asks for, as etcd answers it (no history: the
 * current keys at any revision). */
static int serve_range(const fake_req *q, json_t *j, char **reply)
{
	char from[96], key[128];
	size_t from_len = fake_unb64(json_object_get(j, "key"), from, sizeof(from));
	json_t *kvs = json_array(), *out;
	int64_t n = 0, count = 0;
	bool big = false;

	for (int i = 0; i < F.n_kv; i++) {
		size_t klen = (size_t)snprintf(key, sizeof(key), "%s%s", FAKE_PREFIX, F.kv[i].host);
		int c = memcmp(key, from, klen < from_len ? klen : from_len);

		if (q->range_end ? c < 0 || (c == 0 && klen < from_len) : klen != from_len || c != 0)
			continue;
		count++;
		if (q->limit > 0 && n == q->limit)
			continue;
		n++;
		big |= F.kv[i].big && !q->keys_only;
		json_array_append_new(kvs, fake_kv_json(F.kv[i].host, q->keys_only ? NULL : F.kv[i].value, F.kv[i].mod));
	}
	out = json_pack("{s:o, s:o, s:o}", "header", fake_hdr(F.rev, F.cluster), "kvs", kvs, "count", fake_i64(count));
	if (count > n)
		json_object_set_new(out, "more", json_true());
	*reply = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return big ? -EFBIG : 0;
}

static json_t *txn_failed(json_t *j)
{
	json_t *fail = json_object_get(j, "failure"), *resp = json_array();
	char buf[128];

	for (size_t i = 0; i < json_array_size(fail); i++) {
		const fake_kv_t *k = fake_kv_at(host_of(json_object_get(json_object_get(json_array_get(fail, i),
										    "request_range"), "key"), buf, sizeof(buf)), false);
		json_t *rr = json_pack("{s:{s:o}}", "header", "revision", fake_i64(F.rev));

		if (k)
			json_object_set_new(rr, "kvs", json_pack("[o]", fake_kv_json(k->host, k->value, k->mod)));
		json_array_append_new(resp, json_pack("{s:o}", "response_range", rr));
	}
	return resp;
}

/* Under F.mu: every compare holds (a missing key's mod_revision is 0):
 * every put at the next revision; else the failure's ranges. */
static void serve_txn(const fake_req *q, json_t *j, char **reply)
{
	json_t *resp = json_array(), *out;
	bool ok = true;

	for (int i = 0; i < q->n_cmp; i++) {
		const fake_kv_t *k = fake_kv_at(q->cmp_host[i], false);

		ok &= (k ? k->mod : 0) == q->cmp_rev[i];
	}
	if (ok) {
		F.rev++;
		for (int i = 0; i < q->n_cmp; i++) {
			fake_kv_set(q->cmp_host[i], q->put_value[i], F.rev, false);
			json_array_append_new(resp, json_pack("{s:{s:{s:o}}}", "response_put", "header", "revision",
							      fake_i64(F.rev)));
		}
	} else {
		json_decref(resp);
		resp = txn_failed(j);
	}
	out = json_pack("{s:o, s:o}", "header", fake_hdr(F.rev, F.cluster), "responses", resp);
	if (ok)
		json_object_set_new(out, "succeeded", json_true());
	*reply = json_dumps(out, JSON_COMPACT);
	json_decref(out);
}

static int serve(const fake_req *q, json_t *j, char **reply)
{
	int r = 0;

	pthread_mutex_lock(&F.mu);
	if (strcmp(q->path, "/v3/kv/range") == 0)
		r = serve_range(q, j, reply);
	else if (strcmp(q->path, "/v3/kv/txn") == 0)
		serve_txn(q, j, reply);
	else
		r = -EIO; /* 404 */
	pthread_mutex_unlock(&F.mu);
	return r;
}

int etcd_post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
	      size_t errlen)
{
	fake_req q;
	fake_rule rule;
	json_t *j = record(ep, path, body, &q);
	bool ruled = take_rule(&q, &rule);
	char *reply = NULL;
	int r = 0;

	(void)s, (void)timeout_ms;
	if (ruled && rule.reply)
		reply = strdup(rule.reply);
	else if (!ruled || !rule.err || rule.apply)
		r = serve(&q, j, &reply);
	if (ruled && rule.err)
		r = rule.err;
	json_decref(j);
	if (r == 0 && reply && etcd_on_data(reply, 1, strlen(reply), out) != strlen(reply))
		r = -EFBIG;
	free(reply);
	if (r < 0)
		snprintf(err, errlen, "fake member %d: %s", ep, r == -EFBIG ? "reply over 4 MiB" : strerror(-r));
	return r;
}

/* A line as the gateway sends it, in two chunks: false if on_data ended. */
static bool deliver(const char *line, etcd_stream_fn on_data, void *user)
{
	size_t n = strlen(line), half = n / 2;
	char *buf = malloc(n + 2);
	bool ok;

	if (!buf)
		return false;
	memcpy(buf, line, n);
	memcpy(buf + n, "\n", 2);
	ok = on_data(buf, half, user) && on_data(buf + half, n + 1 - half, user);
	free(buf);
	return ok;
}

static int stream_loop(etcd_stream_fn on_data, etcd_stop_fn stop, void *user)
{
	uint64_t until = mono_ms() + STREAM_MAX_MS;

	while (mono_ms() < until) {
		char *line = NULL;
		bool end;
		int err;

		pthread_mutex_lock(&F.mu);
		if (F.n_line) {
			line = F.line[0];
			memmove(F.line, F.line + 1, (size_t)--F.n_line * sizeof(F.line[0]));
		}
		end = !line && F.end;
		err = F.end_err;
		if (!line && !end)
			wait_a_little();
		pthread_mutex_unlock(&F.mu);
		if (line) {
			bool ok = deliver(line, on_data, user);

			free(line);
			if (!ok)
				return 0;
		} else if (end) {
			return err;
		} else if (stop(user)) {
			return 0;
		}
	}
	return -ETIMEDOUT;
}

int etcd_stream(etcd_store *s, int ep, const char *path, const char *body, long idle_s, etcd_stream_fn on_data,
		etcd_stop_fn stop, void *user, char *err, size_t errlen)
{
	fake_req q;
	fake_rule rule;
	int r;

	(void)s, (void)idle_s;
	json_decref(record(ep, path, body, &q));
	if (take_rule(&q, &rule) && rule.err) {
		snprintf(err, errlen, "fake member %d: %s", ep, strerror(-rule.err));
		return rule.err;
	}
	pthread_mutex_lock(&F.mu);
	F.streams++;
	F.open = true;
	F.end = false;
	pthread_mutex_unlock(&F.mu);
	r = stream_loop(on_data, stop, user);
	pthread_mutex_lock(&F.mu);
	F.open = false;
	for (int i = 0; i < F.n_line; i++)
		free(F.line[i]);
	F.n_line = 0;
	pthread_mutex_unlock(&F.mu);
	if (r < 0)
		snprintf(err, errlen, "fake member %d: stream closed by the member", ep);
	return r;
}

int fake_streams(void)
{
	int n;

	pthread_mutex_lock(&F.mu);
	n = F.streams;
	pthread_mutex_unlock(&F.mu);
	return n;
}

bool fake_stream_open(void)
{
	bool o;

	pthread_mutex_lock(&F.mu);
	o = F.open;
	pthread_mutex_unlock(&F.mu);
	return o;
}

void fake_watch_send(const char *line)
{
	pthread_mutex_lock(&F.mu);
	if (F.n_line < LINE_MAX_N)
		F.line[F.n_line++] = strdup(line);
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
}

void fake_stream_end(int err)
{
	pthread_mutex_lock(&F.mu);
	F.end = true;
	F.end_err = err;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
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
