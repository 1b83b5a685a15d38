/* The fake etcd's state (fake_etcd_http.h): its keys, rules, record of
 * requests, and the replies and watch lines as etcd's gateway writes them.
 * fake_etcd_http.c serves the store's requests from it. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "fake_etcd_int.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

fake_state F = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .cluster = FAKE_CLUSTER };

static const char *fake_keep(char *s)
{
	pthread_mutex_lock(&F.mu);
	if (F.n_str < STR_MAX)
		F.str[F.n_str++] = s;
	pthread_mutex_unlock(&F.mu);
	return s;
}

void fake_reset(int64_t rev)
{
	pthread_mutex_lock(&F.mu);
	for (int i = 0; i < F.n_str; i++)
		free(F.str[i]);
	for (int i = 0; i < F.n_line; i++)
		free(F.line[i]);
	F.n_str = F.n_line = F.n_kv = F.n_rule = F.n_req = F.streams = 0;
	F.open = F.end = F.released = false;
	F.rev = rev;
	F.cluster = FAKE_CLUSTER;
	memset(F.used, 0, sizeof(F.used));
	pthread_mutex_unlock(&F.mu);
}

fake_kv_t *fake_kv_at(const char *host, bool add)
{
	int i = 0;

	while (i < F.n_kv && strcmp(F.kv[i].host, host) < 0)
		i++;
	if (i < F.n_kv && strcmp(F.kv[i].host, host) == 0)
		return &F.kv[i];
	if (!add || F.n_kv == KV_MAX)
		return NULL;
	memmove(&F.kv[i + 1], &F.kv[i], (size_t)(F.n_kv - i) * sizeof(F.kv[0]));
	F.n_kv++;
	F.kv[i] = (fake_kv_t){ 0 };
	snprintf(F.kv[i].host, sizeof(F.kv[i].host), "%s", host);
	return &F.kv[i];
}

/* Under mu. */
void fake_kv_set(const char *host, const char *value, int64_t mod, bool big)
{
	fake_kv_t *k = fake_kv_at(host, value != NULL);

	if (!value && k) {
		memmove(k, k + 1, (size_t)(&F.kv[F.n_kv] - k - 1) * sizeof(*k));
		F.n_kv--;
	} else if (k) {
		snprintf(k->value, sizeof(k->value), "%s", value);
		k->mod = mod;
		k->big = big;
	}
	if (mod > F.rev)
		F.rev = mod;
}

void fake_kv(const char *host, const char *value, int64_t mod, bool big)
{
	pthread_mutex_lock(&F.mu);
	fake_kv_set(host, value, mod, big);
	pthread_mutex_unlock(&F.mu);
}

void fake_set_rev(int64_t rev)
{
	pthread_mutex_lock(&F.mu);
	F.rev = rev;
	pthread_mutex_unlock(&F.mu);
}

int64_t fake_rev(void)
{
	int64_t r;

	pthread_mutex_lock(&F.mu);
	r = F.rev;
	pthread_mutex_unlock(&F.mu);
	return r;
}

void fake_set_cluster(uint64_t id)
{
	pthread_mutex_lock(&F.mu);
	F.cluster = id;
	pthread_mutex_unlock(&F.mu);
}

void fake_rule_add(fake_rule r)
{
	pthread_mutex_lock(&F.mu);
	if (F.n_rule < RULE_MAX)
		F.rule[F.n_rule++] = r;
	pthread_mutex_unlock(&F.mu);
}

void fake_release(void)
{
	pthread_mutex_lock(&F.mu);
	F.released = true;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
}

int fake_nreq(void)
{
	int n;

	pthread_mutex_lock(&F.mu);
	n = F.n_req;
	pthread_mutex_unlock(&F.mu);
	return n;
}

fake_req fake_get(int i)
{
	fake_req q = { .ep = -1 };

	pthread_mutex_lock(&F.mu);
	if (i >= 0 && i < F.n_req)
		q = F.req[i];
	pthread_mutex_unlock(&F.mu);
	return q;
}

/* ---- JSON as etcd's gateway writes it: int64 as strings, base64 bytes ---- */

json_t *fake_i64(int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

json_t *fake_b64(const void *p, size_t n)
{
	char buf[256];

	sodium_bin2base64(buf, sizeof(buf), p, n, B64);
	return json_string(buf);
}

/* base64 text into buf (NUL-terminated): the length, or 0. */
size_t fake_unb64(json_t *text, char *buf, size_t size)
{
	const char *t = json_string_value(text);
	size_t len = 0;

	if (!t || sodium_base642bin((unsigned char *)buf, size - 1, t, strlen(t), NULL, &len, NULL, B64) < 0)
		return 0;
	buf[len] = '\0';
	return len;
}

int64_t fake_int_of(json_t *v)
{
	return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : json_integer_value(v);
}

json_t *fake_hdr(int64_t rev, uint64_t cluster)
{
	char c[24];

	snprintf(c, sizeof(c), "%" PRIu64, cluster);
	return json_pack("{s:s, s:s, s:o, s:s}", "cluster_id", c, "member_id", "13195394291058371180", "revision",
			 fake_i64(rev), "raft_term", "2");
}

json_t *fake_kv_json(const char *host, const char *value, int64_t mod)
{
	char key[128];
	json_t *kv;

	snprintf(key, sizeof(key), "%s%s", FAKE_PREFIX, host);
	kv = json_pack("{s:o, s:o, s:o, s:s}", "key", fake_b64(key, strlen(key)), "create_revision", fake_i64(mod > 1 ? mod - 1 : 1),
		       "mod_revision", fake_i64(mod), "version", "1");
	if (value)
		json_object_set_new(kv, "value", fake_b64(value, strlen(value)));
	return kv;
}

static const char *fake_dump_keep(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return fake_keep(s);
}

/* "a=locked@5,b=DELETE@8": kvs (events: watch events). */
static json_t *spec_list(const char *spec, bool events)
{
	json_t *arr = json_array();
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '='), *at = strchr(t, '@');
		bool del = false;

		if (!eq || !at)
			continue;
		*eq = *at = '\0';
		del = strcmp(eq + 1, "DELETE") == 0;
		json_t *kv = fake_kv_json(t, del || strcmp(eq + 1, "-") == 0 ? NULL : eq + 1, strtoll(at + 1, NULL, 10));
		if (!events)
			json_array_append_new(arr, kv);
		else if (del)
			json_array_append_new(arr, json_pack("{s:s, s:o}", "type", "DELETE", "kv", kv));
		else
			json_array_append_new(arr, json_pack("{s:o}", "kv", kv));
	}
	return arr;
}

static uint64_t cur_cluster(void)
{
	uint64_t c;

	pthread_mutex_lock(&F.mu);
	c = F.cluster;
	pthread_mutex_unlock(&F.mu);
	return c;
}

const char *fake_range_page(int64_t rev, bool more, const char *spec)
{
	json_t *j = json_pack("{s:o, s:o, s:s}", "header", fake_hdr(rev, cur_cluster()), "kvs", spec_list(spec, false), "count",
			      "99");

	if (more)
		json_object_set_new(j, "more", json_true());
	return fake_dump_keep(j);
}

static const char *watch_msg(json_t *result)
{
	return fake_dump_keep(json_pack("{s:o}", "result", result));
}

const char *fake_w_created(int64_t rev)
{
	return watch_msg(json_pack("{s:o, s:b}", "header", fake_hdr(rev, cur_cluster()), "created", 1));
}

const char *fake_w_events(int64_t rev, const char *spec)
{
	return watch_msg(json_pack("{s:o, s:o}", "header", fake_hdr(rev, cur_cluster()), "events", spec_list(spec, true)));
}

const char *fake_w_progress(int64_t rev)
{
	return watch_msg(json_pack("{s:o}", "header", fake_hdr(rev, cur_cluster())));
}

/* As captured: the compaction's cancel has no cluster id or revision. */
const char *fake_w_compacted(int64_t compact_rev)
{
	return watch_msg(json_pack("{s:{s:s}, s:b, s:o}", "header", "raft_term", "2", "canceled", 1, "compact_revision",
				   fake_i64(compact_rev)));
}

const char *fake_w_canceled(int64_t rev, const char *reason)
{
	return watch_msg(json_pack("{s:o, s:b, s:s}", "header", fake_hdr(rev, cur_cluster()), "canceled", 1, "cancel_reason",
				   reason));
}

const char *fake_w_put(const char *host, const char *value)
{
	char spec[128];
	int64_t rev;

	pthread_mutex_lock(&F.mu);
	rev = F.rev + 1;
	fake_kv_set(host, value, rev, false);
	F.rev = rev;
	pthread_mutex_unlock(&F.mu);
	snprintf(spec, sizeof(spec), "%s=%s@%" PRId64, host, value ? value : "DELETE", rev);
	return fake_w_events(rev, spec);
}
