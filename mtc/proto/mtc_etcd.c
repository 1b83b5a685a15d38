#include "mtc_etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "mtc_etcd_json.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

void mtc_etcd_result_free(mtc_etcd_result *r)
{
	free(r->kv);
	free(r->next_key);
	*r = (mtc_etcd_result){ 0 };
}

static json_t *b64(const void *data, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len, B64);
	char *buf = malloc(size);
	json_t *j;

	if (!buf)
		return NULL;
	sodium_bin2base64(buf, size, data, len, B64);
	j = json_string(buf);
	free(buf);
	return j;
}

/* Decode base64 text into buf (NUL-terminated); -EINVAL if it does not fit. */
static int unb64(const char *text, char *buf, size_t size)
{
	size_t len;

	if (!text || sodium_base642bin((unsigned char *)buf, size - 1, text, strlen(text), NULL, &len, NULL, B64) < 0)
		return -EINVAL;
	buf[len] = '\0';
	return memchr(buf, '\0', len) ? -EINVAL : 0;
}

/* The end of the prefix range: the prefix with its last byte plus one. */
static json_t *prefix_end(const char *prefix)
{
	char end[MTC_ETCD_PREFIX_MAX + 1];
	size_t n = strlen(prefix);

	if (n == 0 || n > MTC_ETCD_PREFIX_MAX)
		return NULL;
	memcpy(end, prefix, n);
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n == 0)
		return b64("\0", 1); /* every key */
	end[n - 1]++;
	return b64(end, n);
}

static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* The key of host under prefix into key[size]; false on a bad argument. */
static bool host_key(const char *prefix, const char *host, char *key, size_t size)
{
	if (!prefix[0] || strlen(prefix) > MTC_ETCD_PREFIX_MAX || !mtc_hostname_valid(host))
		return false;
	snprintf(key, size, "%s%s", prefix, host);
	return true;
}

char *mtc_etcd_get_body(const char *prefix, const char *host)
{
	char key[MTC_ETCD_PREFIX_MAX + MTC_HOSTNAME_MAX + 1];

	if (!host_key(prefix, host, key, sizeof(key)))
		return NULL;
	return dump(json_pack("{s:o}", "key", b64(key, strlen(key))));
}

char *mtc_etcd_range_page_body(const char *prefix, const char *from_key, size_t from_len, int64_t limit,
			       int64_t revision, bool keys_only)
{
	char lim[24], rev[24];
	size_t plen = strlen(prefix);

	if (!prefix[0] || plen > MTC_ETCD_PREFIX_MAX || limit <= 0 || revision < 0)
		return NULL;
	if (!from_key || from_len < plen || memcmp(from_key, prefix, plen) != 0) {
		from_key = prefix;
		from_len = plen;
	}
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	snprintf(rev, sizeof(rev), "%" PRId64, revision);
	return dump(json_pack("{s:o, s:o*, s:s, s:s, s:b}", "key", b64(from_key, from_len), "range_end",
			      prefix_end(prefix), "limit", lim, "revision", rev, "keys_only", keys_only));
}

/* The compares of a put-if: the key's mod_revision, and for a correction
 * (same_value) that puts "unlocked" on a key that exists, its value too:
 * such a correction re-puts what etcd holds, so it can never turn a lock
 * into an unlock, even against a history that reuses revisions (a restore
 * without --bump-revision). A correction to "locked" needs no such
 * compare: it may replace a value not understood (unknown = locked). */
static json_t *cas_compares(const char *key, const char *value, int64_t mod_revision, bool same_value)
{
	char rev[24];
	json_t *c;

	snprintf(rev, sizeof(rev), "%" PRId64, mod_revision);
	c = json_pack("[{s:o, s:s, s:s, s:s}]", "key", b64(key, strlen(key)), "target", "MOD", "result", "EQUAL",
		      "mod_revision", rev);
	if (c && same_value && mod_revision > 0 && strcmp(value, "unlocked") == 0 &&
	    json_array_append_new(c, json_pack("{s:o, s:s, s:s, s:o}", "key", b64(key, strlen(key)), "target",
					       "VALUE", "result", "EQUAL", "value", b64(value, strlen(value)))) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

char *mtc_etcd_cas_body(const char *prefix, const char *host, bool locked, int64_t mod_revision, bool same_value)
{
	char key[MTC_ETCD_PREFIX_MAX + MTC_HOSTNAME_MAX + 1];
	const char *value = locked ? "locked" : "unlocked";

	if (mod_revision < 0 || !host_key(prefix, host, key, sizeof(key)))
		return NULL;
	return dump(json_pack("{s:o, s:[{s:{s:o, s:o}}], s:[{s:{s:o}}]}", "compare",
			      cas_compares(key, value, mod_revision, same_value), "success", "request_put", "key",
			      b64(key, strlen(key)), "value", b64(value, strlen(value)), "failure", "request_range",
			      "key", b64(key, strlen(key))));
}

/* Appends host's compares (a batch is of corrections: cas_compares with
 * same_value), put and read to a batch's three lists. */
static int batch_add(json_t *txn, const char *prefix, const mtc_etcd_cas_req *q)
{
	char key[MTC_ETCD_PREFIX_MAX + MTC_HOSTNAME_MAX + 1];
	const char *value = q->locked ? "locked" : "unlocked";
	json_t *cmp;

	if (q->mod_revision < 0 || !q->host || !host_key(prefix, q->host, key, sizeof(key)))
		return -EINVAL;
	cmp = cas_compares(key, value, q->mod_revision, true);
	if (!cmp || json_array_extend(json_object_get(txn, "compare"), cmp) < 0 ||
	    json_array_append_new(json_object_get(txn, "success"),
				  json_pack("{s:{s:o, s:o}}", "request_put", "key", b64(key, strlen(key)), "value",
					    b64(value, strlen(value)))) < 0 ||
	    json_array_append_new(json_object_get(txn, "failure"),
				  json_pack("{s:{s:o}}", "request_range", "key", b64(key, strlen(key)))) < 0) {
		json_decref(cmp);
		return -ENOMEM;
	}
	json_decref(cmp);
	return 0;
}

char *mtc_etcd_cas_batch_body(const char *prefix, const mtc_etcd_cas_req *req, size_t n)
{
	json_t *txn = json_pack("{s:[], s:[], s:[]}", "compare", "success", "failure");
	int r = txn && n > 0 && n <= MTC_ETCD_BATCH_MAX ? 0 : -EINVAL;

	for (size_t i = 0; i < n && r == 0; i++) {
		for (size_t k = 0; k < i && r == 0; k++)
			if (req[k].host && req[i].host && strcmp(req[k].host, req[i].host) == 0)
				r = -EINVAL;
		if (r == 0)
			r = batch_add(txn, prefix, &req[i]);
	}
	if (r < 0) {
		json_decref(txn);
		return NULL;
	}
	return dump(txn);
}

char *mtc_etcd_watch_body(const char *prefix, int64_t start_revision)
{
	char rev[24];

	if (!prefix[0] || strlen(prefix) > MTC_ETCD_PREFIX_MAX || start_revision < 0)
		return NULL;
	snprintf(rev, sizeof(rev), "%" PRId64, start_revision);
	return dump(json_pack("{s:{s:o, s:o*, s:s, s:b}}", "create_request", "key", b64(prefix, strlen(prefix)),
			      "range_end", prefix_end(prefix), "start_revision", rev, "progress_notify", 1));
}

/* int64 fields come as strings (proto3 JSON); absent means 0. */
static int64_t int64_of(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

static uint64_t uint64_of(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	return 0;
}

static void header_of(json_t *header, mtc_etcd_header *h)
{
	h->cluster_id = uint64_of(header, "cluster_id");
	h->member_id = uint64_of(header, "member_id");
	h->revision = int64_of(header, "revision");
	h->raft_term = int64_of(header, "raft_term");
}

static json_t *load(const char *text, size_t len, char *msg, size_t msglen, int *ret)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, 0, &err);
	json_t *e;

	*ret = 0;
	if (!json_is_object(root)) {
		snprintf(msg, msglen, "not a JSON object: %s", root ? "other type" : err.text);
		json_decref(root);
		*ret = -EBADMSG;
		return NULL;
	}
	e = json_object_get(root, "error");
	if (json_is_object(e) || json_is_string(e) || json_object_get(root, "code")) {
		const char *m = mtc_etcd_json_error_text(root);

		snprintf(msg, msglen, "%s", m ? m : "error reply");
		json_decref(root);
		*ret = -EIO;
		return NULL;
	}
	return root;
}

/* One kv object into out; false if it is not one of ours. */
static bool parse_kv(json_t *kv, const char *prefix, bool deleted, mtc_etcd_kv *out)
{
	char key[MTC_ETCD_PREFIX_MAX + MTC_HOSTNAME_MAX + 2], value[16];
	size_t plen = strlen(prefix);

	if (!json_is_object(kv) || unb64(json_string_value(json_object_get(kv, "key")), key, sizeof(key)) < 0)
		return false;
	if (strncmp(key, prefix, plen) != 0 || !mtc_hostname_valid(key + plen))
		return false;
	snprintf(out->host, sizeof(out->host), "%s", key + plen);
	out->mod_revision = int64_of(kv, "mod_revision");
	if (deleted)
		out->state = MTC_ETCD_DELETED;
	else if (unb64(json_string_value(json_object_get(kv, "value")), value, sizeof(value)) < 0)
		out->state = MTC_ETCD_INVALID;
	else if (strcmp(value, "locked") == 0)
		out->state = MTC_ETCD_LOCKED;
	else if (strcmp(value, "unlocked") == 0)
		out->state = MTC_ETCD_UNLOCKED;
	else
		out->state = MTC_ETCD_INVALID;
	return true;
}

/* Fill r from an array of kvs (range) or events (watch). */
static int parse_list(json_t *arr, const char *prefix, bool events, mtc_etcd_result *r)
{
	size_t i;
	json_t *item;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return -EBADMSG;
	r->kv = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*r->kv));
	if (!r->kv)
		return -ENOMEM;
	json_array_foreach(arr, i, item) {
		const char *type = events ? json_string_value(json_object_get(item, "type")) : NULL;
		json_t *kv = events ? json_object_get(item, "kv") : item;

		if (parse_kv(kv, prefix, type && strcmp(type, "DELETE") == 0, &r->kv[r->n]))
			r->n++;
	}
	return 0;
}

/* The key after the last of kvs (its key plus a NUL byte): where the next
 * page starts. Any key, ours or not, of any size. */
static int next_key(json_t *kvs, mtc_etcd_result *r)
{
	const char *text = json_string_value(json_object_get(json_array_get(kvs, json_array_size(kvs) - 1), "key"));
	size_t size, len;

	if (!text)
		return -EBADMSG;
	size = strlen(text) + 2;
	r->next_key = malloc(size);
	if (!r->next_key)
		return -ENOMEM;
	if (sodium_base642bin((unsigned char *)r->next_key, size - 1, text, strlen(text), NULL, &len, NULL, B64) < 0)
		return -EBADMSG;
	r->next_key[len] = '\0';
	r->next_key_len = len + 1;
	return 0;
}

int mtc_etcd_parse_range(const char *text, size_t len, const char *prefix, mtc_etcd_result *ret, char *msg,
			 size_t msglen)
{
	mtc_etcd_result r = { 0 };
	int e;
	json_t *root = load(text, len, msg, msglen, &e), *header;

	if (!root)
		return e;
	header = json_object_get(root, "header");
	e = json_is_object(header) ? parse_list(json_object_get(root, "kvs"), prefix, false, &r) : -EBADMSG;
	header_of(header, &r.hdr);
	r.revision = r.hdr.revision;
	r.more = json_is_true(json_object_get(root, "more"));
	if (e == 0 && r.more)
		e = next_key(json_object_get(root, "kvs"), &r);
	json_decref(root);
	if (e < 0) {
		snprintf(msg, msglen, "malformed range reply");
		mtc_etcd_result_free(&r);
		return e;
	}
	*ret = r;
	return 0;
}

/* The key's state from a failed compare's range (a responses[] item). */
static void cas_current(json_t *resp, const char *prefix, const char *host, mtc_etcd_kv *kv)
{
	json_t *kvs = json_object_get(json_object_get(resp, "response_range"), "kvs");

	*kv = (mtc_etcd_kv){ .state = MTC_ETCD_DELETED };
	snprintf(kv->host, sizeof(kv->host), "%s", host);
	if (json_array_size(kvs) > 0 && parse_kv(json_array_get(kvs, 0), prefix, false, kv) &&
	    strcmp(kv->host, host) != 0)
		*kv = (mtc_etcd_kv){ .state = MTC_ETCD_INVALID };
}

int mtc_etcd_parse_cas(const char *text, size_t len, const char *prefix, const char *host, mtc_etcd_cas *ret,
		       char *msg, size_t msglen)
{
	int e;
	json_t *root = load(text, len, msg, msglen, &e);
	mtc_etcd_cas c = { 0 };

	if (!root)
		return e;
	header_of(json_object_get(root, "header"), &c.hdr);
	c.succeeded = json_is_true(json_object_get(root, "succeeded"));
	if (!c.succeeded)
		cas_current(json_array_get(json_object_get(root, "responses"), 0), prefix, host, &c.kv);
	json_decref(root);
	if (c.hdr.revision <= 0) {
		snprintf(msg, msglen, "txn reply without a revision");
		return -EBADMSG;
	}
	*ret = c;
	return 0;
}

/* ret[i], held[i] from a batch txn's reply root (n requests). */
static int batch_of(json_t *root, const char *prefix, const mtc_etcd_cas_req *req, size_t n, mtc_etcd_cas *ret,
		    bool *held)
{
	json_t *resps = json_object_get(root, "responses");
	mtc_etcd_cas c = { 0 };

	header_of(json_object_get(root, "header"), &c.hdr);
	c.succeeded = json_is_true(json_object_get(root, "succeeded"));
	if (c.hdr.revision <= 0 || json_array_size(resps) != n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		ret[i] = c;
		if (!c.succeeded)
			cas_current(json_array_get(resps, i), prefix, req[i].host, &ret[i].kv);
		/* a missing key compares as 0; a kv not of this host is no key */
		held[i] = !c.succeeded && ret[i].kv.mod_revision == req[i].mod_revision &&
			  (req[i].mod_revision > 0 ? req[i].locked || ret[i].kv.state == MTC_ETCD_UNLOCKED
						   : ret[i].kv.state == MTC_ETCD_DELETED);
	}
	return 0;
}

int mtc_etcd_parse_cas_batch(const char *text, size_t len, const char *prefix, const mtc_etcd_cas_req *req,
			     size_t n, mtc_etcd_cas *ret, bool *held, char *msg, size_t msglen)
{
	int e;
	json_t *root = load(text, len, msg, msglen, &e);

	if (!root)
		return e;
	e = batch_of(root, prefix, req, n, ret, held);
	json_decref(root);
	if (e < 0)
		snprintf(msg, msglen, "batch txn reply without a revision or not %zu responses", n);
	return e;
}

int mtc_etcd_parse_header(const char *text, size_t len, mtc_etcd_header *ret)
{
	json_t *root = json_loadb(text, len, 0, NULL), *header;

	header = json_object_get(root, "header");
	if (!header)
		header = json_object_get(json_object_get(root, "result"), "header");
	if (!json_is_object(header)) {
		json_decref(root);
		return -EBADMSG;
	}
	header_of(header, ret);
	json_decref(root);
	return 0;
}

int mtc_etcd_parse_watch(const char *text, size_t len, const char *prefix, mtc_etcd_result *ret, char *msg,
			 size_t msglen)
{
	mtc_etcd_result r = { 0 };
	int e;
	json_t *root = load(text, len, msg, msglen, &e), *res;

	if (!root)
		return e;
	res = json_object_get(root, "result");
	e = json_is_object(res) ? parse_list(json_object_get(res, "events"), prefix, true, &r) : -EBADMSG;
	if (e == 0) {
		header_of(json_object_get(res, "header"), &r.hdr);
		r.revision = r.hdr.revision;
		r.compact_revision = int64_of(res, "compact_revision");
		r.created = json_is_true(json_object_get(res, "created"));
		r.canceled = json_is_true(json_object_get(res, "canceled"));
		r.progress = !json_object_get(res, "events") && !r.created && !r.canceled && !r.compact_revision &&
			     r.revision > 0;
	}
	json_decref(root);
	if (e < 0) {
		snprintf(msg, msglen, "malformed watch reply");
		mtc_etcd_result_free(&r);
		return e;
	}
	*ret = r;
	return 0;
}
