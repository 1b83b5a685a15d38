/* etcd v3 HTTP/JSON gateway (etcd 3.4, /v3/kv/range, /v3/kv/put,
 * /v3/watch): request bodies and reply parsing, pure (no I/O), so tests
 * feed them text. Keys and values travel base64-encoded; int64 fields are
 * JSON strings. The admin state of host H is the value "locked" or
 * "unlocked" of key PREFIX+H; its mod_revision is the command sequence. */
#ifndef MTC_ETCD_H
#define MTC_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtc_codec.h"

#define MTC_ETCD_PREFIX_MAX 64

typedef enum {
	MTC_ETCD_LOCKED,
	MTC_ETCD_UNLOCKED,
	MTC_ETCD_DELETED, /* watch: the key was removed (admin state unknown) */
	MTC_ETCD_INVALID, /* a value we do not understand (treated as unknown) */
} mtc_etcd_state;

typedef struct mtc_etcd_kv {
	char host[MTC_HOSTNAME_MAX + 1];
	mtc_etcd_state state;
	int64_t mod_revision;
} mtc_etcd_kv;

/* Every reply's header: which cluster answered, at which revision. */
typedef struct mtc_etcd_header {
	uint64_t cluster_id, member_id;
	int64_t revision, raft_term;
} mtc_etcd_header;

/* A parsed range or watch reply. */
typedef struct mtc_etcd_result {
	mtc_etcd_kv *kv;
	size_t n;
	int64_t revision;         /* header.revision: the store's revision when answered */
	mtc_etcd_header hdr;
	int64_t compact_revision; /* watch: > 0 if the start revision was compacted away */
	bool created, canceled;   /* watch */
	/* watch: a progress notification (no events, not created or
	 * canceled): every event up to revision was sent on this watch */
	bool progress;
	bool more;                /* range: a limit cut it; the next page starts at next_key */
	char *next_key;           /* range: the last key returned plus a NUL byte (malloc'd) */
	size_t next_key_len;
} mtc_etcd_result;

/* A conditional put's reply: the compare held (committed at
 * hdr.revision), or it did not and kv is the key as etcd holds it now
 * (state MTC_ETCD_DELETED, mod_revision 0 when the key is missing). */
typedef struct mtc_etcd_cas {
	bool succeeded;
	mtc_etcd_header hdr;
	mtc_etcd_kv kv; /* when !succeeded */
} mtc_etcd_cas;

/* What a reply's header says against what was seen before (base: the
 * cluster of earlier replies, and the newest revision etcd had already
 * committed when the request was sent, so a lagging reply to an older
 * request is not mistaken for a step back). */
typedef enum {
	MTC_ETCD_HDR_OK,
	MTC_ETCD_HDR_NEW_CLUSTER, /* another cluster_id: a rebuilt or another cluster */
	MTC_ETCD_HDR_BACKWARDS,   /* a lower revision: restored from a snapshot */
} mtc_etcd_hdr_verdict;

mtc_etcd_hdr_verdict mtc_etcd_header_check(uint64_t base_cluster, int64_t base_revision, const mtc_etcd_header *h);

/* Parse only the header of any reply (-EBADMSG without one). */
int mtc_etcd_parse_header(const char *text, size_t len, mtc_etcd_header *ret);
/* What an HTTP error reply ({"error":..., "code":N}) says of the request. */
typedef enum {
	MTC_ETCD_ERR_MAYBE_PROPOSED, /* leader changed, request timed out, or it says nothing: may apply */
	MTC_ETCD_ERR_REFUSED,        /* refused before proposing (permission, authentication, argument,
				      * too many requests): not applied, and every member would refuse it */
	MTC_ETCD_ERR_ELSEWHERE,      /* refused by this member's request interceptor, before proposing:
				      * no leader (to hasleader), a learner, not capable yet; another
				      * member may serve it */
} mtc_etcd_error_kind;

mtc_etcd_error_kind mtc_etcd_error_classify(const char *text, size_t len);

void mtc_etcd_result_free(mtc_etcd_result *r);

/* Request bodies (malloc'd JSON text), NULL on a bad argument or no memory. */
/* A range of host's key alone (a linearizable read of one key). */
char *mtc_etcd_get_body(const char *prefix, const char *host);
char *mtc_etcd_watch_body(const char *prefix, int64_t start_revision);

/* One page of a range: at most limit keys from from_key (NULL: the
 * prefix) to the prefix's end, at revision (0: the newest; every later
 * page of one read uses the first page's revision). keys_only: names
 * only (to step over a key too big for a reply). */
char *mtc_etcd_range_page_body(const char *prefix, const char *from_key, size_t from_len, int64_t limit,
			       int64_t revision, bool keys_only);

/* Every write: put locked/unlocked only if the key is still at
 * mod_revision, as this agent last read it (0: the key is missing, as
 * etcd compares a missing or deleted key), and for a correction
 * (same_value) to "unlocked" of an existing key only if it still holds
 * "unlocked";
 * otherwise read the key in the same transaction. */
char *mtc_etcd_cas_body(const char *prefix, const char *host, bool locked, int64_t mod_revision, bool same_value);

/* A batch of writes: host's key put locked/unlocked if still at
 * mod_revision (and "unlocked" still there for an unlock: a correction's
 * compares of mtc_etcd_cas_body, per host). */
typedef struct mtc_etcd_cas_req {
	const char *host;
	bool locked;
	int64_t mod_revision;
} mtc_etcd_cas_req;

/* Hosts in one batch txn: 3 operations each side would be 192 (etcd 3.4's
 * --max-txn-ops default is 128 per compare, success and failure list). */
#define MTC_ETCD_BATCH_MAX 64

/* n (1..MTC_ETCD_BATCH_MAX) distinct hosts' writes in one txn: every put
 * only if every key is still at its mod_revision; otherwise a read of
 * every key, in req's order. NULL also on a host given twice (etcd
 * refuses a key twice in a txn). */
char *mtc_etcd_cas_batch_body(const char *prefix, const mtc_etcd_cas_req *req, size_t n);

/* Parse replies. Keys outside prefix or not a valid host name are skipped.
 * -EBADMSG: not a reply of that kind; -EIO: an error reply ("error" or
 * "code" member), with its message in msg. */
int mtc_etcd_parse_range(const char *text, size_t len, const char *prefix, mtc_etcd_result *ret, char *msg,
			 size_t msglen);
/* A reply to mtc_etcd_cas_body() for host. */
int mtc_etcd_parse_cas(const char *text, size_t len, const char *prefix, const char *host, mtc_etcd_cas *ret,
		       char *msg, size_t msglen);
/* A reply to mtc_etcd_cas_batch_body(req, n): ret[i] for req[i], as
 * mtc_etcd_parse_cas() would give for it alone; when the txn failed,
 * held[i] says req[i]'s own compare held (its key still at its
 * mod_revision): it was not applied, another's compare failed. */
int mtc_etcd_parse_cas_batch(const char *text, size_t len, const char *prefix, const mtc_etcd_cas_req *req,
			     size_t n, mtc_etcd_cas *ret, bool *held, char *msg, size_t msglen);
int mtc_etcd_parse_watch(const char *text, size_t len, const char *prefix, mtc_etcd_result *ret, char *msg,
			 size_t msglen);

/* The revision a watch resumes from after seeing r: one past the newest
 * event already seen, or past a progress notification's revision (etcd
 * sends one only when the watch is synced: nothing up to it is left to
 * send); never going back. */
int64_t mtc_etcd_next_revision(int64_t next, const mtc_etcd_result *r);

/* The watch's word on the store's health (the agent reads nothing in
 * steady state: the watch is alive or it is not). Times in ms, 0: never. */
typedef struct mtc_etcd_watch_clock {
	uint64_t last_msg_ms; /* the last message of any stream: created, events, progress */
	uint64_t broken_ms;   /* a stream ended and no stream has said anything since (0: one has) */
	uint64_t read_ok_ms;  /* the last full read that succeeded */
} mtc_etcd_watch_clock;

typedef enum {
	MTC_ETCD_WATCH_ALIVE, /* a stream delivers, or a new one is within down_ms of starting */
	MTC_ETCD_WATCH_DOWN,  /* no stream for down_ms since one ended (or since a good read): unhealthy */
	MTC_ETCD_WATCH_STALE, /* no message for stale_ms: full reads decide (the safety net) */
} mtc_etcd_watch_verdict;

mtc_etcd_watch_verdict mtc_etcd_watch_judge(const mtc_etcd_watch_clock *c, uint64_t now_ms, uint64_t down_ms,
					    uint64_t stale_ms);

/* The operator's answer to a lock (lock) or unlock of host that etcd
 * answered with c: exactly what is known. 0: etcd holds what was asked
 * (committed by this request, or already so); -EAGAIN: it does not
 * (refused, or unknown after a try that may have reached etcd: unclear).
 * newest: the newest revision of the key this agent knows (a commit older
 * than it was changed since). */
int mtc_etcd_put_answer(const char *host, bool lock, bool unclear, const mtc_etcd_cas *c, int64_t newest, char *why,
			size_t size);

/* The command sequence of a key's mod_revision (the wire carries 32 bits;
 * a revision past 2^32 - 1 is clamped, see docs/protocol.md). */
uint32_t mtc_etcd_cmdseq(int64_t mod_revision);

/* etcd authentication (mtc_etcd_auth.c): what an error reply says. */
typedef enum {
	MTC_ETCD_AUTH_NOT,      /* no error, or one of another kind */
	MTC_ETCD_AUTH_TOKEN,    /* the token was refused (expired, unknown, none sent): authenticate again */
	MTC_ETCD_AUTH_DENIED,   /* "permission denied": the user lacks a role on the key */
	MTC_ETCD_AUTH_FAILED,   /* "authentication failed": wrong user or password */
	MTC_ETCD_AUTH_DISABLED, /* "authentication is not enabled" (send no token) */
} mtc_etcd_auth_verdict;

/* The body of /v3/auth/authenticate into buf (NUL-terminated), written
 * into buf only (no copy of the password elsewhere): its length, or
 * -ENOSPC, -EINVAL (empty user). */
int mtc_etcd_auth_body(const char *user, const char *password, char *buf, size_t size);
/* Its reply: 0 and the token (one line, under size bytes) into token;
 * -EIO: an error reply, its text in msg; -EBADMSG: no token. */
int mtc_etcd_parse_auth(const char *text, size_t len, char *token, size_t size, char *msg, size_t msglen);
/* Any reply ({"error","code"}, or a watch's first message canceled with
 * a cancel_reason) as an authentication verdict; its error text into msg. */
mtc_etcd_auth_verdict mtc_etcd_auth_error(const char *text, size_t len, char *msg, size_t msglen);

#endif
