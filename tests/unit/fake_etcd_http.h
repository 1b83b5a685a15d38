/* A fake of the etcd store's transport (mtc/agent/store/mtc_store_etcd_http.c)
 * for tests/unit/test_mtc_store_etcd.c. A tiny etcd in memory (keys under
 * FAKE_PREFIX with their mod_revision, a revision, a cluster id) answers
 * every range and txn as etcd 3.4's JSON gateway does, unless a scripted
 * rule matches the request first (a canned reply, an error, a hold).
 * Every request is recorded, its body decoded. The watch (etcd_stream)
 * delivers the lines the test sends, until the test ends the stream or
 * the store's stop() says stop. Thread-safe: the store's threads call in. */
#ifndef FAKE_ETCD_HTTP_H
#define FAKE_ETCD_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_PREFIX "/mtc/admin/"
#define FAKE_CLUSTER 2037210783374497686ULL /* captured from etcd 3.4.23 */
#define FAKE_CMP_MAX 8

typedef struct fake_req {
	char path[32];
	int ep;
	/* range: the key (from) decoded, prefix included; a trailing NUL
	 * byte (a continuation) shows as "\\0"; txn: the first compare's */
	char key[96];
	bool range_end; /* range: a range (else one key) */
	int64_t limit, revision;
	bool keys_only;
	int n_cmp;      /* txn: compares, and the puts' hosts and values */
	char cmp_host[FAKE_CMP_MAX][64];
	int64_t cmp_rev[FAKE_CMP_MAX];
	char put_value[FAKE_CMP_MAX][16];
	int64_t start_revision; /* watch */
} fake_req;

/* A scripted answer. NULL / -1 fields match anything; numbers are matched
 * as etcd's JSON writes them ("0", "5000"). The first matching rule with
 * uses left answers; none: the tiny etcd does. */
typedef struct fake_rule {
	const char *path;     /* "/v3/kv/range", "/v3/kv/txn", "/v3/watch" */
	const char *key;      /* as fake_req.key */
	const char *revision; /* range */
	const char *limit;    /* range */
	const char *cmp_rev;  /* txn: the first compare's mod_revision */
	const char *ep;       /* the member's index */
	int err;              /* < 0: fail with this (after the tiny etcd applied it, if apply) */
	bool apply;           /* with err: the txn commits all the same (a timeout after the commit) */
	bool hold;            /* wait for fake_release() before answering */
	const char *reply;    /* a canned reply instead of the tiny etcd's */
	int uses;             /* 0: once; -1: always */
} fake_rule;

/* Empty: no key, revision rev, the captured cluster id, no rule, no
 * request, no stream; frees what the helpers below returned. */
void fake_reset(int64_t rev);
/* host := value at mod_revision mod (value NULL: deleted); the etcd's
 * revision becomes at least mod. big: a reply with its value is over the cap. */
void fake_kv(const char *host, const char *value, int64_t mod, bool big);
/* The revision (a restore from a snapshot may set it lower), the cluster. */
void fake_set_rev(int64_t rev);
int64_t fake_rev(void);
void fake_set_cluster(uint64_t id);
void fake_rule_add(fake_rule r);
void fake_release(void);

int fake_nreq(void);
fake_req fake_get(int i);

/* Replies and watch lines as etcd sends them (freed at fake_reset).
 * spec: "host=value@mod_revision,..." (value locked, unlocked, DELETE
 * (watch), "-" (keys only: no value)). */
const char *fake_range_page(int64_t rev, bool more, const char *spec);
const char *fake_w_created(int64_t rev);
const char *fake_w_events(int64_t rev, const char *spec);
const char *fake_w_progress(int64_t rev);
const char *fake_w_compacted(int64_t compact_rev);
const char *fake_w_canceled(int64_t rev, const char *reason);
/* fake_kv at the next revision, and the watch line that tells it. */
const char *fake_w_put(const char *host, const char *value);

/* Watch streams opened so far; whether one is open now. */
int fake_streams(void);
bool fake_stream_open(void);
/* To the open stream, in order (dropped if none is open when it ends). */
void fake_watch_send(const char *line);
/* The open stream ends with err (-ECONNRESET: the member closed it). */
void fake_stream_end(int err);

#endif
